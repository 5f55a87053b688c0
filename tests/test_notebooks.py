"""Notebook validation, generic over every solutions/*.ipynb and notebooks/*.ipynb.

1. notebooks/ is exactly what the course tool makes from solutions/ (else: `make notebooks`).
2. Each solution runs top to bottom under nbval in lax mode: only the cells whose first
   line is `# NBVAL_CHECK_OUTPUT` are compared with their stored outputs (sanitized with
   tests/nbval_sanitize.cfg).
3. Each student notebook runs top to bottom (nbclient, errors allowed); the only errors
   allowed, in cells and inside widgets, are the exercise stubs' NotImplementedError.

One kernel per notebook per mode. Notebooks run in the profile of $SESMLIB_PROFILE
(`make test` sets quick; quick is also the default here when it is unset). All notebook
runs of one session share one cache folder, so a student copy, or a later notebook,
reuses the models an earlier run trained. Per-notebook time limit: $SESMLIB_NOTEBOOK_TIMEOUT
seconds (default 300).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sesmlib import course

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
TIMEOUT = int(os.environ.get("SESMLIB_NOTEBOOK_TIMEOUT", "300"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _ids(paths):
    return [p.stem for p in paths]


@pytest.fixture(scope="session")
def notebook_cache(tmp_path_factory) -> Path:
    """One cache folder for all notebook runs of this session (models trained once)."""
    return tmp_path_factory.mktemp("notebook-cache")


@pytest.fixture
def notebook_env(monkeypatch, notebook_cache):
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(notebook_cache))
    if not os.environ.get("SESMLIB_PROFILE"):
        monkeypatch.setenv("SESMLIB_PROFILE", "quick")
    course.profile()  # a bad value fails here, with a clear message
    monkeypatch.setenv("MPLBACKEND", "agg")  # headless; ipykernel still shows figures inline
    return os.environ


# ------------------------------------------------------------------ 1. generated copies


def test_student_notebooks_are_generated_from_solutions():
    """notebooks/ holds what the tool writes and nothing else (students work in work/,
    which no test looks at)."""
    steps = course.plan(REPO / "solutions", REPO / "notebooks")
    assert not steps, (
        "notebooks/ is not what the tool makes from solutions/:\n  - "
        + "\n  - ".join(s.text for s in steps)
        + f"\nFix: {course.generator.fix_command(steps, REPO)}"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_checked_cells_have_reference_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    missing = [c.get("id", i) for i, c in enumerate(nb["cells"]) if course.is_checked_cell(c) and not c.get("outputs")]
    assert not missing, (
        f"solutions/{path.name}: cells {missing} are marked # NBVAL_CHECK_OUTPUT but store no output "
        f"for nbval to compare. Fix: python -m sesmlib.course execute {path.stem}"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_follows_the_template(path):
    """The course template (CONTRIBUTING.md): objectives and a time estimate first, a
    parameters cell reading profile(), a summary at the end."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    first = "".join(cells[0]["source"]).lower() if cells else ""
    assert cells and cells[0]["cell_type"] == "markdown" and first.lstrip().startswith("#"), \
        f"{path.name}: the first cell must be a markdown title"
    assert "objective" in first and ("time" in first or "minutes" in first), \
        f"{path.name}: the first cell must state the objectives and a time estimate"
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert any("profile()" in c for c in code), f"{path.name}: no parameters cell reading profile()"
    markdown = ["".join(c["source"]).lower() for c in cells if c["cell_type"] == "markdown"]
    assert any(re.search(r"^#+ .*summary", m, re.M) for m in markdown), f"{path.name}: no '## Summary' section"


# ------------------------------------------------------------------ 2. solutions: nbval


