"""The generator: ``notebooks/X.ipynb`` (the student copy) from ``solutions/X.ipynb``.

Authoring conventions (CONTRIBUTING.md, "The notebook template"):

- Solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines; an
  optional ``### HINT: text`` line inside the block gives the hint. In the student copy the
  block becomes ``raise NotImplementedError("Exercise: text")`` at the block's indentation.
  A hint must not contain a line of its own solution (AuthoringError).
- A markdown cell whose first line is ``<!-- ANSWER -->`` holds a model answer to a
  "Think!" question; in the student copy it becomes an editable "*Write your answer here.*"
  cell followed by the model answer folded in a ``<details>`` block.
- Only the outputs of code cells whose first line is ``# NBVAL_CHECK_OUTPUT`` are stored
  in ``solutions/`` (nbval compares them); student copies store no outputs at all.
- Notebook and cell metadata are reduced to what matters (the kernel, cell tags, the
  collapsed state ``jupyter.source_hidden`` / ``jupyter.outputs_hidden``); widget state,
  execution counts and timing metadata are dropped; the JSON is written the same way every
  time, so a second run changes no byte.
- Every student copy records a hash of its own content (notebook metadata
  ``sesmlib.generated``), so the tool can tell a copy it wrote from one edited by hand: it
  never overwrites or deletes the latter unless forced, and then moves it to
  ``work/backups/`` first.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ._files import (REPO, WORK_DIRNAME, AuthoringError, CourseError, backup_folder, move_to,
                     read_json, show, write_if_changed)

FIX_COMMAND = "make notebooks   (or: python -m sesmlib.course build)"
FORCE_COMMAND = "make notebooks FORCE=1   (or: python -m sesmlib.course build --force)"

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
ANSWER_MARKER = "<!-- ANSWER -->"
ANSWER_PLACEHOLDER = "*Write your answer here.*"
MODEL_ANSWER_SUMMARY = "Model answer (open it after writing yours)"
_BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
_HINT = re.compile(r"^\s*###\s*HINT:\s?(.*?)\s*$")
_NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DEFAULT_HINT = "write your code here"
#: A solution line shorter than this (spaces removed) may appear in its hint ("x", "pass").
_LINT_MIN_CHARS = 6

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: Where a student copy records the hash of its own content.
GENERATED_KEY = "sesmlib"
_KEPT_JUPYTER_FLAGS = ("source_hidden", "outputs_hidden")


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


def _cell_metadata(meta: dict) -> dict:
    """The cell metadata worth keeping: ``tags`` and the collapsed flags JupyterLab stores in
    ``jupyter`` (a set-up or plotting cell shown folded)."""
    kept = {}
    if meta.get("tags"):
        kept["tags"] = list(meta["tags"])
    flags = meta.get("jupyter") if isinstance(meta.get("jupyter"), dict) else {}
    flags = {k: True for k in _KEPT_JUPYTER_FLAGS if flags.get(k) is True}
    if flags:
        kept["jupyter"] = flags
    return kept


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


def _unique_id(wanted: str, seen: set[str]) -> str:
    cid = wanted[:64]
    while cid in seen:
        cid = cid[:63] + "x" if len(cid) >= 64 else cid + "x"
    seen.add(cid)
    return cid


def _normalise(nb: dict, *, keep_checked_outputs: bool) -> dict:
    """Common tidy-up: nbformat 4.5, fixed kernel metadata, cell ids, only the metadata of
    :func:`_cell_metadata`, no execution counts, outputs only on checked cells (when kept)."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
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
        cid = _unique_id(cid, seen)
        new = {"cell_type": kind, "id": cid, "metadata": _cell_metadata(cell.get("metadata") or {}),
               "source": _lines(_source(cell))}
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


def _squash(code: str) -> str:
    """A line of code without its comment and spaces, and without a leading ``return``."""
    code = re.sub(r"^\s*return\b", "", code.split("#", 1)[0])
    return re.sub(r"\s+", "", code)


def _lint_hint(block: dict, where: str) -> None:
    """A stub must not contain its answer: no line of the solution may appear in its hint."""
    hint = _squash(" ".join(block["hints"]))
    for n, line in block["code"]:
        squashed = _squash(line)
        if len(squashed) >= _LINT_MIN_CHARS and squashed in hint:
            raise AuthoringError(
                f"{where}, line {n}: the '### HINT:' of this exercise contains its own solution line "
                f"{line.strip()!r}, so the student copy would give the answer away. Keep the concept in "
                "the hint and put code hints in a collapsed <details> block (CONTRIBUTING.md, exercise markers)"
            )


def _stub_code(text: str, where: str) -> str:
    """Replace every solution block in ``text`` by a NotImplementedError stub."""
    out: list[str] = []
    block: dict | None = None
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        if _BEGIN.match(line):
            if block is not None:
                raise AuthoringError(f"{where}, line {n}: '### BEGIN SOLUTION' inside another solution block")
            block = {"indent": line[: len(line) - len(line.lstrip())], "hints": [], "code": [], "line": n}
            continue
        if _END.match(line):
            if block is None:
                raise AuthoringError(f"{where}, line {n}: '### END SOLUTION' without '### BEGIN SOLUTION'")
            _lint_hint(block, where)
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
            else:
                block["code"].append((n, line))
            continue
        out.append(line)
    if block is not None:
        raise AuthoringError(f"{where}, line {block['line']}: '### BEGIN SOLUTION' without '### END SOLUTION'")
    return "".join(out)


