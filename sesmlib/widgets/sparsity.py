"""Explorers for SESM's sparsity penalty (notebook 05).

Two explorers, each a *factory* that returns an ipywidgets box, built on plain compute
functions that are unit-tested without any widget:

- the penalty explorer: the paper's sparsity term h(z) = log(1 + l(z)^2) (eq. 8) and its
  gradient, for a chosen gain g and weight alpha_s, against three alternatives:
  L1 on l(z), L1 on z, and log(1 + z^2) (the Student-t penalty on the raw code);
  compute: :func:`penalty_curves`, picture: :func:`plot_penalties`,
  widget: :func:`penalty_explorer`;
- the sweep explorer: the models of the alpha_s sweep (1, 0.5, 0.2, 0.1, 0.05), one at a
  time: histogram of the code l(z), fraction of active units, filters, reconstructions,
  and where the model sits on the RMSE-entropy curve;
  compute: :func:`code_histogram`, :func:`sweep_summary`, picture: :func:`plot_sweep_model`,
  widget: :func:`sweep_explorer`.

Reference: Ranzato, Boureau, LeCun, "Sparse Feature Learning for Deep Belief Networks",
NIPS 2007, Sections 2-4.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch

from .. import evaluate
from .._utils import check_nonnegative, check_positive_int
from ..paper import FIGURE1 as _FIGURE1

__all__ = [
    "PENALTIES",
    "penalty_curves",
    "plot_penalties",
    "penalty_explorer",
    "code_histogram",
    "sweep_summary",
    "plot_sweep_model",
    "plot_rate_distortion",
    "place_labels",
    "sweep_explorer",
    "PAPER_SESM_RATE_DISTORTION",
]

#: The paper's SESM points of Fig. 1-C (test set), (bits per pixel, RMSE) for alpha_s =
#: 1, 0.5, 0.2, 0.1, 0.05 in that order, per number of quantisation levels, taken from
#: :data:`sesmlib.paper.FIGURE1` (digitised from the figure, about +-0.05 points).
PAPER_SESM_RATE_DISTORTION: dict[int, list[tuple[float, float]]] = {
    int(q): list(zip(v["bits_per_pixel"], v["rmse"])) for q, v in _FIGURE1["panel_c"]["sesm"].items()
}

# key -> label drawn in the legend. Every penalty is per code unit and scaled by alpha_s.
PENALTIES: dict[str, str] = {
    "h": r"SESM: $\log(1 + l(z)^2)$",
    "l1_logistic": r"L1 on $l(z)$: $|l(z)|$",
    "l1_z": r"L1 on $z$: $|z|$",
    "log_z2": r"$\log(1 + z^2)$ on $z$",
}

_SHORT = {"h": "SESM log(1+l(z)^2)", "l1_logistic": "L1 on l(z)", "l1_z": "L1 on z", "log_z2": "log(1+z^2)"}

# ------------------------------------------------------------------------ penalty: compute


def _penalty_value_and_grad(key: str, z: torch.Tensor, gain: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One penalty per unit and its derivative d/dz, in closed form.

    With l = l(z) = 1 / (1 + exp(-g z)) and l'(z) = g l (1 - l):

    - h:           log(1 + l^2),  d/dz = 2 l l' / (1 + l^2)
    - l1_logistic: |l| = l,       d/dz = l'          (l > 0 everywhere)
    - l1_z:        |z|,           d/dz = sign(z)     (subgradient 0 at z = 0)
    - log_z2:      log(1 + z^2),  d/dz = 2 z / (1 + z^2)
    """
    lz = torch.sigmoid(gain * z)  # l(z), (P,)
    dl = gain * lz * (1.0 - lz)  # l'(z), (P,)
    if key == "h":
        return torch.log1p(lz**2), 2.0 * lz * dl / (1.0 + lz**2)
    if key == "l1_logistic":
        return lz, dl
    if key == "l1_z":
        return z.abs(), torch.sign(z)
    if key == "log_z2":
        return torch.log1p(z**2), 2.0 * z / (1.0 + z**2)
    raise ValueError(f"penalties: unknown penalty {key!r}; choose from {', '.join(PENALTIES)}")


