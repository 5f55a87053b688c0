"""Pictures: image grids of filters, digits and reconstructions.

Every grid is first built as a plain array by :func:`image_grid` (testable without a
display), then shown with matplotlib (:func:`show_filters`, :func:`show_reconstructions`)
or written to a PNG file (:func:`save_image_grid`).
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from . import _utils

__all__ = ["image_grid", "filter_grid", "show_filters", "show_images", "show_reconstructions", "save_image_grid"]

_NORMALIZE = (None, "each", "all")


def _as_images(x, shape, name: str) -> np.ndarray:
    """(P, H*W) or (P, H, W) tensor/array -> float array (P, H, W)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        return x
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (P, H*W) or 3-D (P, H, W), got shape {x.shape}")
    if shape is None:
        side = int(round(math.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"{name} has rows of {x.shape[1]} values, not a square image: give shape=(H, W)")
        shape = (side, side)
    if len(shape) != 2 or shape[0] * shape[1] != x.shape[1]:
        raise ValueError(f"shape={shape} does not match {name}'s rows of {x.shape[1]} values")
    return x.reshape(x.shape[0], *shape)


def image_grid(images, *, shape=None, ncols: int | None = None, normalize: str | None = None, pad: int = 1) -> np.ndarray:
    """Tile images into one array with gray 1-pixel borders.

    Parameters
    ----------
    images : tensor or array (P, H*W) or (P, H, W)
    shape : (H, W) or None
        Image shape for flat rows; None means square.
    ncols : int or None
        Tiles per row (default: about sqrt(P)).
    normalize : None, "each" or "all"
        None: values are used as they are (pixels in [0, 1], clipped). "each": each tile
        is scaled symmetrically, ``0.5 + x / (2 max|x|)``, so 0 is mid-gray (for filters,
        whose sign matters). "all": the same with one scale for all tiles.
    pad : int
        Border width in pixels.

    Returns
    -------
    ndarray (rows*(H+pad)+pad, ncols*(W+pad)+pad) with values in [0, 1]

    Examples
    --------
    >>> import torch
    >>> image_grid(torch.rand(6, 16), ncols=3).shape  # 4x4 tiles, 2 rows of 3
    (11, 16)
    """
    x = _as_images(images, shape, "images")
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
    pad = int(pad)
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    P, H, W = x.shape
    if P == 0:
        raise ValueError("images is empty")
    ncols = _utils.check_positive_int("ncols", ncols) if ncols is not None else int(math.ceil(math.sqrt(P)))
    ncols = min(ncols, P)
    nrows = int(math.ceil(P / ncols))
    if normalize == "each":
        scale = np.abs(x).reshape(P, -1).max(1).reshape(P, 1, 1)
        x = 0.5 + x / (2 * np.where(scale > 0, scale, 1.0))
    elif normalize == "all":
        scale = np.abs(x).max()
        x = 0.5 + x / (2 * (scale if scale > 0 else 1.0))
    x = np.clip(x, 0.0, 1.0)
    grid = np.full((nrows * (H + pad) + pad, ncols * (W + pad) + pad), 0.5)
    for i in range(P):
        r, c = divmod(i, ncols)
        top, left = pad + r * (H + pad), pad + c * (W + pad)
        grid[top : top + H, left : left + W] = x[i]
    return grid


def filter_grid(W, *, shape=(28, 28), ncols: int | None = None, normalize: str = "each", pad: int = 1) -> np.ndarray:
    """The columns of a filter matrix ``W`` (N, M) as one image (see :func:`image_grid`);
    each filter is scaled on its own, 0 is mid-gray, positive weights light.

    Examples
    --------
    >>> import torch
    >>> filter_grid(torch.randn(784, 200), ncols=20).shape
    (291, 581)
    """
    W = W.detach().to("cpu", torch.float64).numpy() if isinstance(W, torch.Tensor) else np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (n_visible, n_code), got shape {W.shape}")
    return image_grid(W.T, shape=shape, ncols=ncols, normalize=normalize, pad=pad)


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _show_grid(grid: np.ndarray, ax, figsize, title: str | None):
    """Draw a grid image in [0, 1] in gray on ``ax`` (a new figure when None); returns the Axes."""
    ax = _axes(ax, figsize)
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_filters(W, *, shape=(28, 28), ncols: int | None = None, normalize: str = "each", ax=None, title: str | None = None, figsize=(8, 8)):
    """Show the filters (columns of ``W``) as one grid; returns the matplotlib Axes.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = show_filters(torch.randn(784, 16), title="random filters")
    """
    return _show_grid(filter_grid(W, shape=shape, ncols=ncols, normalize=normalize), ax, figsize, title)


def show_images(images, *, shape=None, ncols: int | None = None, normalize: str | None = None, ax=None, title: str | None = None, figsize=(8, 8)):
    """Show images (P, H*W) as one grid (pixels in [0, 1] by default); returns the Axes.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = show_images(torch.rand(9, 784))
    """
    return _show_grid(image_grid(images, shape=shape, ncols=ncols, normalize=normalize), ax, figsize, title)


def show_reconstructions(originals, *reconstructions, labels=None, n: int = 10, shape=None, figsize=None):
    """Originals in the first row, each set of reconstructions in a row below.

    Parameters
    ----------
    originals : tensor (P, H*W)
    *reconstructions : tensors (P, H*W), e.g. ``model.decode(model.encode(Y))``
    labels : list of str, one per row (default "original", "reconstruction 1", ...)
    n : int
        How many samples (columns) to show.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> Y = torch.rand(5, 784)
    >>> fig = show_reconstructions(Y, Y.clamp(0.2, 0.8), labels=["data", "clamped"], n=5)
    """
    import matplotlib.pyplot as plt

    rows = [originals, *reconstructions]
    n = min(_utils.check_positive_int("n", n), len(originals))
    if any(len(r) < n for r in rows):
        raise ValueError("every set of reconstructions must have as many rows as the originals shown")
    if labels is None:
        labels = ["original"] + [f"reconstruction {i + 1}" for i in range(len(reconstructions))]
    if len(labels) != len(rows):
        raise ValueError(f"labels must have {len(rows)} entries, got {len(labels)}")
    fig, axes = plt.subplots(len(rows), 1, figsize=figsize or (1.0 * n, 1.15 * len(rows)), squeeze=False)
    for ax, r, lab in zip(axes[:, 0], rows, labels):
        ax.imshow(image_grid(r[:n], shape=shape, ncols=n), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(lab, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def save_image_grid(path, images, *, shape=None, ncols: int | None = None, normalize: str | None = None, pad: int = 1, scale: int = 2, filters: bool = False) -> Path:
    """Write a grid of images (or, with ``filters=True``, the columns of a filter matrix
    W (N, M), each scaled on its own) to a PNG file, atomically; returns the path.

    Parameters
    ----------
    path : str or Path
    images : tensor (P, H*W) or (P, H, W); or W (N, M) with ``filters=True``
    scale : int
        Each pixel becomes a scale x scale block (easier to look at).

    Examples
    --------
    >>> import torch, tempfile, os
    >>> p = save_image_grid(os.path.join(tempfile.mkdtemp(), "f.png"), torch.randn(784, 20), filters=True, ncols=10)
    >>> p.stat().st_size > 0
    True
    """
    import matplotlib.image

    if filters:
        grid = filter_grid(images, shape=shape or (28, 28), ncols=ncols, normalize=normalize or "each", pad=pad)
    else:
        grid = image_grid(images, shape=shape, ncols=ncols, normalize=normalize, pad=pad)
    scale = _utils.check_positive_int("scale", scale)
    grid = np.kron(grid, np.ones((scale, scale)))
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, grid, cmap="gray", vmin=0, vmax=1, format="png")
    return _utils.atomic_write_bytes(Path(os.fspath(path)), buf.getvalue())
