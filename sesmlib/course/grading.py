"""Progress for students, a grade sheet for instructors: run notebooks headless and read the
verdicts their check cells print.

- :func:`progress` runs the given student notebooks (by default the working copies in
  ``work/``) in the quick profile and returns one row per exercise: passed, not done,
  failing, or not run, with the check's one-line verdict.
- :func:`grade` does the same over a folder of submitted notebooks and writes a CSV with
  one row per submission and exercise. A submission that raises, loops past the time limit,
  kills its kernel or is not a notebook gets rows that say so; the other submissions are
  graded all the same.

Exercises are the check cells (``checks.check_<name>(fn)``), named after the function they
check. A submission is matched with the course notebook of the same name (or the same
``NN_`` prefix), whose check cells are the expected exercises, so a check cell the
student deleted is reported rather than silently dropped. Each notebook runs in a fresh
temporary folder, its kernel is this Python, and cells after the last check cell (and
cells tagged ``nbval-skip``) are not run: they cannot change a verdict. Notebooks run
side by side (``jobs``), each kernel with its share of the CPU threads.

Grading runs the students' code: run it on a machine (or container) you do not mind them
using.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from ._files import REPO, WORK_DIRNAME, CourseError, show, write_atomic
from .generator import _source

PASSED, NOT_DONE, FAILING, NOT_RUN = "passed", "not done", "failing", "not run"
STATUSES = (PASSED, NOT_DONE, FAILING, NOT_RUN)
#: Seconds a notebook may run in all (kernel start included) before it is stopped.
DEFAULT_TIME_LIMIT_S = 300.0
_CHECK_CALL = re.compile(r"\bchecks\.(check_\w+)\s*\(\s*(?:(?!lambda\b)([A-Za-z_]\w*))?")
_SKIP_TAGS = {"nbval-skip", "skip-execution"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Exercise:
    """A check cell: its position, the exercise's name (the function checked) and the check."""

    cell: int
    name: str
    check: str


@dataclass
class Row:
    """One exercise of one notebook: status is one of :data:`STATUSES`."""

    notebook: str
    exercise: str
    check: str
    status: str
    verdict: str


def exercises_of(nb: dict) -> list[Exercise]:
    """The exercises of a notebook: every ``checks.check_<name>(fn)`` call in a code cell
    (comments ignored), named after ``fn`` (or the check when it has no plain argument)."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        code = "\n".join(line.split("#", 1)[0] for line in _source(cell).splitlines())
        for m in _CHECK_CALL.finditer(code):
            found.append(Exercise(i, m.group(2) or m.group(1).removeprefix("check_"), m.group(1)))
    return found


def _text_of(outputs: list) -> tuple[str, dict | None]:
    """The printed text of a cell's outputs and its first error output."""
    parts, error = [], None
    for out in outputs or []:
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
        elif kind in ("display_data", "execute_result"):
            text = (out.get("data") or {}).get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
        elif kind == "error" and error is None:
            error = out
    return _ANSI.sub("", "\n".join(parts)), error


def verdict(outputs: list) -> tuple[str, str] | None:
    """(status, one-line verdict) from a check cell's outputs, read from the verdict markers
    of :mod:`sesmlib.checks` (pass, fail, not done yet); None when the cell printed none."""
    from ..checks._core import FAIL, PASS, TODO

    text, error = _text_of(outputs)
    for line in text.splitlines():
        line = line.strip()
        for marker, status in ((PASS, PASSED), (FAIL, FAILING), (TODO, NOT_DONE)):
            if line.startswith(marker):
                return status, line
    if error is not None:
        if error.get("ename") == "NotImplementedError" and str(error.get("evalue", "")).startswith("Exercise"):
            return NOT_DONE, f"{TODO} not done yet: {error.get('evalue')}"
        evalue = str(error.get("evalue", "")).strip().splitlines()
        return FAILING, f"{FAIL} the check cell raised {error.get('ename')}: {evalue[0][:200] if evalue else ''}"
    return None


# ---------------------------------------------------------------------------- running


