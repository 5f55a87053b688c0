"""Check for notebook 07: how far a filter spreads over its image.

For a filter w on an H x W grid of pixel positions x = (row, column)::

    p(x)   = w(x)^2 / sum_x w(x)^2          the share of the squared weight at x
    mu     = sum_x p(x) x                    its centre
    spread = sqrt( sum_x p(x) ||x - mu||^2 ) / sqrt( (H^2 - 1) / 12 + (W^2 - 1) / 12 )

0 for a single pixel, 1 for a filter of equal weight everywhere (the denominator is that
filter's radius). The reference is :func:`sesmlib.evaluate.spatial_spread`.
"""
from __future__ import annotations

from typing import Any

import torch

from ._core import Case, CheckFailure, CheckResult, _compare, random_tensor, run_check

__all__ = ["check_spatial_spread"]


def _ref_spread(filters: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    from ..evaluate import spatial_spread

    return spatial_spread(filters, shape)


def _columns(*images: torch.Tensor) -> torch.Tensor:
    """Images (H, W) as the columns of a (H W, K) matrix, the layout of a model's W."""
    return torch.stack([im.reshape(-1) for im in images], dim=1)


def _dot(H: int, W: int, r: int, c: int) -> torch.Tensor:
    im = torch.zeros(H, W)
    im[r, c] = 1.0
    return im


def _compare_spread(yours: Any, expected: torch.Tensor, case: Case) -> str | None:
    filters, shape = case.args
    try:
        _compare(yours, expected, "your result", 1e-5, 1e-7, False)
    except CheckFailure as exc:
        msg = str(exc)
        if isinstance(yours, torch.Tensor) and yours.shape == expected.shape:
            y, e = yours.detach().double(), expected.double()
            H, W = shape
            uniform = ((H * H - 1) / 12 + (W * W - 1) / 12) ** 0.5
            if torch.allclose(y, e * uniform, rtol=1e-4, atol=1e-6):
                return f"{msg} Divide by the uniform filter's radius, sqrt((H^2 - 1)/12 + (W^2 - 1)/12)."
            if torch.allclose(y, e ** 2, rtol=1e-4, atol=1e-6):
                return f"{msg} Yours is the square of the spread: take the square root of the weighted variance (and of the denominator)."
            if W != H:
                return (f"{msg} This filter is {H} x {W} (not square): a column holds the image row after row, so "
                        "reshape it to (H, W) and give rows and columns their own coordinates.")
        return msg
    if not isinstance(yours, torch.Tensor) or yours.dtype != torch.float64:
        got = str(yours.dtype).replace("torch.", "") if isinstance(yours, torch.Tensor) else type(yours).__name__
        return f"your spreads have dtype {got}; compute them in float64 (`filters.double()`), as the library does."
    return None


def check_spatial_spread(fn) -> CheckResult:
    """Check the student's ``fn(filters, shape) -> (K,)``: the spatial spread of each column
    of ``filters`` (N, K) seen as an image of ``shape`` (H, W), in float64.

    Examples
    --------
    >>> def spread(filters, shape):
    ...     H, W = shape
    ...     p = filters.double().T ** 2                     # (K, N)
    ...     p = p / p.sum(1, keepdim=True)
    ...     r, c = torch.meshgrid(torch.arange(float(H)), torch.arange(float(W)), indexing="ij")
    ...     pos = torch.stack([r.reshape(-1), c.reshape(-1)], 1).double()   # (N, 2)
    ...     mu = p @ pos                                                    # (K, 2)
    ...     var = (p * ((pos[None] - mu[:, None]) ** 2).sum(-1)).sum(1)
    ...     return (var / ((H * H - 1) / 12 + (W * W - 1) / 12)).sqrt()
    >>> _ = check_spatial_spread(spread)  # doctest: +ELLIPSIS
    ✅ spatial spread: correct on all 6 inputs (outputs checked).
    """
    flat = torch.ones(8, 8)
    two = _dot(8, 8, 2, 2) + _dot(8, 8, 2, 5)  # two pixels three columns apart
    g = torch.Generator().manual_seed(3)
    blob = torch.exp(-((torch.arange(28.0)[:, None] - 10) ** 2 + (torch.arange(28.0)[None] - 15) ** 2) / 8.0)
    cases = [
        Case("one pixel on an 8 x 8 patch: spread 0", _columns(_dot(8, 8, 3, 4)), (8, 8)),
        Case("equal weight everywhere: spread 1", _columns(flat), (8, 8)),
        Case("two equal pixels three columns apart (and a negative weight counts like a positive one)",
             _columns(two, _dot(8, 8, 2, 2) - _dot(8, 8, 2, 5)), (8, 8)),
        Case("a 4 x 6 image (not square)", _columns(random_tensor((4, 6), seed=4), _dot(4, 6, 0, 5)), (4, 6)),
        Case("a small blob and random noise on 28 x 28 digits", _columns(blob, random_tensor((28, 28), seed=5)), (28, 28)),
        Case("10 random 8 x 8 float64 filters", torch.randn(64, 10, generator=g, dtype=torch.float64), (8, 8)),
    ]
    return run_check(
        "spatial spread", fn, _ref_spread, cases, compare=_compare_spread, check_name="check_spatial_spread",
        hint="for each column: p = w^2 / sum w^2 over the pixels; the centre mu is the p-weighted mean of the pixel "
             "coordinates (row, column); the spread is the square root of the p-weighted mean squared distance to mu, "
             "divided by sqrt((H^2 - 1)/12 + (W^2 - 1)/12). torch.meshgrid gives the coordinates of every pixel.",
    )