def penalty_curves(
    z: torch.Tensor | None = None,
    *,
    gain: float = 7.0,
    alpha_s: float = 0.2,
    penalties: tuple[str, ...] | list[str] | None = None,
    z_range: tuple[float, float] = (-1.0, 1.0),
    n_points: int = 401,
) -> dict[str, Any]:
    """The sparsity penalty of SESM and three alternatives, with their gradients.

    For each penalty p the per-unit value alpha_s * p(z) and its derivative
    alpha_s * dp/dz are returned, on a grid of code values z. SESM's penalty (eq. 8,
    h(Z) = sum_i log(1 + l(z_i)^2)) acts on the logistic l(z) = 1 / (1 + exp(-g z)):
    it is bounded (at most log 2 per unit) and its gradient vanishes both for strongly
    negative z (an "off" unit is left alone) and for strongly positive z (an "on" unit
    is not shrunk), unlike L1 on z, which pulls every unit towards 0 with the same force.

    Parameters
    ----------
    z : 1-D tensor, optional
        The code values to evaluate at. Default: ``n_points`` values evenly spaced
        over ``z_range``.
    gain : float
        The logistic's gain g (> 0); the paper uses 7.
    alpha_s : float
        The weight of the sparsity term (>= 0); the paper's filters use 0.2.
    penalties : sequence of str, optional
        Keys of :data:`PENALTIES` to compute; default all four.
    z_range : (float, float)
        Grid limits when ``z`` is not given (lo < hi).
    n_points : int
        Grid size when ``z`` is not given.

    Returns
    -------
    dict
        ``{"z": (P,), "value": {key: (P,)}, "grad": {key: (P,)}, "gain": g,
        "alpha_s": alpha_s, "labels": {key: label}}``, float64 tensors on the CPU.

    Examples
    --------
    >>> c = penalty_curves(torch.tensor([0.0]), gain=7.0, alpha_s=1.0)
    >>> round(float(c["value"]["h"][0]), 4)  # log(1 + 0.5^2)
    0.2231
    """
    gain = check_nonnegative("gain", gain, positive=True)
    alpha_s = check_nonnegative("alpha_s", alpha_s)
    if z is None:
        n_points = check_positive_int("n_points", n_points)
        lo, hi = (float(v) for v in z_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"z_range must be two finite numbers lo < hi, got {z_range!r}")
        z = torch.linspace(lo, hi, n_points, dtype=torch.float64)
    else:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if not z.is_floating_point():
            raise TypeError(f"z must have a floating dtype, got {z.dtype}")
        if not torch.isfinite(z).all():
            raise ValueError("z contains NaN or Inf values")
        z = z.detach().to("cpu", torch.float64).reshape(-1)
    keys = list(PENALTIES) if penalties is None else list(penalties)
    for k in keys:
        if k not in PENALTIES:
            raise ValueError(f"penalties: unknown penalty {k!r}; choose from {', '.join(PENALTIES)}")
    value, grad = {}, {}
    for k in keys:
        v, g = _penalty_value_and_grad(k, z, gain)
        value[k], grad[k] = alpha_s * v, alpha_s * g
    return {
        "z": z,
        "value": value,
        "grad": grad,
        "gain": gain,
        "alpha_s": alpha_s,
        "labels": {k: PENALTIES[k] for k in keys},
    }


# ------------------------------------------------------------------------ penalty: picture


