"""What a model's filters look like, in numbers: how far each filter spreads over the
image (:func:`spatial_spread`), how strongly it is oriented (:func:`orientation_coherence`),
and both summarised over a model's living units (:func:`filter_stats`), so that
"localised" and "oriented" (the paper's Fig. 1-D to 1-H) can be checked rather than
asserted. They apply to any model's filters: SESM's and the RBM's columns of ``W``,
PCA's components (``model.filters`` for each).
"""
from __future__ import annotations

import math

import torch

from .._utils import check_matrix

__all__ = ["spatial_spread", "orientation_coherence", "filter_stats"]


def _filter_images(filters: torch.Tensor, shape: tuple[int, int] | None, name: str) -> torch.Tensor:
    """(K, H, W) float64 images from filters given as columns of W (N, K) or as (K, H, W)."""
    if not isinstance(filters, torch.Tensor) or not filters.is_floating_point():
        raise TypeError(f"{name} must be a floating torch.Tensor")
    if filters.dim() == 3:
        imgs = filters
    elif filters.dim() == 2:
        N, K = filters.shape
        if shape is None:
            side = math.isqrt(N)
            if side * side != N:
                raise ValueError(f"{name} has {N} rows, not a square image; pass shape=(H, W)")
            shape = (side, side)
        if len(shape) != 2 or shape[0] * shape[1] != N:
            raise ValueError(f"shape {shape} does not hold the {N} pixels of each filter in {name}")
        imgs = filters.T.reshape(K, shape[0], shape[1])
    else:
        raise ValueError(f"{name} must be (N, K) columns or (K, H, W) images, got shape {tuple(filters.shape)}")
    if not torch.isfinite(imgs).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    return imgs.detach().to("cpu", torch.float64)


def spatial_spread(filters: torch.Tensor, shape: tuple[int, int] | None = None) -> torch.Tensor:
    """How far each filter's weight spreads over the image: 1 = uniform, near 0 = one pixel.

    With p(x) = w(x)^2 / sum_x w(x)^2 the share of a filter's squared weight at pixel x and
    mu = sum_x p(x) x its centre,

        spread = sqrt( sum_x p(x) ||x - mu||^2 ) / sqrt( (H^2 - 1) / 12 + (W^2 - 1) / 12 ),

    the denominator being the same radius for a filter of equal weight everywhere. A
    localised filter (a stroke, a Gabor patch) has a small spread; a distributed one (a
    global pattern) a spread near 1. The weights are taken as they are (no mean removed),
    so a filter on a constant offset counts as spread out.

    Parameters
    ----------
    filters : torch.Tensor, shape (N, K) (columns of W) or (K, H, W)
    shape : (H, W), optional
        Image shape of a column; square by default.

    Returns
    -------
    torch.Tensor, shape (K,), float64, values in [0, about 1.4]

    Examples
    --------
    >>> import torch
    >>> dot = torch.zeros(1, 8, 8); dot[0, 3, 4] = 1.0
    >>> float(spatial_spread(dot)[0])
    0.0
    >>> round(float(spatial_spread(torch.ones(1, 8, 8))[0]), 6)
    1.0
    """
    imgs = _filter_images(filters, shape, "filters")  # (K, H, W)
    K, H, W = imgs.shape
    p = imgs.pow(2).reshape(K, -1)  # (K, H*W)
    total = p.sum(dim=1, keepdim=True)
    p = torch.where(total > 0, p / total.clamp(min=1e-300), torch.full_like(p, 1.0 / (H * W)))
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    pos = torch.stack([yy.reshape(-1), xx.reshape(-1)], dim=1)  # (H*W, 2)
    mu = p @ pos  # (K, 2)
    var = (p * ((pos[None] - mu[:, None]) ** 2).sum(-1)).sum(dim=1)  # (K,)
    uniform = (H * H - 1) / 12 + (W * W - 1) / 12
    return (var / uniform).sqrt() if uniform > 0 else torch.zeros(K, dtype=torch.float64)


