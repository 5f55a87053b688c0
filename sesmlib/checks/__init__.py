"""Exercise self-checks: ``sesmlib.checks.check_<name>(student_fn) -> CheckResult``.

Each check compares a student's function with the library's on random and edge-case
inputs and prints a short verdict; what it returns is true when the check passed and is
not displayed by Jupyter, so a check cell shows the verdict alone (see ``sesmlib/checks/_core.py`` for the framework and
how to write a new check). ``prefer(student_fn, reference_fn)`` returns the student's
function when its last check passed, else the library's, so the cells after an exercise
always run.

Topic modules are discovered automatically: every ``sesmlib/checks/<topic>.py`` whose
name does not start with ``_`` is imported and the names in its ``__all__`` are
re-exported here, so adding checks never means editing this file.

Examples
--------
>>> import torch
>>> from sesmlib import checks
>>> _ = checks.check_logistic(lambda x, gain: torch.sigmoid(gain * x))  # doctest: +ELLIPSIS
✅ logistic: correct on all ... inputs (values, shapes, dtypes and gradients checked).
"""
from __future__ import annotations

import importlib
import pkgutil

from ._core import Case, CheckResult, last_result, prefer, random_tensor, run_check

__all__ = ["prefer", "last_result", "run_check", "Case", "CheckResult", "random_tensor"]


def _discover() -> list[str]:
    """Import every public topic module and re-export its ``__all__``; return the names."""
    exported: dict[str, str] = {name: "_core" for name in __all__}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # name the broken module instead of a bare traceback
            raise ImportError(f"sesmlib.checks: could not import topic module {info.name!r}: {exc}") from exc
        names = getattr(module, "__all__", None)
        if names is None:
            raise ImportError(f"sesmlib.checks.{info.name} must define __all__ (the checks it exports)")
        for name in names:
            if name in exported and exported[name] != info.name:
                raise ImportError(
                    f"sesmlib.checks: {name!r} is exported by both {exported[name]!r} and {info.name!r}"
                )
            exported[name] = info.name
            globals()[name] = getattr(module, name)
    return [n for n in exported if n not in __all__]


__all__ += _discover()
