"""The course machinery: the notebook profile, the student copies in ``notebooks/`` made
from ``solutions/``, the students' own working copies in ``work/``, and progress/grading.

Command line (``python -m sesmlib.course ...`` or ``python -m sesmlib course ...``)::

    setup                          work/X.ipynb for each notebooks/X.ipynb it lacks (make lab)
    update                         new course versions into work/, answers kept (make update)
    progress [NOTEBOOK ...]        run notebooks headless, one verdict per exercise (make progress)
    grade DIR --out grades.csv     the same over a folder of submissions, as a CSV (make grade)
    build   [NAMES] [--check]      notebooks/X.ipynb from solutions/X.ipynb (make notebooks)
    execute [NAMES] [--profile P]  run solutions, store the outputs of `# NBVAL_CHECK_OUTPUT` cells

NAMES are notebook names or prefixes (``00``, ``00_start_here``); none means all.

Where things live: ``solutions/`` is the source the instructors edit; ``notebooks/`` holds
the generated student copies (the tool refuses to overwrite one it did not write);
``work/`` (git-ignored) holds each student's working copies, which no command overwrites:
``update`` merges cell by cell and keeps a backup in ``work/backups/``. Modules:
:mod:`.generator` (build), :mod:`.working` (working copies), :mod:`.running` (kernels,
``execute``), :mod:`.grading` (progress and grading), :mod:`.cli`.
"""
from __future__ import annotations

from ._files import BACKUPS_DIRNAME, REPO, WORK_DIRNAME, AuthoringError, CourseError
from ._profile import PROFILES, profile
from .generator import (ANSWER_MARKER, ANSWER_PLACEHOLDER, FIX_COMMAND, FORCE_COMMAND, KERNELSPEC,
                    MODEL_ANSWER_SUMMARY, RefusedError, build, dumps, is_checked_cell, plan, stale_notebooks,
                    student_notebook, tidy_solution, written_by_tool)
from .cli import main
from .grading import grade, progress
from .running import current_env_kernel_manager, execute, run_notebook
from .working import setup as setup_work
from .working import update as update_work

__all__ = [
    "profile",
    "PROFILES",
    "student_notebook",
    "tidy_solution",
    "dumps",
    "stale_notebooks",
    "plan",
    "build",
    "written_by_tool",
    "execute",
    "run_notebook",
    "main",
    "setup_work",
    "update_work",
    "progress",
    "grade",
    "FIX_COMMAND",
    "FORCE_COMMAND",
    "AuthoringError",
    "CourseError",
    "RefusedError",
    "WORK_DIRNAME",
    "BACKUPS_DIRNAME",
]
