"""Running notebooks: a kernel of this Python, a whole-notebook run, and ``execute`` (store
the outputs of the solutions' checked cells, nbval's reference)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable

from ._files import REPO, write_if_changed
from ._profile import PROFILES
from .generator import _select, dumps, is_checked_cell, read_json, tidy_solution


def current_env_kernel_manager(asynchronous: bool = False):
    """A jupyter KernelManager whose kernel is this Python (not whatever ``python3``
    kernelspec the user has installed), so notebooks import this checkout's sesmlib.
    ``asynchronous=True`` gives an AsyncKernelManager (several kernels in one event loop)."""
    import ipykernel.kernelspec
    from jupyter_client import AsyncKernelManager, KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class _Here(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(
                resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
            )

    manager = AsyncKernelManager if asynchronous else KernelManager
    return manager(kernel_name="python3", kernel_spec_manager=_Here())


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
            nb = read_json(src)
            tidy_solution(nb, name=src.name)  # markers valid before spending time
            try:
                ran = run_notebook(nb, src.parent, timeout=timeout)
            except Exception as exc:  # CellExecutionError carries the cell's traceback
                failures += 1
                print(f"  FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
                continue
            changed = write_if_changed(src, dumps(tidy_solution(ran, name=src.name)))
            n_checked = sum(is_checked_cell(c) for c in ran["cells"])
            print(f"  ok in {time.perf_counter() - t0:.1f} s; {n_checked} checked cells; "
                  f"{'updated' if changed else 'unchanged'}")
    finally:
        if old is None:
            os.environ.pop("SESMLIB_PROFILE", None)
        else:
            os.environ["SESMLIB_PROFILE"] = old
    return failures
