"""Check for the exercise of notebook 07: a second-stage unit seen through both decoders.

With unit j of the second code alone on, l(Z2) = e_j::

    C = clip(W2^T + b_dec2, 0, 1)     (K, M1)  second decoder: first-stage codes (after l)
    Y = C W1^T + b_dec1               (K, N)   first decoder (its logistic is C already)
"""
from __future__ import annotations

import torch

from ._core import CheckResult, Case, random_tensor, run_check

__all__ = ["check_back_project"]


def _reference(W1: torch.Tensor, b_dec1: torch.Tensor, W2: torch.Tensor, b_dec2: torch.Tensor) -> torch.Tensor:
    from ..stack import back_project_params

    return back_project_params(W1, b_dec1, W2, b_dec2, clip=True)


def _cases() -> list[Case]:
    small = (
        torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),  # W1 (N=3, M1=2)
        torch.tensor([0.1, 0.2, 0.3]),  # b_dec1
        torch.tensor([[0.5, 0.25], [0.125, 0.5]]),  # W2 (M1=2, K=2)
        torch.tensor([0.25, 0.0]),  # b_dec2
    )
    clipped = (small[0], small[1], torch.tensor([[0.5, 2.0], [-0.75, 0.5]]), small[3])
    return [
        Case("a 3-pixel, 2-code, 2-unit stack (codes inside [0, 1])", *small),
        Case("the same stack with codes outside [0, 1] (they must be clipped)", *clipped),
        Case(
            "random MNIST-like sizes: N = 784, M1 = 200, K = 10",
            random_tensor((784, 200), low=-0.2, high=0.2, seed=1),
            random_tensor((784,), low=-0.5, high=0.5, seed=2),
            random_tensor((200, 10), low=-1.0, high=1.0, seed=3),
            random_tensor((200,), low=-0.5, high=1.0, seed=4),
        ),
        Case(
            "a float64 stack (the dtype must be kept)",
            random_tensor((12, 5), seed=5, dtype=torch.float64),
            random_tensor((12,), seed=6, dtype=torch.float64),
            random_tensor((5, 3), seed=7, dtype=torch.float64),
            random_tensor((5,), seed=8, dtype=torch.float64),
        ),
    ]


def check_back_project(fn) -> CheckResult:
    """Check the student's ``fn(W1, b_dec1, W2, b_dec2)`` -> (K, N): each second-stage unit
    alone on, decoded by the second decoder, clipped to [0, 1], decoded by the first.

    Examples
    --------
    >>> import torch
    >>> def mine(W1, b_dec1, W2, b_dec2):
    ...     return (W2.T + b_dec2).clamp(0, 1) @ W1.T + b_dec1
    >>> _ = check_back_project(mine)  # doctest: +ELLIPSIS
    ✅ back-projection: correct on all 4 inputs ...
    """
    return run_check(
        "back-projection", fn, _reference, _cases(),
        hint="Row j is the first decoder applied to what the second decoder gives for l(Z2) = e_j "
             "(column j of W2 plus b_dec2), clipped to [0, 1]. That output already is a code after "
             "the logistic: do not apply l again. Write it for all K units at once with a transpose.",
    )
