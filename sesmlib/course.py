"""The course machinery: the notebook profile and the tool that writes ``notebooks/``
(the student copies) from ``solutions/`` (the source the instructors edit).

Command line (``python -m sesmlib.course ...`` or ``python -m sesmlib course ...``)::

    build   [NAMES] [--check]      notebooks/X.ipynb from solutions/X.ipynb (and tidy the solutions)
    execute [NAMES] [--profile P]  run solutions, store the outputs of `# NBVAL_CHECK_OUTPUT` cells

NAMES are notebook names or prefixes (``00``, ``00_start_here``); none means all.

Authoring conventions (see CONTRIBUTING.md):

- Solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines; an
  optional ``### HINT: text`` line inside the block gives the hint. In the student copy the
  block becomes ``raise NotImplementedError("Exercise: text")`` at the block's indentation.
- A markdown cell whose first line is ``<!-- ANSWER -->`` holds a model answer to a
  "Think!" question; in the student copy it becomes "*Write your answer here.*".
- Only the outputs of code cells whose first line is ``# NBVAL_CHECK_OUTPUT`` are stored
  in ``solutions/`` (nbval compares them); student copies store no outputs at all.
- Notebook and cell metadata are reduced to what matters (the kernel, cell tags); widget
  state, execution counts and timing metadata are dropped; the JSON is written the same way
  every time, so a second run changes no byte.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Iterable

__all__ = [
    "profile",
    "PROFILES",
    "student_notebook",
    "tidy_solution",
    "dumps",
    "stale_notebooks",
    "build",
    "execute",
    "main",
    "FIX_COMMAND",
]

PROFILES = ("quick", "full")
REPO = Path(__file__).resolve().parents[1]
FIX_COMMAND = "make notebooks   (or: python -m sesmlib.course build)"

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
ANSWER_MARKER = "<!-- ANSWER -->"
ANSWER_PLACEHOLDER = "*Write your answer here.*"
_BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
_HINT = re.compile(r"^\s*###\s*HINT:\s?(.*?)\s*$")
_NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DEFAULT_HINT = "write your code here"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_KEEP_CELL_METADATA = ("tags",)


class AuthoringError(ValueError):
    """A solution notebook breaks the authoring convention (the message names file and cell)."""


# ---------------------------------------------------------------------------- profile


def profile() -> str:
    """The notebook profile, ``"quick"`` or ``"full"``, from ``$SESMLIB_PROFILE``.

    Students get ``"full"`` (the default); ``make test`` sets ``quick`` so every notebook
    runs in about a minute. Each notebook's parameters cell reads it:
    ``QUICK = profile() == "quick"``.

    Raises
    ------
    ValueError
        When ``$SESMLIB_PROFILE`` is set to anything else.

    Examples
    --------
    >>> profile() in ("quick", "full")
    True
    """
    value = os.environ.get("SESMLIB_PROFILE", "").strip().lower()
    if not value:
        return "full"
    if value not in PROFILES:
        raise ValueError(
            f"SESMLIB_PROFILE must be 'quick' or 'full' (or unset, meaning 'full'), "
            f"got {os.environ['SESMLIB_PROFILE']!r}"
        )
    return value


# ----------------------------------------------------------------- notebook transforms


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _lines(text: str) -> list[str]:
    """Source as nbformat stores it on disk: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


def _first_line(text: str) -> str:
    return text.lstrip("\n").split("\n", 1)[0].strip()


def is_checked_cell(cell: dict) -> bool:
    """True for a code cell whose first line is ``# NBVAL_CHECK_OUTPUT``."""
    return cell.get("cell_type") == "code" and _first_line(_source(cell)) == CHECK_MARKER


def _clean_output(out: dict, count: int | None = None) -> dict:
    out = copy.deepcopy(out)
    out.pop("transient", None)
    if out.get("output_type") == "execute_result":
        out["execution_count"] = count
    if "metadata" in out:
        out["metadata"] = {}
    if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
        out["text"] = _lines(out["text"])
    if "data" in out:
        out["data"] = {k: (_lines(v) if isinstance(v, str) and k.startswith("text/") else v)
                       for k, v in out["data"].items()}
    return out