def plot_penalties(curves: Mapping[str, Any], axes=None):
    """Draw the values (left) and gradients (right) returned by :func:`penalty_curves`.

    SESM's penalty is drawn thick; one legend for both panels sits below them, off the
    curves.

    Returns the matplotlib Figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = plot_penalties(penalty_curves())
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.0), layout="constrained")
    else:
        fig = axes[0].figure
    z = curves["z"].numpy()
    a, g = curves["alpha_s"], curves["gain"]
    for k, label in curves["labels"].items():
        lw = 3.0 if k == "h" else 1.5
        axes[0].plot(z, curves["value"][k].numpy(), lw=lw, label=label)
        axes[1].plot(z, curves["grad"][k].numpy(), lw=lw, label=label)
    axes[0].set(xlabel="code value z", ylabel=r"$\alpha_s \times$ penalty", title=f"penalty (g = {g:g}, alpha_s = {a:g})")
    axes[1].set(xlabel="code value z", ylabel="d penalty / dz", title="gradient: the force pushing z")
    for ax in axes:
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
    lim = max(1e-12, max(float(v.max()) for v in curves["value"].values()))
    axes[0].set_ylim(-0.05 * lim, 1.05 * lim)
    handles, labels = axes[0].get_legend_handles_labels()  # one legend for both panels, below them
    constrained = type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    fig.legend(handles, labels, fontsize=8, ncol=len(labels), frameon=False,
               **({"loc": "outside lower center"} if constrained else {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0)}))
    return fig


# ------------------------------------------------------------------------ penalty: widget


def penalty_explorer(*, gain: float = 7.0, alpha_s: float = 0.2, z_range: tuple[float, float] = (-1.0, 1.0)):
    """A widget: sliders for the gain g and alpha_s, check boxes for the penalties,
    and the picture of :func:`plot_penalties`.

    What to look for: SESM's gradient is a bump around z = 0 whose width shrinks as g
    grows; far from 0 it is zero, so a unit that is clearly off or clearly on feels no
    force, while L1 on z pushes every unit with the same force alpha_s.

    Returns an ``ipywidgets.VBox`` (display it, or leave it as a cell's last value).

    Examples
    --------
    >>> box = penalty_explorer()  # in a notebook: shows the sliders and the picture  # doctest: +SKIP
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    gain_s = W.FloatSlider(value=gain, min=0.5, max=20.0, step=0.5, description="gain g", continuous_update=False)
    alpha_w = W.FloatLogSlider(value=alpha_s, base=10, min=-2, max=0, step=0.05, description="alpha_s", continuous_update=False)
    boxes = {k: W.Checkbox(value=True, description=_SHORT[k], indent=False) for k in PENALTIES}
    boxes["h"].disabled = True  # SESM's penalty is always drawn
    out = W.Output()

    def redraw(*_):
        keys = [k for k, b in boxes.items() if b.value]
        curves = penalty_curves(gain=gain_s.value, alpha_s=alpha_w.value, penalties=keys, z_range=z_range)
        with out:
            out.clear_output(wait=True)
            fig = plot_penalties(curves)
            plt.show()
            plt.close(fig)

    for w in (gain_s, alpha_w, *boxes.values()):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([gain_s, alpha_w]), W.HBox(list(boxes.values())), out])


# ------------------------------------------------------------------------ sweep: compute


