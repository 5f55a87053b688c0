"""The students' working copies: ``work/``, git-ignored, made from ``notebooks/``.

``notebooks/`` holds the generated student copies and belongs to the course (``git pull``
replaces it); a student works in ``work/``, which nothing of the course ever overwrites:

- :func:`setup` (run by ``make lab``) copies every course notebook that ``work/`` does not
  have yet, and leaves every existing file alone.
- :func:`update` (``make update``) brings the course's new versions in, cell by cell: a
  cell the student edited (or added) is kept, a cell the student did not touch takes the
  course's new version, a new course cell is added in its place. When the course changed
  a cell the student had edited, the student's version is kept, with a note above it. The
  file as it was before is copied to ``work/backups/<time>/`` first, and the command says
  where.

To tell the student's edits from the course's changes, ``work/.course/base/X.ipynb``
records the version of ``notebooks/X.ipynb`` that ``work/X.ipynb`` was made from (or last
updated to); cells are matched by their ids, which JupyterLab keeps.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from ._files import BACKUPS_DIRNAME, REPO, WORK_DIRNAME, CourseError, backup_folder, show, write_atomic
from .generator import _source, written_by_tool

STATE_DIRNAME = ".course"


def _dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _base_path(work: Path, name: str) -> Path:
    return work / STATE_DIRNAME / "base" / name


def _course_notebooks(notebooks: Path) -> list[Path]:
    files = sorted(Path(notebooks).glob("*.ipynb")) if Path(notebooks).is_dir() else []
    if not files:
        raise CourseError(f"{notebooks} holds no course notebooks (*.ipynb): is this the course repository? "
                          "Pass --root (the folder holding notebooks/)")
    return files


def _copy_in(src: Path, work: Path) -> None:
    """A fresh working copy of ``src`` and its base record."""
    data = src.read_bytes()
    write_atomic(work / src.name, data)
    if written_by_tool(src):  # a hand-edited notebooks/ file is no base to merge against
        write_atomic(_base_path(work, src.name), data)


@dataclass
class WorkReport:
    """What :func:`setup` or :func:`update` did, as lines for the student."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def setup(notebooks: Path | None = None, work: Path | None = None) -> WorkReport:
    """Make ``work/`` and copy into it each course notebook it does not have (``make lab``).

    Never changes a file that exists in ``work/``. Reports which working copies have a
    newer version in ``notebooks/`` (``make update`` brings it in).
    """
    notebooks = Path(notebooks or REPO / "notebooks")
    work = Path(work or notebooks.parent / WORK_DIRNAME)
    report = WorkReport()
    for src in _course_notebooks(notebooks):
        if not (work / src.name).exists():
            _copy_in(src, work)
            report.created.append(src.name)
            continue
        base = _base_path(work, src.name)
        if not base.exists() or base.read_bytes() != src.read_bytes():
            report.pending.append(src.name)
    if report.created:
        report.lines.append(f"copied {len(report.created)} notebook(s) to {show(work)}/: " + ", ".join(report.created))
    if report.pending:
        report.lines.append(f"the course has newer versions of {', '.join(report.pending)}: "
                            "`make update` brings them into your copies and keeps your answers")
    report.lines.append(f"your notebooks are in {show(work)}/ (the course's own copies in notebooks/ are never "
                        "yours to edit)")
    return report


# ----------------------------------------------------------------------------- merging


def _same(a: dict, b: dict) -> bool:
    return a.get("cell_type") == b.get("cell_type") and _source(a) == _source(b)


def _note_cell(cid: str, name: str, backup: str) -> dict:
    text = (f"> **Course update.** The course changed the cell below, which you had edited: your version is kept. "
            f"The course's new version is in `notebooks/{name}`; your notebook before the update is in "
            f"`{backup}`. Delete this note when you have read it.")
    return {"cell_type": "markdown", "id": f"update-note-{cid}"[:64], "metadata": {}, "source": text}