def _normalise(nb: dict, *, keep_checked_outputs: bool) -> dict:
    """Common tidy-up: nbformat 4.5, fixed kernel metadata, cell ids, only `tags` metadata,
    no execution counts, outputs only on checked cells (when kept at all)."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise AuthoringError("not a Jupyter notebook (no 'cells')")
    if int(nb.get("nbformat", 4)) != 4:
        raise AuthoringError(f"only nbformat 4 notebooks are supported, got {nb.get('nbformat')}")
    cells = []
    seen: set[str] = set()
    n_code = 0
    for i, cell in enumerate(nb["cells"]):
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            raise AuthoringError(f"cell {i}: unknown cell type {kind!r}")
        cid = cell.get("id")
        if not isinstance(cid, str) or not _CELL_ID.match(cid) or cid in seen:
            cid = f"cell-{i:03d}"
            while cid in seen:
                cid += "x"
        seen.add(cid)
        meta = {k: cell.get("metadata", {})[k] for k in _KEEP_CELL_METADATA if cell.get("metadata", {}).get(k)}
        new = {"cell_type": kind, "id": cid, "metadata": meta, "source": _lines(_source(cell))}
        if kind == "code":
            n_code += 1
            outputs = cell.get("outputs", []) if keep_checked_outputs and is_checked_cell(cell) else []
            new["outputs"] = [_clean_output(o, n_code) for o in outputs]
            # nbval refuses stored outputs without an execution count; use the count a
            # top-to-bottom run gives (the code cell's position), so it never changes.
            new["execution_count"] = n_code if outputs else None
        elif cell.get("attachments"):
            new["attachments"] = copy.deepcopy(cell["attachments"])
        cells.append(new)
    return {
        "cells": cells,
        "metadata": {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _stub_code(text: str, where: str) -> str:
    """Replace every solution block in ``text`` by a NotImplementedError stub."""
    out: list[str] = []
    block: dict | None = None
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        if _BEGIN.match(line):
            if block is not None:
                raise AuthoringError(f"{where}, line {n}: '### BEGIN SOLUTION' inside another solution block")
            block = {"indent": line[: len(line) - len(line.lstrip())], "hints": [], "line": n}
            continue
        if _END.match(line):
            if block is None:
                raise AuthoringError(f"{where}, line {n}: '### END SOLUTION' without '### BEGIN SOLUTION'")
            hint = " ".join(h for h in block["hints"] if h) or DEFAULT_HINT
            message = "Exercise: " + hint
            literal = '"' + message.replace("\\", "\\\\").replace('"', '\\"') + '"'
            newline = "\n" if line.endswith("\n") else ""
            out.append(f"{block['indent']}raise NotImplementedError({literal}){newline}")
            block = None
            continue
        if block is not None:
            m = _HINT.match(line)
            if m:
                block["hints"].append(m.group(1))
            continue
        out.append(line)
    if block is not None:
        raise AuthoringError(f"{where}, line {block['line']}: '### BEGIN SOLUTION' without '### END SOLUTION'")
    return "".join(out)


def student_notebook(nb: dict, *, name: str = "notebook") -> dict:
    """The student copy of a solution notebook (a pure function of its JSON).

    Solution blocks become NotImplementedError stubs, ``<!-- ANSWER -->`` cells become
    "*Write your answer here.*", nbval marker lines are removed (a ``# NBVAL_SKIP`` cell
    gets the tag ``nbval-skip`` instead), and all outputs are cleared.

    Examples
    --------
    >>> nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    ...     {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3, "source":
    ...      "def f(x):\\n    ### BEGIN SOLUTION\\n    ### HINT: double it\\n    return 2 * x\\n    ### END SOLUTION\\n"}]}
    >>> print(_source(student_notebook(nb)["cells"][0]))
    def f(x):
        raise NotImplementedError("Exercise: double it")
    <BLANKLINE>
    """
    nb = _normalise(nb, keep_checked_outputs=False)
    for i, cell in enumerate(nb["cells"]):
        text = _source(cell)
        if cell["cell_type"] == "markdown" and _first_line(text) == ANSWER_MARKER:
            cell["source"] = _lines(ANSWER_PLACEHOLDER)
        elif cell["cell_type"] == "code":
            text = _stub_code(text, f"{name}, cell {i}")
            lines = _lines(text)
            markers = [ln.strip() for ln in lines if _NBVAL_MARKER.match(ln)]
            if any(m.replace(" ", "") == "#NBVAL_SKIP" for m in markers):
                tags = cell["metadata"].setdefault("tags", [])
                if "nbval-skip" not in tags:
                    tags.append("nbval-skip")
            cell["source"] = [ln for ln in lines if not _NBVAL_MARKER.match(ln)]
    return nb


def tidy_solution(nb: dict, *, name: str = "notebook") -> dict:
    """The solution notebook as stored: outputs kept on ``# NBVAL_CHECK_OUTPUT`` cells only,
    volatile metadata dropped, execution counts only on the cells with outputs
    (their position among code cells). Also validates the authoring markers (raises AuthoringError)."""
    student_notebook(nb, name=name)  # validates solution blocks
    return _normalise(nb, keep_checked_outputs=True)


def dumps(nb: dict) -> str:
    """Deterministic JSON for a notebook (nbformat's on-disk layout: indent 1, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AuthoringError(f"{path}: not valid JSON ({exc})") from None


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return False
    from ._utils import atomic_write_bytes

    atomic_write_bytes(path, data)
    return True


# ------------------------------------------------------------------------ build, check


def _select(solutions: Path, names: Iterable[str] | None) -> list[Path]:
    files = sorted(solutions.glob("*.ipynb"))
    names = list(names or [])
    if not names:
        return files
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [f for f in files if f.stem == stem] or [f for f in files if f.stem.startswith(stem)]
        if not hits:
            raise SystemExit(f"no solution notebook matches {name!r} in {solutions}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def stale_notebooks(solutions: Path | None = None, notebooks: Path | None = None) -> list[str]:
    """What ``build`` would change, as readable lines (empty when everything is up to date):
    student copies missing or different, solutions carrying outputs or metadata they should
    not, student notebooks without a solution."""
    solutions = Path(solutions or REPO / "solutions")
    notebooks = Path(notebooks or REPO / "notebooks")
    problems = []
    for src in _select(solutions, None):
        nb = _read(src)
        student = notebooks / src.name
        expected = dumps(student_notebook(nb, name=src.name))
        if not student.exists():
            problems.append(f"notebooks/{src.name} is missing")
        elif student.read_text(encoding="utf-8") != expected:
            problems.append(f"notebooks/{src.name} differs from what solutions/{src.name} gives")
        if src.read_text(encoding="utf-8") != dumps(tidy_solution(nb, name=src.name)):
            problems.append(f"solutions/{src.name} holds outputs or metadata to tidy")
    for student in sorted(notebooks.glob("*.ipynb")):
        if not (solutions / student.name).exists():
            problems.append(f"notebooks/{student.name} has no solutions/{student.name} (delete it, or add the solution)")
    return problems


def build(solutions: Path | None = None, notebooks: Path | None = None, names: Iterable[str] | None = None) -> list[Path]:
    """Write ``notebooks/X.ipynb`` for each ``solutions/X.ipynb`` (and tidy the solution in
    place); return the files that changed."""
    solutions = Path(solutions or REPO / "solutions")
    notebooks = Path(notebooks or REPO / "notebooks")
    changed = []
    for src in _select(solutions, names):
        nb = _read(src)
        student = student_notebook(nb, name=src.name)
        tidy = tidy_solution(nb, name=src.name)
        if _write_if_changed(notebooks / src.name, dumps(student)):
            changed.append(notebooks / src.name)
        if _write_if_changed(src, dumps(tidy)):
            changed.append(src)
    return changed


# ----------------------------------------------------------------------------- execute


def current_env_kernel_manager():
    """A jupyter KernelManager whose kernel is this Python (not whatever ``python3``
    kernelspec the user has installed), so notebooks import this checkout's sesmlib."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class _Here(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(
                resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
            )

    return KernelManager(kernel_name="python3", kernel_spec_manager=_Here())


def run_notebook(nb: dict, cwd: Path, *, timeout: float = 600, allow_errors: bool = False, skip_tagged: bool = False) -> dict:
    """Execute a notebook dict in ``cwd`` with one kernel of this Python; return it with outputs.

    With ``skip_tagged``, cells tagged ``nbval-skip`` or ``skip-execution`` are not run.
    """
    from nbclient import NotebookClient
    import nbformat

    node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list sources into strings
    skipped = {}
    if skip_tagged:
        for i, cell in enumerate(node.cells):
            tags = set(cell.get("metadata", {}).get("tags", []))
            if cell.cell_type == "code" and tags & {"nbval-skip", "skip-execution"}:
                skipped[i] = cell.source
                cell.source = ""
    client = NotebookClient(
        node, km=current_env_kernel_manager(), timeout=timeout, allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    for i, src in skipped.items():
        node.cells[i].source = src
    return json.loads(nbformat.writes(node))


def execute(solutions: Path | None = None, names: Iterable[str] | None = None, *, profile_name: str = "quick",
            timeout: float = 600) -> int:
    """Run each selected solution notebook top to bottom and store the outputs of its
    ``# NBVAL_CHECK_OUTPUT`` cells (nbval's reference). Returns the number of failures."""
    if profile_name not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile_name!r}")
    solutions = Path(solutions or REPO / "solutions")
    old = os.environ.get("SESMLIB_PROFILE")
    os.environ["SESMLIB_PROFILE"] = profile_name
    failures = 0
    try:
        for src in _select(solutions, names):
            t0 = time.perf_counter()
            print(f"executing solutions/{src.name} ({profile_name} profile) ...", flush=True)
            nb = _read(src)
            tidy_solution(nb, name=src.name)  # markers valid before spending time
            try:
                ran = run_notebook(nb, src.parent, timeout=timeout)
            except Exception as exc:  # CellExecutionError carries the cell's traceback
                failures += 1
                print(f"  FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
                continue
            changed = _write_if_changed(src, dumps(tidy_solution(ran, name=src.name)))
            n_checked = sum(is_checked_cell(c) for c in ran["cells"])
            print(f"  ok in {time.perf_counter() - t0:.1f} s; {n_checked} checked cells; "
                  f"{'updated' if changed else 'unchanged'}")
    finally:
        if old is None:
            os.environ.pop("SESMLIB_PROFILE", None)
        else:
            os.environ["SESMLIB_PROFILE"] = old
    return failures


# --------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``python -m sesmlib.course build|execute ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sesmlib.course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write notebooks/ from solutions/ (and tidy solutions/)")
    b.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    b.add_argument("--check", action="store_true", help="change nothing; exit 1 listing what is stale")
    e = sub.add_parser("execute", help="run solutions and store the outputs of # NBVAL_CHECK_OUTPUT cells")
    e.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    e.add_argument("--profile", default="quick", choices=PROFILES, help="notebook profile (default quick)")
    e.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    for p in (b, e):
        p.add_argument("--root", type=Path, default=REPO, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    solutions, notebooks = args.root / "solutions", args.root / "notebooks"
    try:
        if args.command == "build" and args.check:
            problems = stale_notebooks(solutions, notebooks)
            if problems:
                print("notebooks/ is not what solutions/ gives:", file=sys.stderr)
                for p in problems:
                    print(f"  - {p}", file=sys.stderr)
                print(f"Fix: {FIX_COMMAND}", file=sys.stderr)
                return 1
            print("notebooks/ is up to date with solutions/")
            return 0
        if args.command == "build":
            changed = build(solutions, notebooks, args.names)
            for path in changed:
                print(f"wrote {path.relative_to(args.root) if path.is_relative_to(args.root) else path}")
            if not changed:
                print("notebooks/ already up to date")
            return 0
        failures = execute(solutions, args.names, profile_name=args.profile, timeout=args.timeout)
        if not failures:
            build(solutions, notebooks, args.names)
        return 1 if failures else 0
    except AuthoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