@dataclass
class _Run:
    cells: list            # the cells as run (outputs filled in where they ran)
    stopped_at: int | None  # index of the cell that did not finish, if any
    reason: str             # why it stopped ('' when it ran to the last check)


async def _execute(nb: dict, *, time_limit: float, env: dict) -> _Run:
    """Run the code cells of ``nb`` up to its last check cell in a fresh kernel and folder,
    all within ``time_limit`` seconds; errors in cells do not stop the run."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from .running import current_env_kernel_manager

    node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list sources into strings
    exercises = exercises_of(nb)
    last = max((e.cell for e in exercises), default=-1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    stopped_at, reason = None, ""
    with tempfile.TemporaryDirectory(prefix="sesm-progress-") as cwd:
        client = NotebookClient(node, km=current_env_kernel_manager(asynchronous=True), allow_errors=True,
                                shutdown_kernel="immediate", startup_timeout=max(1, int(time_limit)),
                                resources={"metadata": {"path": cwd}})
        try:
            # the kernel's own chatter (start-up warnings) is not the student's business
            async with client.async_setup_kernel(env=env, cleanup_kc=True, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL):
                for i, cell in enumerate(node.cells[: last + 1]):
                    if cell.cell_type != "code" or _SKIP_TAGS & set(cell.get("metadata", {}).get("tags", [])):
                        continue
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        stopped_at, reason = i, "time"
                        break
                    client.timeout = max(1, math.ceil(remaining))
                    try:
                        await client.async_execute_cell(cell, i)
                    except CellTimeoutError:
                        stopped_at, reason = i, "time"
                        break
                    except DeadKernelError:
                        stopped_at, reason = i, "dead"
                        break
        except (RuntimeError, DeadKernelError, TimeoutError, asyncio.TimeoutError) as exc:
            # the kernel would not start (or died while starting)
            stopped_at, reason = 0, f"kernel: {type(exc).__name__}: {str(exc)[:200]}"
    return _Run(json.loads(json.dumps(node))["cells"], stopped_at, reason)


def _rows_for(label: str, run: _Run | None, expected: list[Exercise] | None, found: list[Exercise],
              time_limit: float, problem: str = "") -> list[Row]:
    """One row per exercise: the expected ones (from the course's notebook) matched with the
    check cells found in the submission, in order, then any extra checks of the submission."""
    rows = []
    pool = list(found)
    for ex in (expected if expected is not None else found):
        match = next((f for f in pool if f.check == ex.check), None)
        if match is not None:
            pool.remove(match)
        if problem:
            rows.append(Row(label, ex.name, ex.check, NOT_RUN, problem))
        elif match is None:
            rows.append(Row(label, ex.name, ex.check, NOT_RUN,
                            f"no check cell calls checks.{ex.check}(...) in this notebook (deleted?)"))
        else:
            rows.append(_row_for_cell(label, ex.name, match, run, time_limit))
    if expected is not None and not problem:
        rows += [_row_for_cell(label, f.name, f, run, time_limit) for f in pool]
    return rows


def _row_for_cell(label: str, name: str, ex: Exercise, run: _Run, time_limit: float) -> Row:
    if run.stopped_at is not None and ex.cell >= run.stopped_at:
        where = f"cell {run.stopped_at}"
        if run.reason == "time":
            why = (f"the notebook ran past its {time_limit:g} s time limit in {where}: is there a loop that never "
                   "ends (or does it need a larger --time-limit)?")
        elif run.reason == "dead":
            why = f"the kernel died in {where} (out of memory, or the code ended the process)"
        else:
            why = f"the notebook could not run ({run.reason})"
        if ex.cell == run.stopped_at:
            return Row(label, name, ex.check, FAILING, f"the check did not finish: {why}")
        return Row(label, name, ex.check, NOT_RUN, f"not reached: {why}")
    found = verdict(run.cells[ex.cell].get("outputs", []))
    if found is None:
        return Row(label, name, ex.check, NOT_RUN, "the check cell printed no verdict")
    return Row(label, name, ex.check, *found)


def _course_match(path: Path, course: Path | None) -> Path | None:
    """The course notebook a submission or working copy is a version of (by name)."""
    if course is None or not course.is_dir():
        return None
    stems = {p.stem: p for p in course.glob("*.ipynb")}
    stem = path.stem
    if stem in stems:
        return stems[stem]
    for s in sorted(stems, key=len, reverse=True):
        if stem.startswith(s):
            return stems[s]
    m = re.match(r"(\d\d)[_\-\s]", stem)
    hits = [p for s, p in sorted(stems.items()) if m and s.startswith(m.group(1) + "_")]
    return hits[0] if len(hits) == 1 else None


def _kernel_env(profile_name: str, jobs: int) -> dict:
    env = dict(os.environ, SESMLIB_PROFILE=profile_name, MPLBACKEND="agg")
    if jobs > 1:
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, threads)
    return env


async def _grade_all(items: list[tuple[str, Path]], course: Path | None, *, time_limit: float, jobs: int,
                     profile_name: str, log) -> list[Row]:
    env = _kernel_env(profile_name, jobs)
    gate = asyncio.Semaphore(jobs)

    async def one(label: str, path: Path) -> list[Row]:
        reference = _course_match(path, course)
        try:
            expected = exercises_of(json.loads(reference.read_text(encoding="utf-8"))) if reference else None
        except (OSError, ValueError):
            expected = None
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
                raise ValueError("no list of cells")
            found = exercises_of(nb)
        except (OSError, ValueError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            problem = f"not a readable notebook ({type(exc).__name__}: {str(exc)[:150]})"
            log(f"  {label}: {problem}")
            return _rows_for(label, None, expected, [], time_limit, problem) or \
                [Row(label, "", "", NOT_RUN, problem)]
        if not (expected or found):
            log(f"  {label}: no exercises")
            return []
        async with gate:
            t0 = time.perf_counter()
            run = await _execute(nb, time_limit=time_limit, env=env)
            rows = _rows_for(label, run, expected, found, time_limit)
            done = sum(r.status == PASSED for r in rows)
            log(f"  {label}: {done} of {len(rows)} passed ({time.perf_counter() - t0:.0f} s)")
            return rows

    results = await asyncio.gather(*(one(label, path) for label, path in items))
    return [row for rows in results for row in rows]


def _run_rows(items, course, *, time_limit, jobs, profile_name, log) -> list[Row]:
    if time_limit <= 0:
        raise CourseError(f"--time-limit must be a positive number of seconds, got {time_limit}")
    jobs = max(1, int(jobs or min(len(items), os.cpu_count() or 1, 4) or 1))
    return asyncio.run(_grade_all(items, course, time_limit=time_limit, jobs=jobs,
                                  profile_name=profile_name, log=log))


def _log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def working_copies(work: Path, notebooks: Path) -> list[Path]:
    """The student's working copies of the course notebooks, in course order."""
    names = [p.name for p in sorted(Path(notebooks).glob("*.ipynb"))]
    found = [Path(work) / n for n in names if (Path(work) / n).is_file()]
    if not found:
        raise CourseError(f"no working copies in {show(work)}/: `make lab` makes them "
                          "(or name the notebooks: python -m sesmlib.course progress PATH ...)")
    return found


def progress(paths: Iterable[Path] | None = None, *, root: Path | None = None, work: Path | None = None,
             time_limit: float = DEFAULT_TIME_LIMIT_S, jobs: int | None = None, profile_name: str = "quick",
             log=_log_stderr) -> list[Row]:
    """Run student notebooks headless and return one :class:`Row` per exercise.

    ``paths`` are notebook files or the names (or numbers: ``03``) of working copies, by
    default all the working copies in ``work/``. Each notebook gets at most
    ``time_limit`` seconds; up to ``jobs`` run at once (default: one per CPU core, at most 4).
    """
    root = Path(root or REPO)
    notebooks = root / "notebooks"
    copies = None
    chosen = []
    for p in paths or []:
        p = Path(p)
        if not p.is_file():  # a name or prefix of a working copy: 03, 03_sesm_derivation
            if copies is None:
                try:
                    copies = working_copies(Path(work or root / WORK_DIRNAME), notebooks)
                except CourseError:
                    copies = []
            hits = [c for c in copies if c.stem == p.name.removesuffix(".ipynb")] or \
                   [c for c in copies if c.stem.startswith(p.name) and p.name]
            if len(hits) != 1:
                raise CourseError(f"no such notebook: {p} (give a path, or the name or number of a working copy)")
            p = hits[0]
        chosen.append(p)
    paths = chosen or working_copies(Path(work or root / WORK_DIRNAME), notebooks)
    items = [(p.stem, p) for p in paths]
    return _run_rows(items, notebooks, time_limit=time_limit, jobs=jobs, profile_name=profile_name, log=log)


def grade(folder: Path, out: Path, *, root: Path | None = None, time_limit: float = DEFAULT_TIME_LIMIT_S,
          jobs: int | None = None, profile_name: str = "quick", log=_log_stderr) -> list[Row]:
    """Grade every ``*.ipynb`` under ``folder`` (subfolders included, one per student if you
    like) and write ``out``, a CSV with one row per submission and exercise: submission
    (path under ``folder``), notebook (the course notebook it was matched with), exercise,
    check, status, verdict."""
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise CourseError(f"{folder}: no such folder of submissions")
    if out.exists() and out.is_dir():
        raise CourseError(f"--out {out} is a folder; name a .csv file")
    if not out.parent.is_dir():
        raise CourseError(f"--out {out}: the folder {out.parent} does not exist")
    course = Path(root or REPO) / "notebooks"
    files = sorted(p for p in folder.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))
    if not files:
        raise CourseError(f"{folder} holds no submitted notebooks (*.ipynb)")
    items = [(p.relative_to(folder).as_posix(), p) for p in files]
    rows = _run_rows(items, course, time_limit=time_limit, jobs=jobs, profile_name=profile_name, log=log)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "notebook", "exercise", "check", "status", "verdict"])
    for r in rows:
        match = _course_match(folder / r.notebook, course)
        writer.writerow([r.notebook, match.stem if match else "", r.exercise, r.check, r.status, r.verdict])
    write_atomic(out, buf.getvalue().encode("utf-8"))
    return rows