def merge(base: dict | None, mine: dict, new: dict, *, name: str = "notebook", backup: str = "work/backups/") -> tuple[dict, list[str]]:
    """Three-way merge of a working copy, cell by cell (cells matched by id).

    ``base`` is the course version ``mine`` was made from (None when unknown), ``new`` the
    course's new version. Returns the merged notebook and lines saying what was kept.

    - a cell the student did not touch takes the course's new version (or disappears with it);
    - a cell the student edited or added is kept, after the cell it followed;
    - a cell both changed keeps the student's version, with a note above it;
    - a cell the student deleted stays deleted unless the course changed it.
    Without ``base``, every cell that differs from the course's version counts as the student's.

    Examples
    --------
    >>> cell = lambda cid, s: {"cell_type": "code", "id": cid, "metadata": {}, "source": s, "outputs": []}
    >>> base = {"cells": [cell("a", "x = 1"), cell("b", "raise NotImplementedError")]}
    >>> mine = {"cells": [cell("a", "x = 1"), cell("b", "return 42"), cell("c", "print(x)")]}
    >>> new = {"cells": [cell("a", "x = 2"), cell("b", "raise NotImplementedError")]}
    >>> [_source(c) for c in merge(base, mine, new)[0]["cells"]]
    ['x = 2', 'return 42', 'print(x)']
    """
    base_by = {c.get("id"): c for c in (base or {}).get("cells", [])}
    mine_by = {c.get("id"): c for c in mine["cells"]}
    new_by = {c.get("id"): c for c in new["cells"]}
    notes: list[str] = []
    result: list[dict] = []
    unknown = 0
    for i, nc in enumerate(new["cells"]):
        cid = nc.get("id")
        bc, mc = base_by.get(cid), mine_by.get(cid)
        if mc is None:
            if bc is not None and _same(bc, nc):
                continue  # the student deleted it and the course did not change it
            result.append(copy.deepcopy(nc))
            continue
        if _same(mc, nc):
            result.append(mc)  # keeps the student's outputs
        elif base is not None and bc is not None and _same(mc, bc):
            result.append(copy.deepcopy(nc))  # untouched by the student: the course's new version
        elif base is not None and bc is not None and _same(nc, bc):
            result.append(mc)  # edited by the student only
        elif base is not None:
            result.append(_note_cell(str(cid), name, backup))
            notes.append(f"cell {i} ({cid}): you edited it and the course changed it too; yours is kept, "
                         "with a note above it")
            result.append(mc)
        else:
            unknown += 1
            result.append(mc)
    # The student's own cells (and edited cells the course removed), after the cell they followed.
    placed = {c.get("id") for c in result}
    after: dict[object, list[dict]] = {}
    anchor = None
    for mc in mine["cells"]:
        cid = mc.get("id")
        if cid in placed:
            anchor = cid
            continue
        bc = base_by.get(cid)
        if cid not in new_by and base is not None and bc is not None and _same(mc, bc):
            continue  # the course removed a cell the student did not touch
        after.setdefault(anchor, []).append(mc)
    cells = list(after.get(None, []))
    for c in result:
        cells.append(c)
        cells.extend(after.get(c.get("id"), []))
    seen: set = set()
    for c in cells:  # ids stay unique (a student's cell could share an id with a new course cell)
        while c.get("id") in seen:
            c["id"] = (str(c.get("id")) + "x")[-64:]
        seen.add(c.get("id"))
    if unknown:
        notes.append(f"{unknown} cell(s) differ from the course's new version and are kept as yours "
                     "(there is no record of the version you started from)")
    merged = copy.deepcopy({k: v for k, v in mine.items() if k != "cells"})
    merged["cells"] = cells
    return merged, notes


def update(notebooks: Path | None = None, work: Path | None = None) -> WorkReport:
    """Bring the course's new and updated notebooks into ``work/`` without losing answers
    (``make update``). Each working copy that changes is first copied to
    ``work/backups/<time>/``; the report says where and which cells were kept."""
    notebooks = Path(notebooks or REPO / "notebooks")
    work = Path(work or notebooks.parent / WORK_DIRNAME)
    report = WorkReport()
    backups = None
    for src in _course_notebooks(notebooks):
        target, base_file = work / src.name, _base_path(work, src.name)
        shown = f"{show(work)}/{src.name}"
        if not target.exists():
            _copy_in(src, work)
            report.created.append(src.name)
            report.lines.append(f"{shown}: new, copied from notebooks/")
            continue
        new_bytes = src.read_bytes()
        if base_file.exists() and base_file.read_bytes() == new_bytes:
            continue  # the course has not changed it since
        try:
            mine = json.loads(target.read_text(encoding="utf-8"))
            new = json.loads(new_bytes.decode("utf-8"))
            base = json.loads(base_file.read_text(encoding="utf-8")) if base_file.exists() else None
            ids_ok = all(isinstance(c.get("id"), str) for c in mine["cells"] + new["cells"])
        except (ValueError, KeyError, TypeError, AttributeError):
            mine, ids_ok = None, False
        if mine is None or not ids_ok:
            beside = target.with_name(target.stem + ".new.ipynb")
            write_atomic(beside, new_bytes)
            report.lines.append(f"{shown}: not a notebook this tool can merge (unreadable, or cells without ids); "
                                f"left as it is, the course's new version is beside it: {show(beside)}")
            continue
        backups = backups or backup_folder(work)
        saved = backups / src.name
        write_atomic(saved, target.read_bytes())
        merged, notes = merge(base, mine, new, name=src.name, backup=show(saved))
        write_atomic(target, _dumps(merged).encode("utf-8"))
        write_atomic(base_file, new_bytes)
        report.updated.append(src.name)
        report.lines.append(f"{shown}: updated to the course's new version, your edits kept; "
                            f"your file before the update: {show(saved)}")
        report.lines += [f"  - {n}" for n in notes]
    if not report.created and not report.updated:
        report.lines.append(f"{show(work)}/ is up to date with notebooks/")
    return report


__all__ = ["setup", "update", "merge", "WorkReport", "STATE_DIRNAME", "BACKUPS_DIRNAME"]