def orientation_coherence(filters: torch.Tensor, shape: tuple[int, int] | None = None) -> torch.Tensor:
    """How strongly each filter is oriented: 1 = parallel stripes or one straight edge,
    0 = no preferred direction (a blob, noise).

    From the filter's gradients gx, gy (differences of neighbouring pixels) the structure
    tensor J = sum [[gx^2, gx gy], [gx gy, gy^2]] has eigenvalues l1 >= l2, and

        coherence = (l1 - l2) / (l1 + l2) = sqrt((Jxx - Jyy)^2 + 4 Jxy^2) / (Jxx + Jyy).

    A Gabor-like filter scores near 1; white noise about 2 / sqrt(number of pixels).

    Parameters
    ----------
    filters : torch.Tensor, shape (N, K) (columns of W) or (K, H, W)
    shape : (H, W), optional
        Image shape of a column; square by default.

    Returns
    -------
    torch.Tensor, shape (K,), float64, values in [0, 1] (0 for a constant filter)

    Examples
    --------
    >>> import torch
    >>> stripes = torch.sin(torch.arange(8.0)).repeat(8, 1)[None]   # varies along x only
    >>> round(float(orientation_coherence(stripes)[0]), 6)
    1.0
    """
    imgs = _filter_images(filters, shape, "filters")  # (K, H, W)
    # Central parts of the forward differences, cropped to a common (H-1, W-1) grid.
    gx = (imgs[:, :, 1:] - imgs[:, :, :-1])[:, 1:, :] + (imgs[:, :, 1:] - imgs[:, :, :-1])[:, :-1, :]
    gy = (imgs[:, 1:, :] - imgs[:, :-1, :])[:, :, 1:] + (imgs[:, 1:, :] - imgs[:, :-1, :])[:, :, :-1]
    jxx = (gx * gx).sum(dim=(1, 2))
    jyy = (gy * gy).sum(dim=(1, 2))
    jxy = (gx * gy).sum(dim=(1, 2))
    trace = jxx + jyy
    num = ((jxx - jyy) ** 2 + 4 * jxy**2).sqrt()
    return torch.where(trace > 0, num / trace.clamp(min=1e-300), torch.zeros_like(trace))


@torch.no_grad()
def filter_stats(model, X: torch.Tensor, *, shape: tuple[int, int] | None = None) -> dict:
    """What a trained model's filters look like, in four numbers.

    A unit is *alive* when its code (``model.code``, for SESM ``l(f_enc(Y))``) exceeds
    0.5 on at least one row of ``X``; a dead unit's filter is whatever the L1 term left of
    it, so the medians are taken over the alive units only.

    Parameters
    ----------
    model : SESM or RBM (a model with ``filters`` (N, M) and codes in [0, 1])
    X : torch.Tensor, shape (B, N)
        Data on which activity is measured (for example the training patches).
    shape : (H, W), optional
        Image shape of a filter (square by default).

    Returns
    -------
    dict with ``alive`` (int), ``n_code`` (int), ``active`` (mean fraction of units with
    l(z) > 0.5 per row), ``spread`` and ``coherence`` (medians over the alive units of
    :func:`spatial_spread` and :func:`orientation_coherence`; NaN when none is alive).

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> stats = filter_stats(SESM(64, 8, seed=0, device="cpu"), torch.rand(20, 64))
    >>> sorted(stats)
    ['active', 'alive', 'coherence', 'n_code', 'spread']
    """
    W = model.filters  # (N, M)
    X = check_matrix("X", X, n_cols=W.shape[0], device=W.device, dtype=W.dtype)
    on = model.code(X) > 0.5  # (B, M)
    alive = on.any(dim=0).cpu()  # (M,)
    spread = spatial_spread(W, shape)[alive]
    coherence = orientation_coherence(W, shape)[alive]
    return {
        "alive": int(alive.sum()),
        "n_code": int(W.shape[1]),
        "active": float(on.float().mean()),
        "spread": float(spread.median()) if len(spread) else float("nan"),
        "coherence": float(coherence.median()) if len(coherence) else float("nan"),
    }