# ---------------------------------------------------------------------------- reports


def summary(rows: list[Row]) -> dict:
    """Counts per status, and the number of exercises."""
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    counts["exercises"] = len(rows)
    return counts


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def table(rows: list[Row], width: int = 110) -> str:
    """The rows as an aligned text table (verdicts cut at ``width`` characters; the JSON
    keeps them whole), then a one-line summary."""
    head = ("notebook", "exercise", "status", "verdict")
    data = [(r.notebook, r.exercise, r.status, _clip(r.verdict, width)) for r in rows]
    widths = [max([len(head[k])] + [len(d[k]) for d in data]) for k in range(3)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths + [0])).rstrip()]
    lines.append("  ".join("-" * w for w in widths + [len(head[3])]))
    lines += ["  ".join(c.ljust(w) for c, w in zip(d, widths + [0])).rstrip() for d in data]
    s = summary(rows)
    lines.append(f"\n{s[PASSED]} of {s['exercises']} exercises passed, {s[FAILING]} failing, "
                 f"{s[NOT_DONE]} not done" + (f", {s[NOT_RUN]} not run" if s[NOT_RUN] else "") + ".")
    return "\n".join(lines)


def to_json(rows: list[Row], seconds: float | None = None) -> str:
    """The rows and the summary as JSON (for scripts)."""
    payload = {"rows": [asdict(r) for r in rows], "summary": summary(rows)}
    if seconds is not None:
        payload["seconds"] = round(seconds, 1)
    return json.dumps(payload, indent=1, ensure_ascii=False)


__all__ = ["progress", "grade", "exercises_of", "verdict", "table", "to_json", "summary", "working_copies",
           "Row", "Exercise", "STATUSES", "PASSED", "NOT_DONE", "FAILING", "NOT_RUN", "DEFAULT_TIME_LIMIT_S"]