def code_histogram(codes: torch.Tensor, *, n_bins: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Histogram of code values l(z) in [0, 1], pooled over samples and units.

    Parameters
    ----------
    codes : tensor (P, M)
        Codes after the logistic, in [0, 1].
    n_bins : int
        Equal-width bins over [0, 1].

    Returns
    -------
    edges : tensor (n_bins + 1,)
    fractions : tensor (n_bins,)
        Fraction of all P * M values in each bin (sums to 1).

    Examples
    --------
    >>> edges, frac = code_histogram(torch.tensor([[0.0, 0.1, 0.9, 1.0]]), n_bins=2)
    >>> frac.tolist()
    [0.5, 0.5]
    """
    n_bins = check_positive_int("n_bins", n_bins)
    if not isinstance(codes, torch.Tensor) or not codes.is_floating_point():
        raise TypeError(f"codes must be a floating torch.Tensor, got {type(codes).__name__}")
    if codes.dim() != 2 or codes.numel() == 0:
        raise ValueError(f"codes must be a non-empty (P, M) matrix, got shape {tuple(codes.shape)}")
    c = codes.detach().to("cpu", torch.float64).reshape(-1)
    if not torch.isfinite(c).all() or float(c.min()) < 0 or float(c.max()) > 1:
        raise ValueError("codes must lie in [0, 1] (codes after the logistic, model.code(X))")
    counts = torch.histc(c, bins=n_bins, min=0.0, max=1.0)  # the last bin includes 1
    return torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64), counts / c.numel()


def sweep_summary(
    models: Mapping[float, Any],
    X: torch.Tensor,
    *,
    n_show: int = 8,
    n_bins: tuple[int, ...] = (5, 256),
    hist_bins: int = 20,
    threshold: float = 0.5,
) -> dict[float, dict[str, Any]]:
    """Everything the sweep explorer shows, for each model of an alpha_s sweep.

    Parameters
    ----------
    models : mapping alpha_s -> SESM
        The trained models (e.g. ``{a: run.model for a, run in zoo.trained_sweep().items()}``).
    X : tensor (P, N)
        Test digits (on the models' device).
    n_show : int
        Digits whose reconstructions are kept.
    n_bins : tuple of int
        Quantisation levels Q for the RMSE-entropy points (the paper: 5 and 256).
    hist_bins : int
        Bins of the code histogram.
    threshold : float
        A unit is active when l(z) > threshold (0.5: the logistic's midpoint).

    Returns
    -------
    dict alpha_s -> dict with
        "hist": (edges, fractions) of the code values (:func:`code_histogram`);
        "active": mean fraction of active units per digit;
        "unit_activity": (M,) fraction of digits on which each unit is active;
        "filters": W (N, M) on the CPU;
        "originals", "reconstructions": (n_show, N) on the CPU, reconstructions
        f_dec(f_enc(Y)) clamped to [0, 1] for display;
        "bits_per_pixel", "rmse": dicts Q -> float, from the quantised code
        (:func:`sesmlib.evaluate.rate_distortion`).

    Examples
    --------
    >>> from sesmlib.sesm import SESM
    >>> ms = {a: SESM(784, 8, alpha_s=a, seed=0, device="cpu") for a in (1.0, 0.2)}
    >>> s = sweep_summary(ms, torch.rand(50, 784), n_show=3)
    >>> sorted(s), round(sum(s[1.0]["hist"][1].tolist()), 6)
    ([0.2, 1.0], 1.0)
    """
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty mapping alpha_s -> SESM")
    n_show = check_positive_int("n_show", n_show)
    threshold = check_nonnegative("threshold", threshold)
    bins = tuple(check_positive_int("n_bins", q) for q in n_bins)
    out: dict[float, dict[str, Any]] = {}
    for alpha, model in models.items():
        Xm = X.to(model.W.device)
        with torch.no_grad():
            codes = model.code(Xm)  # (P, M) in (0, 1)
            on = (codes > threshold).to(torch.float64)  # (P, M)
            Y = Xm[:n_show]
            recon = model.reconstruct(Y).clamp(0, 1)  # (n_show, N)
        rd = evaluate.rate_distortion(model, Xm, bins, (0.0, 1.0), codes=codes)  # Q -> RatePoint
        out[float(alpha)] = {
            "hist": code_histogram(codes, n_bins=hist_bins),
            "active": float(on.mean()),
            "unit_activity": on.mean(0).cpu(),
            "filters": model.W.detach().cpu(),
            "originals": Y.detach().cpu(),
            "reconstructions": recon.detach().cpu(),
            "bits_per_pixel": {q: rd[q].bits_per_pixel for q in bins},
            "rmse": {q: rd[q].rmse for q in bins},
        }
    return out


# ------------------------------------------------------------------------ sweep: pictures


def plot_rate_distortion(summary: Mapping[float, Mapping[str, Any]], *, highlight: float | None = None, paper: Mapping | None = None, ax=None):
    """RMSE against bits per pixel, one curve per number of quantisation levels Q, one
    point per alpha_s (the paper's Fig. 1-C for SESM); ``highlight`` circles one alpha_s,
    and ``paper`` ({Q: [(bits, rmse), ...]}) draws the paper's points beside ours.

    Each of our points is labelled with its alpha_s, the labels placed so that they
    overlap neither each other nor a point (:func:`place_labels`); the legend sits below
    the axes, off the data.

    Returns the Axes.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> s = {1.0: {"bits_per_pixel": {5: 0.1}, "rmse": {5: 0.3}}, 0.2: {"bits_per_pixel": {5: 0.2}, "rmse": {5: 0.2}}}
    >>> ax = plot_rate_distortion(s, highlight=0.2)
    >>> sorted(t.get_text() for t in ax.texts)
    ['0.2', '1']
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.6), layout="constrained")
    alphas = sorted(summary, reverse=True)
    levels = sorted({q for a in alphas for q in summary[a]["rmse"]})
    points, labels, colors, circles = [], [], [], []
    for i, q in enumerate(levels):
        xs = [summary[a]["bits_per_pixel"][q] for a in alphas]
        ys = [summary[a]["rmse"][q] for a in alphas]
        ax.plot(xs, ys, "o-", color=f"C{i}", label=f"ours, {q} levels")
        points += list(zip(xs, ys))
        labels += [f"{a:g}" for a in alphas]
        colors += [f"C{i}"] * len(alphas)
        if highlight is not None and highlight in summary:
            hx, hy = summary[highlight]["bits_per_pixel"][q], summary[highlight]["rmse"][q]
            ax.plot(hx, hy, "o", ms=14, mfc="none", mec="k", mew=2)
            circles.append((hx, hy, 8.0))
        if paper and q in paper:
            px, py = zip(*paper[q])
            ax.plot(px, py, "x--", color=f"C{i}", alpha=0.6, label=f"paper, {q} levels")
            points += list(zip(px, py))  # kept clear of labels too
            labels += [None] * len(px)
            colors += [None] * len(px)
    ax.set(xlabel="entropy (bits per pixel)", ylabel="RMSE (sigma = sqrt of the pixel std)",
           title="RMSE vs entropy (labels: alpha_s)")
    ax.margins(0.12)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    for line in ax.get_lines():  # the labels stay off the curves too: points along every segment
        xs, ys = line.get_xdata(), line.get_ydata()
        for k in range(len(xs) - 1):
            for t in (0.2, 0.35, 0.5, 0.65, 0.8):
                circles.append((xs[k] + t * (xs[k + 1] - xs[k]), ys[k] + t * (ys[k + 1] - ys[k]), 2.0))
    place_labels(ax, points, labels, colors=colors, fontsize=7, keep_clear=circles)
    return ax


def place_labels(ax, points, labels, *, colors=None, fontsize: float = 7, gap: float = 3.0,
                 keep_clear: Sequence[tuple[float, float, float]] = ()) -> list:
    """Write ``labels[k]`` next to ``points[k]`` (data coordinates) so that no two labels
    overlap and no label covers a point; a None label is not written but its point is
    kept clear, and so is every circle ``(x, y, radius in points)`` of ``keep_clear``
    (a large marker drawn around a point).

    Greedy: for each label, the first of 16 positions around its point (near ones first)
    whose box, in display pixels, meets no box already placed and no marker, and is nearer
    its own point than any other (so that a reader pairs label and point as intended; if
    no position is both free and unambiguous, the first free one). The figure
    is laid out first and the axes' limits fixed, so that the labels are placed for the
    picture as it will be drawn: call this last, once everything else is on the figure.
    Returns the Text objects.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 0.01, 1], [0, 0.01, 1], "o")
    >>> texts = place_labels(ax, [(0, 0), (0.01, 0.01), (1, 1)], ["0.1", "0.05", "1"])
    >>> boxes = [t.get_window_extent() for t in texts]
    >>> bool(boxes[0].overlaps(boxes[1]))
    False
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.canvas.draw()  # autoscaling and the layout engine settle where everything goes
    ax.set_xlim(ax.get_xlim())  # freeze the limits the labels are placed for
    ax.set_ylim(ax.get_ylim())
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    r = 4.0 * fig.dpi / 72.0  # half a marker, in pixels
    placed = [Bbox.from_bounds(x - r, y - r, 2 * r, 2 * r) for x, y in (to_px(p) for p in points)]
    for x0, y0, radius in keep_clear:
        x, y = to_px((x0, y0))
        rr = radius * fig.dpi / 72.0
        placed.append(Bbox.from_bounds(x - rr, y - rr, 2 * rr, 2 * rr))
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    offsets = [(d * dx, d * dy) for d in (gap, 3 * gap) for dx, dy in directions]
    pixels = [to_px(p) for p in points]

    def gap_to(box, xy) -> float:  # distance in pixels from a point to a box (0 inside)
        return math.hypot(max(box.x0 - xy[0], 0.0, xy[0] - box.x1), max(box.y0 - xy[1], 0.0, xy[1] - box.y1))

    texts = []
    for k, (p, label) in enumerate(zip(points, labels)):
        if label is None:
            continue
        color = colors[k] if colors else None
        best = free = None
        for dx, dy in offsets:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            t = ax.annotate(label, p, textcoords="offset points", xytext=(dx, dy), ha=ha, va=va,
                            fontsize=fontsize, color=color)
            box = t.get_window_extent(renderer).expanded(1.08, 1.15)
            if not any(box.overlaps(b) for b in placed):
                own = gap_to(box, pixels[k])
                if all(gap_to(box, xy) > own for j, xy in enumerate(pixels) if j != k):
                    best = (t, box)
                    break
                if free is None:
                    free = (t, box)
                    continue
            t.remove()
        if best is None and free is not None:
            best = free
        elif free is not None and free is not best:
            free[0].remove()
        if best is None:  # nowhere free: the nearest position, drawn anyway
            dx, dy = offsets[0]
            t = ax.annotate(label, p, textcoords="offset points", xytext=(dx, dy), ha="left", va="bottom",
                            fontsize=fontsize, color=color)
            best = (t, t.get_window_extent(renderer))
        placed.append(best[1])
        texts.append(best[0])
    return texts


def plot_sweep_model(summary: Mapping[float, Mapping[str, Any]], alpha_s: float, *, paper: Mapping | None = None, n_filters: int = 60):
    """One model of the sweep: code histogram, activity of each unit, where it sits on the
    RMSE-entropy curve, the filters of the ``n_filters`` most used units, and some
    reconstructions. Returns the Figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sesmlib.sesm import SESM
    >>> ms = {a: SESM(784, 8, alpha_s=a, seed=0, device="cpu") for a in (1.0, 0.2)}
    >>> fig = plot_sweep_model(sweep_summary(ms, torch.rand(50, 784), n_show=3), 0.2)
    """
    import matplotlib.pyplot as plt

    from ..plotting import filter_grid, image_grid

    if alpha_s not in summary:
        raise ValueError(f"alpha_s={alpha_s} is not in the sweep; choose from {sorted(summary)}")
    s = summary[alpha_s]
    fig = plt.figure(figsize=(13, 7.6), layout="constrained")
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1])
    ax_h, ax_u, ax_rd = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[0, 2])
    ax_f, ax_r = fig.add_subplot(gs[1, :2]), fig.add_subplot(gs[1, 2])

    edges, frac = s["hist"]
    ax_h.bar(edges[:-1].numpy(), frac.numpy(), width=float(edges[1] - edges[0]), align="edge")
    ax_h.set(yscale="log", xlabel="code value l(z)", ylabel="fraction of values",
             title=f"code histogram, alpha_s = {alpha_s:g}")

    act = torch.sort(s["unit_activity"], descending=True).values
    ax_u.plot(act.numpy())
    ax_u.axhline(s["active"], color="k", ls="--", lw=0.8)
    ax_u.set(xlabel="code unit (sorted)", ylabel="fraction of digits where active", ylim=(0, 1),
             title=f"how often each unit is on (l(z) > 0.5)\ndashed: the mean, {s['active']:.3f}")

    order = torch.argsort(s["unit_activity"], descending=True)[:n_filters]  # the most used units
    W = s["filters"][:, order]
    ax_f.imshow(filter_grid(W, ncols=min(15, W.shape[1])), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_f.set_axis_off()
    ax_f.set_title(f"the filters of the {W.shape[1]} most used units")
    n = len(s["originals"])
    half = max(1, n // 2)  # two pairs of rows: originals above their reconstructions
    o, r = s["originals"], s["reconstructions"]
    rows = torch.cat([o[:half], r[:half], o[half : 2 * half], r[half : 2 * half]])
    ax_r.imshow(image_grid(rows, ncols=half), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_r.set_axis_off()
    ax_r.set_title("test digits, each above its reconstruction")
    plot_rate_distortion(summary, highlight=alpha_s, paper=paper, ax=ax_rd)  # last: its labels need the final layout
    return fig


# ------------------------------------------------------------------------ sweep: widget


def sweep_explorer(summary: Mapping[float, Mapping[str, Any]], *, paper: Mapping | None = None, value: float | None = None):
    """A widget: pick alpha_s from the sweep and see :func:`plot_sweep_model` for it.

    The slider runs from the smallest alpha_s (left) to the largest (right), so moving it
    right means more sparsity.

    What to look for: as alpha_s grows, the histogram piles up at l(z) = 0, fewer units are
    active per digit and the busiest units lose most (the usage curve flattens), each
    active unit's filter draws a larger part of a digit (at alpha_s = 1 many are
    whole-digit templates), the reconstructions blur, and the point slides left (fewer
    bits) and up (more error) on the RMSE-entropy curve.

    Parameters
    ----------
    summary : the output of :func:`sweep_summary` (computed once; the widget only redraws).
    paper : optional {Q: [(bits, rmse), ...]}, the paper's points.
    value : the alpha_s shown first (default: 0.2 when present, else the first).

    Examples
    --------
    >>> from sesmlib.sesm import SESM
    >>> ms = {a: SESM(784, 8, alpha_s=a, seed=0, device="cpu") for a in (1.0, 0.2)}
    >>> box = sweep_explorer(sweep_summary(ms, torch.rand(50, 784), n_show=3))  # doctest: +SKIP
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    if not summary:
        raise ValueError("summary must hold at least one model")
    options = sorted(summary)  # left to right: from the weakest sparsity weight to the strongest
    if value is None:
        value = 0.2 if 0.2 in summary else options[0]
    pick = W.SelectionSlider(options=[(f"{a:g}", a) for a in options], value=value, description="alpha_s",
                             continuous_update=False, layout=W.Layout(width="420px"))
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plot_sweep_model(summary, pick.value, paper=paper)
            plt.show()
            plt.close(fig)

    pick.observe(redraw, names="value")
    redraw()
    return W.VBox([pick, out])
