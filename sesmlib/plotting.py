"""Pictures: image grids of filters, digits and reconstructions, and the panels of the
paper's Figure 1.

Every grid is first built as a plain array by :func:`image_grid` (testable without a
display), then shown with matplotlib (:func:`show_filters`, :func:`show_reconstructions`)
or written to a PNG file (:func:`save_image_grid`). :func:`plot_panel_a`,
:func:`plot_panel_b` and :func:`plot_panel_c` draw Figure 1 from a
:class:`sesmlib.results.Figure1Result`, ours beside the paper's; :func:`plot_figure1`
writes all three.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from . import _utils

__all__ = [
    "image_grid",
    "filter_grid",
    "show_filters",
    "show_images",
    "show_reconstructions",
    "save_image_grid",
    "plot_panel_a",
    "plot_panel_b",
    "plot_panel_c",
    "plot_figure1",
]

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


# =============================================================================
# Figure 1 (panels A, B, C), ours beside the paper's
# =============================================================================

_COLORS = {"sesm": "tab:blue", "rbm": "tab:red", "pca": "tab:green", "raw": "tab:gray"}
_MARKERS = {"rbm": "s", "pca": "D"}


def _panel_axes(axes, rows, cols):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.9 * rows + 0.6), squeeze=False)
        return fig, [list(r) for r in axes]
    flat = list(np.ravel(axes)) if not isinstance(axes, (list, tuple)) else [a for r in axes for a in np.ravel(r)]
    if len(flat) != rows * cols:
        raise ValueError(f"axes must hold {rows * cols} axes ({rows} protocol(s) x {cols} sizes), got {len(flat)}")
    return flat[0].figure, [flat[r * cols:(r + 1) * cols] for r in range(rows)]


def _errorbars(ax, xs, summaries, **kw):
    """Mean errors with two bars: thin with caps, the spread over the draws; thick, the
    spread over the seeds."""
    ys = [e.mean for e in summaries]
    ax.errorbar(xs, ys, yerr=[e.draw_std for e in summaries], capsize=2, elinewidth=0.8, **kw)
    kw = {k: v for k, v in kw.items() if k in ("color",)}
    ax.errorbar(xs, ys, yerr=[e.seed_std for e in summaries], ls="none", elinewidth=3, alpha=0.45, **kw)


def _panel_error(result, x_of, x_paper, xlabel: str, axes=None, protocols=None):
    """Test error against ``x_of(method)`` (ours) and ``x_paper(method)`` (the paper's),
    one row of plots per classifier protocol, one plot per training size."""
    protocols = list(result.protocols if protocols is None else protocols)
    for p in protocols:
        if p not in result.protocols:
            raise ValueError(f"protocol {p!r} is not in this result; it has {result.protocols}")
    fig, grid = _panel_axes(axes, len(protocols), len(result.sizes))
    sesm = result.sesm
    others = [result.method(n) for n in ("rbm", "pca")]
    for p, axes_row in zip(protocols, grid):
        for ax, s in zip(axes_row, result.sizes):
            # ours: filled markers, solid lines; thin bars: draws, thick bars: seeds
            _errorbars(ax, [x_of(m) for m in sesm], [result.error_summary(m, s, protocol=p) for m in sesm],
                       color=_COLORS["sesm"], marker="o", ls="-", label="SESM (ours)")
            for m in others:
                _errorbars(ax, [x_of(m)], [result.error_summary(m, s, protocol=p)], color=_COLORS[m.kind],
                           marker=_MARKERS[m.kind], ls="none", label=f"{m.label} (ours)")
            ax.axhline(result.error("raw", s, protocol=p).mean, color=_COLORS["raw"], ls="-", lw=1, label="raw pixels (ours)")
            # the paper's: hollow markers, dashed lines
            if result.paper_error("raw", s) is not None:
                ax.plot([x_paper(m) for m in sesm], [result.paper_error(m, s) for m in sesm], color=_COLORS["sesm"],
                        marker="o", mfc="none", ls="--", label="SESM (paper)")
                for m in others:
                    ax.plot([x_paper(m)], [result.paper_error(m, s)], color=_COLORS[m.kind], marker=_MARKERS[m.kind],
                            mfc="none", ls="none", ms=8, label=f"{m.kind.upper()} (paper)")
                ax.axhline(result.paper_error("raw", s), color=_COLORS["raw"], ls="--", lw=1, label="raw pixels (paper)")
            ax.set_title(f"{s} samples per class, {p} protocol", fontsize=9)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("test error (%)")
            ax.grid(alpha=0.3)
    handles, labels = grid[-1][-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.1 / len(protocols) + 0.02, 1, 1))
    return fig


def plot_panel_a(result, axes=None, protocols=None):
    """Panel A: linear-classifier test error against the code entropy (bits per pixel,
    256 levels), one row per classifier protocol (the paper's and the probe), one plot
    per training size. Ours: filled markers and solid lines, the mean over seeds and
    draws, thin error bars the spread over the draws and thick ones the spread over the
    seeds; the paper's: hollow markers and dashed lines; raw pixels as horizontal lines.

    Parameters
    ----------
    result : Figure1Result
    axes : matplotlib Axes, optional
        (protocols x sizes) of them.
    protocols : list of str, optional
        Which protocols to draw (default: all of the result's).

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from sesmlib.results import Figure1Result, example_data
    >>> fig = plot_panel_a(Figure1Result.from_dict(example_data()))
    >>> fig.axes[0].get_title(), len(fig.axes)
    ('10 samples per class, paper protocol', 2)
    """
    return _panel_error(result, lambda m: result.bits(m, 256), lambda m: result.paper_rate(m, 256)[0],
                        "bits per pixel (256 levels)", axes, protocols)


def plot_panel_b(result, axes=None, protocols=None):
    """Panel B: test error against the RMSE (256 levels, the paper's sigma), laid out as
    :func:`plot_panel_a`; the paper's points pair panel A's errors with panel C's
    256-level RMSE.

    Examples
    --------
    >>> from sesmlib.results import Figure1Result, example_data
    >>> plot_panel_b(Figure1Result.from_dict(example_data()), protocols=["probe"]).axes[0].get_xlabel()
    'RMSE (256 levels)'
    """
    return _panel_error(result, lambda m: result.rmse(m, 256), lambda m: result.paper_rate(m, 256)[1],
                        "RMSE (256 levels)", axes, protocols)


def plot_panel_c(result, ax=None):
    """Panel C: RMSE (the paper's sigma) against bits per pixel, at 5 and 256 levels.
    Ours filled and solid (the mean over the seeds, bars: the spread over them), the
    paper's hollow and dashed.

    Parameters
    ----------
    result : Figure1Result
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from sesmlib.results import Figure1Result, example_data
    >>> fig = plot_panel_c(Figure1Result.from_dict(example_data()))
    >>> fig.axes[0].get_xlabel()
    'bits per pixel'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.4))
    else:
        fig = ax.figure
    sesm = result.sesm
    others = [m for m in result.methods if m.kind in _MARKERS]
    kinds = ["sesm"] + [m.kind for m in others]
    entries = []  # (paper?, kind, Q, handle, label): the legend lists ours, then the paper's, method by method
    for Q, mk in ((5, "v"), (256, "o")):
        rs = [result.rate_summary(m, Q) for m in sesm]
        h = ax.errorbar([r.bits for r in rs], [r.rmse for r in rs], xerr=[r.bits_seed_std for r in rs],
                        yerr=[r.rmse_seed_std for r in rs], color=_COLORS["sesm"], marker=mk, ls="-", elinewidth=1)
        entries.append((0, 0, Q, h, f"SESM, {Q} levels (ours)"))
        paper = [result.paper_rate(m, Q) for m in sesm]
        if all(p is not None for p in paper):
            (h,) = ax.plot([p[0] for p in paper], [p[1] for p in paper], color=_COLORS["sesm"], marker=mk, mfc="none",
                           ls="--")
            entries.append((1, 0, Q, h, f"SESM, {Q} levels (paper)"))
        for m in others:
            xy = (result.bits(m, Q), result.rmse(m, Q))
            (h,) = ax.plot([xy[0]], [xy[1]], color=_COLORS[m.kind], marker=_MARKERS[m.kind], ls="none")
            entries.append((0, kinds.index(m.kind), Q, h, f"{m.kind.upper()}, {Q} levels (ours)"))
            p = result.paper_rate(m, Q)
            if p is not None:
                (h,) = ax.plot([p[0]], [p[1]], color=_COLORS[m.kind], marker=_MARKERS[m.kind], mfc="none", ms=8,
                               ls="none")
                entries.append((1, kinds.index(m.kind), Q, h, f"{m.kind.upper()}, {Q} levels (paper)"))
            ax.annotate(str(Q), xy, fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("RMSE (sigma = sqrt of pixel std)")
    ax.set_title("RMSE against entropy (test set)")
    ax.grid(alpha=0.3)
    entries.sort(key=lambda e: e[:3])
    n_ours = sum(1 for e in entries if e[0] == 0)
    ax.legend([e[3] for e in entries], [e[4] for e in entries], fontsize=7, loc="center left",
              bbox_to_anchor=(1.01, 0.5), frameon=False, ncol=2 if 2 * n_ours == len(entries) else 1)
    fig.tight_layout()
    return fig


def plot_figure1(result, out: str | os.PathLike) -> list[Path]:
    """Write panels A, B and C as PNG and SVG into the folder ``out``; returns the paths.

    Examples
    --------
    >>> import tempfile
    >>> from sesmlib.results import Figure1Result, example_data
    >>> len(plot_figure1(Figure1Result.from_dict(example_data()), tempfile.mkdtemp()))
    6
    """
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for tag, fn in (("a", plot_panel_a), ("b", plot_panel_b), ("c", plot_panel_c)):
        fig = fn(result)
        for ext in ("png", "svg"):
            p = out / f"figure1_{tag}.{ext}"
            fig.savefig(p, dpi=120)
            paths.append(p)
        plt.close(fig)
    return paths