def _model_answer(text: str) -> str:
    """The model answer folded in a ``<details>`` block. The blank line after ``<summary>``
    (and before ``</details>``) lets JupyterLab render the markdown inside."""
    body = text.lstrip("\n").split("\n", 1)[1].strip() if "\n" in text.lstrip("\n") else ""
    return f"<details>\n<summary>{MODEL_ANSWER_SUMMARY}</summary>\n\n{body}\n\n</details>"


def content_hash(nb: dict) -> str:
    """The hash a student copy records of itself: its JSON without the record."""
    nb = dict(nb)
    meta = dict(nb.get("metadata") or {})
    meta.pop(GENERATED_KEY, None)
    nb["metadata"] = meta
    return "sha256:" + hashlib.sha256(dumps(nb).encode("utf-8")).hexdigest()


def student_notebook(nb: dict, *, name: str = "notebook") -> dict:
    """The student copy of a solution notebook (a pure function of its JSON).

    Solution blocks become NotImplementedError stubs; each ``<!-- ANSWER -->`` cell becomes
    "*Write your answer here.*" followed by the model answer folded in ``<details>``; nbval
    marker lines are removed (a ``# NBVAL_SKIP`` cell gets the tag ``nbval-skip``
    instead); outputs are cleared; the notebook records the hash of its content.

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
    seen = {c["id"] for c in nb["cells"]}
    cells = []
    for i, cell in enumerate(nb["cells"]):
        text = _source(cell)
        if cell["cell_type"] == "markdown" and _first_line(text) == ANSWER_MARKER:
            cell["source"] = _lines(ANSWER_PLACEHOLDER)
            cells.append(cell)
            cells.append({"cell_type": "markdown", "id": _unique_id(cell["id"] + "-model", seen),
                          "metadata": {}, "source": _lines(_model_answer(text))})
            continue
        if cell["cell_type"] == "code":
            text = _stub_code(text, f"{name}, cell {i}")
            lines = _lines(text)
            markers = [ln.strip() for ln in lines if _NBVAL_MARKER.match(ln)]
            if any(m.replace(" ", "") == "#NBVAL_SKIP" for m in markers):
                tags = cell["metadata"].setdefault("tags", [])
                if "nbval-skip" not in tags:
                    tags.append("nbval-skip")
            cell["source"] = [ln for ln in lines if not _NBVAL_MARKER.match(ln)]
        cells.append(cell)
    nb["cells"] = cells
    nb["metadata"][GENERATED_KEY] = {"generated": content_hash(nb)}
    return nb


def tidy_solution(nb: dict, *, name: str = "notebook") -> dict:
    """The solution notebook as stored: outputs kept on ``# NBVAL_CHECK_OUTPUT`` cells only,
    volatile metadata dropped, execution counts only on the cells with outputs
    (their position among code cells). Also validates the authoring markers (raises AuthoringError)."""
    student_notebook(nb, name=name)  # validates solution blocks and hints
    return _normalise(nb, keep_checked_outputs=True)


def dumps(nb: dict) -> str:
    """Deterministic JSON for a notebook (nbformat's on-disk layout: indent 1, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def written_by_tool(path: Path) -> bool:
    """True when ``path`` is a student copy exactly as the tool wrote it (from whichever
    version of its solution): its recorded hash matches its content. A copy without the
    record counts when it is a fixed point of :func:`student_notebook` (copies written
    before the record existed). False for anything edited, unreadable or not a notebook."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        record = (nb.get("metadata") or {}).get(GENERATED_KEY)
        if isinstance(record, dict) and "generated" in record:
            return record["generated"] == content_hash(nb)
        return content_hash(student_notebook(nb)) == content_hash(nb)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        return False


# ------------------------------------------------------------------------ build, check


def _check_folder(solutions: Path) -> None:
    root = solutions.parent
    if not root.is_dir():
        raise CourseError(f"{root}: no such folder. --root must name the course repository "
                          "(the folder holding solutions/ and notebooks/)")
    if not solutions.is_dir() or not any(solutions.glob("*.ipynb")):
        raise CourseError(f"{root} is not the course repository: it has no solutions/*.ipynb. "
                          "--root must name the folder holding solutions/ and notebooks/")


def _select(solutions: Path, names: Iterable[str] | None) -> list[Path]:
    _check_folder(solutions)
    files = sorted(solutions.glob("*.ipynb"))
    names = list(names or [])
    if not names:
        return files
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [f for f in files if f.stem == stem] or [f for f in files if f.stem.startswith(stem)]
        if not hits:
            raise CourseError(f"no solution notebook matches {name!r} in {solutions}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


@dataclass
class Step:
    """One thing ``build`` would do. ``kind``: ``write`` (a missing or outdated student
    copy), ``tidy`` (a solution), ``delete`` (a copy the tool wrote whose solution is gone),
    or ``refuse`` (a file in notebooks/ not as the tool wrote it: only ``--force`` moves it
    to work/backups/)."""

    kind: str
    path: Path
    text: str
    content: str | None = None


def plan(solutions: Path, notebooks: Path, names: Iterable[str] | None = None) -> list[Step]:
    """What ``build`` would change, without changing anything."""
    steps = []
    selected = _select(solutions, names)
    for src in selected:
        nb = read_json(src)
        target = notebooks / src.name
        expected = dumps(student_notebook(nb, name=src.name))
        if not target.exists():
            steps.append(Step("write", target, f"notebooks/{src.name} is missing", expected))
        elif target.read_bytes() != expected.encode("utf-8"):
            if written_by_tool(target):
                steps.append(Step("write", target, f"notebooks/{src.name} differs from what solutions/{src.name} gives",
                                  expected))
            else:
                steps.append(Step("refuse", target, f"notebooks/{src.name} was changed by hand (it is not what the "
                                  "tool last wrote); notebooks/ holds generated copies only, students work in "
                                  f"{WORK_DIRNAME}/", expected))
        tidy = dumps(tidy_solution(nb, name=src.name))
        if src.read_bytes() != tidy.encode("utf-8"):
            steps.append(Step("tidy", src, f"solutions/{src.name} holds outputs or metadata to tidy", tidy))
    if not list(names or []) and notebooks.is_dir():
        for extra in sorted(notebooks.glob("*.ipynb")):
            if (solutions / extra.name).exists():
                continue
            if written_by_tool(extra):
                steps.append(Step("delete", extra, f"notebooks/{extra.name} has no solutions/{extra.name} "
                                  "(a copy the tool wrote for a solution that is gone)"))
            else:
                steps.append(Step("refuse", extra, f"notebooks/{extra.name} is not a course notebook (no "
                                  f"solutions/{extra.name}) and the tool did not write it; notebooks/ holds "
                                  f"generated copies only: keep your own notebooks in {WORK_DIRNAME}/"))
    return steps


def fix_command(steps: list[Step], root: Path | None = None) -> str:
    """The one command that fixes every step listed by :func:`plan`."""
    force = any(s.kind == "refuse" for s in steps)
    if root is None or Path(root).resolve() == REPO.resolve():
        return FORCE_COMMAND if force else FIX_COMMAND
    return f"python -m sesmlib.course build{' --force' if force else ''} --root {root}"


def stale_notebooks(solutions: Path | None = None, notebooks: Path | None = None) -> list[str]:
    """What ``build`` would change, as readable lines (empty when everything is up to date):
    student copies missing or different, solutions carrying outputs or metadata they should
    not, files in notebooks/ that the tool did not write or whose solution is gone. Raises
    CourseError when ``solutions`` is not a folder of solution notebooks."""
    solutions = Path(solutions or REPO / "solutions")
    notebooks = Path(notebooks or solutions.parent / "notebooks")
    return [s.text for s in plan(solutions, notebooks)]


class RefusedError(CourseError):
    """``build`` left files alone that it would have had to overwrite or delete."""


def build(solutions: Path | None = None, notebooks: Path | None = None, names: Iterable[str] | None = None,
          *, force: bool = False, work: Path | None = None, log=None) -> list[Path]:
    """Write ``notebooks/X.ipynb`` for each ``solutions/X.ipynb`` (and tidy the solution in
    place); delete student copies the tool wrote whose solution is gone; return the files
    that changed.

    A file in ``notebooks/`` that the tool did not write (edited by hand, or a notebook of
    the user's own) is never overwritten or deleted: without ``force`` it is left alone and
    RefusedError is raised at the end (after the other files are written); with ``force``
    it is first moved to ``work/backups/<time>/`` (``work`` defaults to the repository's
    ``work/``) and ``log`` (default ``print``) says where.
    """
    solutions = Path(solutions or REPO / "solutions")
    notebooks = Path(notebooks or solutions.parent / "notebooks")
    work = Path(work or solutions.parent / WORK_DIRNAME)
    log = log or print
    steps = plan(solutions, notebooks, names)
    changed, refused, backups = [], [], None
    for step in steps:
        if step.kind == "refuse":
            if not force:
                refused.append(step)
                continue
            backups = backups or backup_folder(work)
            kept = move_to(step.path, backups)
            log(f"moved {show(step.path, solutions.parent)} (not written by the tool) to {show(kept, solutions.parent)}")
            if step.content is not None:  # a course notebook: write the tool's version in its place
                write_if_changed(step.path, step.content)
                changed.append(step.path)
        elif step.kind == "delete":
            step.path.unlink()
            changed.append(step.path)
        elif write_if_changed(step.path, step.content):
            changed.append(step.path)
    if refused:
        lines = "\n".join(f"  - {s.text}" for s in refused)
        raise RefusedError(f"left alone (not written by the tool, so it may hold someone's work):\n{lines}\n"
                           f"Fix: {fix_command(refused, solutions.parent)}\n"
                           f"(--force moves each of them to {WORK_DIRNAME}/backups/<time>/ first and says where)")
    return changed