def _run_bounded(cmd: list[str], env, timeout: float) -> tuple[int, str]:
    """Run a command in its own process group; kill the whole group (kernel too) on timeout."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -1, out + f"\n[killed after {timeout:.0f} s]"


@pytest.mark.notebook
@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_nbval(path, notebook_env):
    cmd = [
        sys.executable, "-m", "pytest", "-q", "--no-header", "-p", "no:cacheprovider",
        "--nbval-lax", "--nbval-current-env", f"--nbval-sanitize-with={SANITIZE}",
        f"--nbval-cell-timeout={TIMEOUT}", str(path.relative_to(REPO)),
    ]
    t0 = time.perf_counter()
    rc, out = _run_bounded(cmd, dict(notebook_env), TIMEOUT + 60)
    elapsed = time.perf_counter() - t0
    out = _ANSI.sub("", out)
    assert rc == 0, (
        f"solutions/{path.name} failed under nbval in {elapsed:.0f} s ({os.environ['SESMLIB_PROFILE']} profile). "
        "If a checked output changed on purpose, refresh it with "
        f"`python -m sesmlib.course execute {path.stem}`.\n{out[-6000:]}"
    )


# --------------------------------------------------------------- 3. student notebooks


def _is_stub_error(ename: str, evalue: str) -> bool:
    return ename == "NotImplementedError" and evalue.startswith("Exercise")


def _widget_errors(nb: dict) -> list[dict]:
    """Error outputs captured inside Output widgets (e.g. by `interact`), from the widget state."""
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    found = []
    for model in state.get("state", {}).values():
        for out in model.get("state", {}).get("outputs", []) or []:
            if isinstance(out, dict) and out.get("output_type") == "error":
                found.append(out)
    return found


def _errors(ran: dict) -> tuple[list[str], int]:
    """(descriptions of the errors that are not exercise stubs, number of stub errors)
    in an executed notebook, cells and widget outputs both."""
    bad, stubs = [], 0
    for i, cell in enumerate(ran["cells"]):
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if _is_stub_error(out["ename"], out["evalue"]):
                stubs += 1
            else:
                tb = _ANSI.sub("", "\n".join(out.get("traceback", [])[-4:]))
                bad.append(f"cell {i} ({cell.get('id')}): {out['ename']}: {out['evalue']}\n{tb}")
    for out in _widget_errors(ran):
        if _is_stub_error(out.get("ename", ""), out.get("evalue", "")):
            stubs += 1
        else:
            bad.append(f"inside a widget: {out.get('ename')}: {out.get('evalue')}")
    return bad, stubs


def test_error_scan_tells_stubs_from_real_errors():
    def err(ename, evalue):
        return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": ["\x1b[31mTraceback"]}

    ran = {
        "cells": [
            {"cell_type": "code", "id": "a", "source": [], "outputs": [err("NotImplementedError", "Exercise: hint")]},
            {"cell_type": "code", "id": "b", "source": [], "outputs": [err("NameError", "name 'x' is not defined")]},
            {"cell_type": "code", "id": "c", "source": [], "outputs": [err("NotImplementedError", "library bug")]},
            {"cell_type": "markdown", "id": "d", "source": []},
        ],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
            "w1": {"state": {"outputs": [err("ValueError", "in a slider callback")]}},
            "w2": {"state": {"outputs": [err("NotImplementedError", "Exercise: later")]}},
        }}}},
    }
    bad, stubs = _errors(ran)
    assert stubs == 2 and len(bad) == 3
    assert "NameError" in bad[0] and "(b)" in bad[0] and "\x1b" not in bad[0]
    assert "library bug" in bad[1] and "slider callback" in bad[2]


@pytest.mark.notebook
@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_student_notebook_runs_with_only_stub_errors(path, notebook_env):
    nb = json.loads(path.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    ran = course.run_notebook(nb, path.parent, timeout=TIMEOUT, allow_errors=True, skip_tagged=True)
    elapsed = time.perf_counter() - t0
    bad, stubs = _errors(ran)
    assert not bad, (
        f"notebooks/{path.name} ({elapsed:.0f} s): only exercise stubs may raise, but:\n\n" + "\n\n".join(bad)
        + "\n\nCells after an exercise must use checks.prefer(student_fn, library_fn) or the library directly."
    )
    has_exercises = any("### BEGIN SOLUTION" in "".join(c["source"])
                        for c in json.loads((REPO / "solutions" / path.name).read_text(encoding="utf-8"))["cells"]
                        ) if (REPO / "solutions" / path.name).exists() else False
    if has_exercises:
        # the stubs themselves must still raise when called (a check cell catches them quietly,
        # so look for the "not done yet" verdicts)
        verdicts = "".join("".join(o.get("text", "")) for c in ran["cells"] if c["cell_type"] == "code"
                           for o in c.get("outputs", []) if o.get("output_type") == "stream")
        assert stubs or "not done yet" in verdicts, f"notebooks/{path.name}: no exercise stub was reached"


# -------------------------------------------------------------------------- sanitizer


def test_sanitizer_hides_volatile_text_but_keeps_verdicts_and_numbers():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))
    assert len(patterns) >= 5

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert clean("trained in 12.3 s, 450 it/s") == clean("trained in 9.8 s, 1200 it/s")
    assert clean("<object at 0x7f3a2b4c5d60>") == clean("<object at 0x55d1e2f3a4b0>")
    assert clean(" 40%|████      | 4/10 [00:01<00:02]") == clean(" 90%|█████████ | 9/10 [00:03<00:00]")
    assert clean("saved to /home/ann/.cache/sesmlib/models/x.pt") == clean("saved to /tmp/pytest-1/cache/models/x.pt")
    verdict = "✅ logistic: correct on all 7 inputs (values, shapes, dtypes and gradients checked)."
    assert clean(verdict) == verdict
    for a, b in [("l(+0.5) = 0.9707", "l(+0.5) = 0.9708"), ("RMSE 0.219", "RMSE 0.229"),
                 ("3 of 7 inputs", "4 of 7 inputs"), ("l(x) = 1 / (1 + exp(-g x))", "l(x) = 1 / (1 + exp(+g x))")]:
        assert clean(a) != clean(b), (a, b)
