"""Checks for the warm-up exercise of notebook 00: the logistic with gain and its derivative.

    l(x) = 1 / (1 + exp(-g x)),        dl/dx = g l(x) (1 - l(x))

SESM's encoder and decoder both pass their inputs through this logistic (the paper uses
g = 7 on MNIST). The references are the library's ``sesmlib.sesm.logistic`` and
``sesmlib.sesm.logistic_grad``.
"""
from __future__ import annotations

import torch

from ..sesm import logistic as _reference_logistic
from ..sesm import logistic_grad as _reference_logistic_grad
from ._core import CheckResult, Case, random_tensor, run_check

__all__ = ["check_logistic", "check_logistic_grad"]


def _cases() -> list[Case]:
    return [
        Case("x = 0, gain = 1", torch.zeros(3), 1.0),
        Case("x = [-1, 0, 1], gain = 1", torch.tensor([-1.0, 0.0, 1.0]), 1.0),
        Case("x = [-1, 0, 1], gain = 7 (the paper's gain)", torch.tensor([-1.0, 0.0, 1.0]), 7.0),
        Case("a random (4, 5) batch, gain = 7", random_tensor((4, 5), seed=1), 7.0),
        Case("a random (2, 3) batch, gain = 0.5", random_tensor((2, 3), seed=2), 0.5),
        Case("large |x| = 50, gain = 7 (exp must not overflow into NaN)",
             torch.tensor([-50.0, -20.0, 20.0, 50.0]), 7.0),
        Case("x = -13, gain = 7: exp(-g x) = exp(91) overflows float32, yet l(x) and its slope are tiny, not NaN",
             torch.tensor([-13.0, -12.0, 13.0]), 7.0),
        Case("a float64 input (the dtype must be kept)", random_tensor((3, 2), dtype=torch.float64, seed=3), 7.0),
    ]


def check_logistic(fn) -> CheckResult:
    """Check the student's ``fn(x, gain)`` = 1 / (1 + exp(-gain x)), elementwise.

    Values, shapes and dtypes on small, random, large-|x| and float64 inputs, and the
    gradient autograd finds through ``fn``.

    Examples
    --------
    >>> import torch
    >>> _ = check_logistic(lambda x, gain: torch.sigmoid(gain * x))  # doctest: +ELLIPSIS
    ✅ logistic: correct on all 8 inputs (values, shapes, dtypes and gradients checked).
    """
    return run_check(
        "logistic", fn, _reference_logistic, _cases(), grad=True,
        hint="l(x) = 1 / (1 + exp(-gain * x)), elementwise; torch.sigmoid helps: it never overflows "
             "the way a hand-written exp can.",
    )


def check_logistic_grad(fn) -> CheckResult:
    """Check the student's ``fn(x, gain)`` = d l / d x = gain l(x) (1 - l(x)), elementwise.

    Examples
    --------
    >>> import torch
    >>> def dl(x, gain):
    ...     l = torch.sigmoid(gain * x)
    ...     return gain * l * (1 - l)
    >>> _ = check_logistic_grad(dl)  # doctest: +ELLIPSIS
    ✅ derivative of the logistic: correct on all 8 inputs (values, shapes and dtypes checked).
    """
    return run_check(
        "derivative of the logistic", fn, _reference_logistic_grad, _cases(),
        check_name="check_logistic_grad",
        hint="by the chain rule, d/dx l(x) = gain * l(x) * (1 - l(x)); do not forget the gain.",
    )
