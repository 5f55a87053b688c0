"""Explorers and pictures for notebooks 01 and 03: energies over the plane.

- Notebook 01, the inverse temperature beta: :func:`beta_panels` (compute),
  :func:`plot_beta_panels` (picture), :func:`beta_explorer` (widget). What to look for:
  at small beta the density P(Y) is a wide blur and F_beta is shifted far below F_inf; as beta
  grows the density concentrates on the ellipse and F_beta approaches F_inf(Y) = min_z E.
- Notebook 03, why sparsity replaces the log-partition term: :func:`sesm_toy_surface`
  trains a SESM on 2-D clustered data and computes its energy over the plane,
  ``F(y) = min_Z E(y, Z) + alpha_s h(Z)`` (the quantity inference minimises, eq. 8 without
  the constant L1 term), and the volume of low energy; :func:`plot_sesm_toy` draws it;
  :func:`sesm_toy_explorer` is the alpha_s / gain widget.
- Notebook 03, why symmetry: :func:`rescaling_curves` measures the loss along the
  direction "decoder filters x s, codes / s" for an untied auto-encoder and along
  "W x s" for the tied SESM.

Reference: Ranzato, Boureau, LeCun, "Sparse Feature Learning for Deep Belief Networks",
NIPS 2007, Sections 2-3.
"""
from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Mapping, Sequence

import torch

from .. import energy as en
from .._engine import cpu_threads
from .._utils import check_nonnegative, check_positive_int

__all__ = [
    "beta_panels",
    "plot_beta_panels",
    "beta_explorer",
    "sesm_toy_surface",
    "plot_sesm_toy",
    "sesm_toy_explorer",
    "rescaling_curves",
    "plot_rescaling",
]

# ---------------------------------------------------------------- notebook 01: beta


def beta_panels(model: en.EllipseEnergy, beta: float, *, lim: float = 3.0, n: int = 81, n_z: int = 128) -> dict[str, Any]:
    """The free energy ``F_beta(Y)``, the density ``P(Y) = exp(-beta F_beta(Y)) / Z_beta`` and the
    zero-temperature ``F_inf(Y)`` of an :class:`~sesmlib.energy.EllipseEnergy` over the square
    ``[-lim, lim]^2`` (an ``n x n`` grid; the latent angle on ``n_z`` points).

    Returns
    -------
    dict
        ``F`` (n, n), ``P`` (n, n), ``F_inf`` (n, n), ``xs``, ``ys`` (n,), ``beta``,
        ``cell_area``, ``log_Z`` (float, log of the partition function on the grid), and
        ``gap`` (float, the largest |F_beta - F_inf| on the grid).

    Examples
    --------
    >>> from sesmlib.energy import EllipseEnergy
    >>> p = beta_panels(EllipseEnergy(), beta=2.0, n=21, n_z=32)
    >>> p["P"].shape, round(float(p["P"].sum() * p["cell_area"]), 4)
    (torch.Size([21, 21]), 1.0)
    """
    beta = en.check_beta(beta, allow_inf=False)
    lim = check_nonnegative("lim", lim, positive=True)
    dev, dt = model.A.device, model.A.dtype
    with torch.no_grad():
        F, xs, ys, da = en.evaluate_on_plane(lambda Y: model.free_energy(Y, beta, n_z=n_z), (-lim, lim), (-lim, lim), n, dtype=dt, device=dev)
        z = model.z_grid(n_z, dtype=dt, device=dev)
        F_inf, _, _, _ = en.evaluate_on_plane(lambda Y: en.free_energy_inf(model.energy(Y, z)), (-lim, lim), (-lim, lim), n, dtype=dt, device=dev)
    F, F_inf, xs, ys = F.cpu(), F_inf.cpu(), xs.cpu(), ys.cpu()
    P = en.density_from_free_energy(F, beta, cell_area=da)
    log_Z = float(en.log_partition(F, beta, cell=da))
    return {"F": F, "P": P, "F_inf": F_inf, "xs": xs, "ys": ys, "beta": beta, "cell_area": da,
            "log_Z": log_Z, "gap": float((F - F_inf).abs().max())}


def plot_beta_panels(panels: Mapping[str, Any], Y: torch.Tensor | None = None, axes=None):
    """Draw :func:`beta_panels`: the density P(Y) (left) and F_beta(Y) - against F_inf(Y)
    along the horizontal line y = 0 (right). Returns the Figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sesmlib.energy import EllipseEnergy
    >>> fig = plot_beta_panels(beta_panels(EllipseEnergy(), 1.0, n=21, n_z=32))
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    else:
        fig = axes[0].figure
    xs, ys = panels["xs"].cpu().numpy(), panels["ys"].cpu().numpy()
    ext = (xs[0], xs[-1], ys[0], ys[-1])
    b = panels["beta"]
    im = axes[0].imshow(panels["P"].cpu().numpy(), origin="lower", extent=ext, cmap="magma")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    axes[0].set_title(f"density P(Y), beta = {b:.3g}")
    im = axes[1].imshow(panels["F"].cpu().numpy(), origin="lower", extent=ext, cmap="viridis")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    axes[1].set_title(r"free energy $F_\beta(Y)$")
    if Y is not None:
        for ax in axes[:2]:
            ax.plot(Y[:, 0].cpu(), Y[:, 1].cpu(), ".", color="white", ms=1.5, alpha=0.6)
    mid = len(ys) // 2
    axes[2].plot(xs, panels["F_inf"][mid].cpu().numpy(), "k--", label=r"$F_\infty$ = min$_z$ E")
    axes[2].plot(xs, panels["F"][mid].cpu().numpy(), label=rf"$F_\beta$, beta = {b:.3g}")
    axes[2].set(xlabel="Y1 (on the line Y2 = 0)", ylabel="free energy", title="a slice through the middle")
    axes[2].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)  # off the curves
    for ax in axes[:2]:
        ax.set(xlabel="Y1", ylabel="Y2")
    return fig


def beta_explorer(model: en.EllipseEnergy, Y: torch.Tensor | None = None, *, beta: float = 1.0, lim: float = 3.0, n: int = 61, n_z: int = 96):
    """A widget: a logarithmic slider on beta (0.05 to 100) redrawing
    :func:`plot_beta_panels`.

    What to look for: at small beta (high temperature) the density is a wide blur and
    F_beta lies far below F_inf; as beta grows the density gathers on the ellipse and the
    F_beta curve settles onto the dashed F_inf curve.

    Returns an ``ipywidgets.VBox``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sesmlib.energy import EllipseEnergy
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter the widget prints
    ...     box = beta_explorer(EllipseEnergy(), n=21, n_z=32)
    >>> type(box).__name__
    'VBox'
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    slider = W.FloatLogSlider(value=beta, base=10, min=math.log10(0.05), max=2, step=0.05, description="beta",
                              continuous_update=False)
    out = W.Output()

    def redraw(*_):
        panels = beta_panels(model, slider.value, lim=lim, n=n, n_z=n_z)
        with out:
            out.clear_output(wait=True)
            fig = plot_beta_panels(panels, Y)
            plt.show()
            plt.close(fig)

    slider.observe(redraw, names="value")
    redraw()
    return W.VBox([slider, out])


# ------------------------------------------------------- notebook 03: sparsity in 2-D

TOY_LIM = (-0.2, 2.2)


@functools.lru_cache(maxsize=32)
def _trained_toy(alpha_s: float, gain: float, n_code: int, epochs: int, n_points: int, seed: int):
    from ..sesm import SESM

    Y, _ = en.blob_data(n_points, seed=seed)
    model = SESM(2, n_code, gain=gain, alpha_s=alpha_s, alpha_r=0.0, seed=seed, device="cpu")
    # Start with filters of the data's scale (|w| ~ 0.3) rather than the library's
    # N(0, 0.01^2), which is sized for 784-pixel inputs: in 2-D it would leave every unit
    # undecided for many epochs.
    model.W = model.W * 30.0
    with cpu_threads(1):  # the toy's 2 x 8 products: one thread is 5-10x faster
        hist = model.fit(Y, epochs=epochs, batch_size=10, lr=0.1, lr_decay=1.0, momentum=0.9, center=True, infer_steps=20,
                         infer_step_size=0.1, seed=seed, progress=False)
    return model, Y, hist


def sesm_toy_surface(
    alpha_s: float,
    gain: float = 7.0,
    *,
    n_code: int = 8,
    epochs: int = 100,
    n_points: int = 500,
    n: int = 61,
    infer_steps: int = 50,
    seed: int = 0,
) -> dict[str, Any]:
    """Train a SESM on 2-D clustered data (:func:`sesmlib.energy.blob_data`) and compute
    its energy over the plane.

    The surface is ``F(y) = min_Z [E(y, Z) + alpha_s h(Z)]`` (eq. 8 without the L1 term,
    which does not depend on y), with Z found by :meth:`SESM.infer_code`
    (``infer_steps`` steps of 0.1 from the encoder's prediction). The "volume of low
    energy" is the fraction of the window ``[-0.2, 2.2]^2`` where F is at most the 90th
    percentile of F over the training points: the region the model treats as at least
    as plausible as most of its data.

    Settings (not the paper's, which are for MNIST): 8 code units, alpha_r = 0 (no L1
    on W: with 2 inputs it only slows learning), filters started at N(0, 0.3^2), minibatches
    of 10 with momentum 0.9 and centred encoder steps (:meth:`SESM.fit`'s minibatch path),
    learning rate 0.1 without decay, 20 inference steps of 0.1 during training. The toy
    runs on the cpu (its products are 2 x 8), on one thread.
    Models are cached in memory, so moving a widget back to a setting is instant.

    Returns
    -------
    dict
        ``F`` (n, n), ``xs``, ``ys``, ``Y`` (the data), ``F_data`` (F on the data),
        ``threshold``, ``volume`` (fraction of the window), ``prototypes`` (M, 2): the
        decoder's output with one unit fully on (``b_dec + w_i``), ``b_dec`` (2,),
        ``active`` (mean fraction of units with l(z) > 0.5 on the data), ``loss``
        (training loss per epoch), ``alpha_s``, ``gain``.

    Examples
    --------
    >>> r = sesm_toy_surface(0.1, epochs=2, n_points=50, n=11)
    >>> r["F"].shape, 0.0 <= r["volume"] <= 1.0
    (torch.Size([11, 11]), True)
    """
    alpha_s = check_nonnegative("alpha_s", alpha_s)
    gain = check_nonnegative("gain", gain, positive=True)
    n_code = check_positive_int("n_code", n_code)
    epochs = check_positive_int("epochs", epochs)
    n_points = check_positive_int("n_points", n_points)
    infer_steps = check_positive_int("infer_steps", infer_steps)
    from ..sesm import logistic

    model, Y, hist = _trained_toy(alpha_s, gain, n_code, epochs, n_points, seed)

    def surface(P):
        Z = model.infer_code(P, steps=infer_steps, step_size=0.1)
        return model.energy(P, Z) + alpha_s * model.sparsity(Z)

    with torch.no_grad(), cpu_threads(1):
        F, xs, ys, da = en.evaluate_on_plane(surface, TOY_LIM, TOY_LIM, n)
        F_data = surface(Y)
        threshold = float(torch.quantile(F_data, 0.9))
        Z = model.infer_code(Y, steps=infer_steps, step_size=0.1)
        active = float((logistic(Z, gain) > 0.5).float().mean())
    return {
        "F": F, "xs": xs, "ys": ys, "Y": Y, "F_data": F_data, "threshold": threshold,
        "volume": en.low_energy_volume(F, threshold, relative=True),
        "prototypes": (model.W.T + model.b_dec).clone(), "b_dec": model.b_dec.clone(),
        "active": active, "loss": list(hist["loss"]), "alpha_s": alpha_s, "gain": gain,
    }


def plot_sesm_toy(result: Mapping[str, Any], ax=None, *, vmax: float | None = None, colorbar: bool = True):
    """Draw :func:`sesm_toy_surface`: F over the plane (dark = low), the data (white dots),
    the region of low energy (red contour), the one-unit reconstructions ``b_dec + w_i``
    (red crosses) and ``b_dec`` (red circle, the all-off code). Returns the Axes.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_sesm_toy(sesm_toy_surface(0.1, epochs=2, n_points=50, n=11))
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    xs, ys = result["xs"].numpy(), result["ys"].numpy()
    F = result["F"].numpy()
    if vmax is None:
        vmax = float(torch.quantile(result["F"].reshape(-1), 0.95))
    im = ax.imshow(F, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap="viridis", vmin=0, vmax=vmax)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if F.min() < result["threshold"] < F.max():
        ax.contour(xs, ys, F, levels=[result["threshold"]], colors="red", linewidths=1.2)
    Y = result["Y"]
    ax.plot(Y[:, 0], Y[:, 1], ".", color="white", ms=1.5, alpha=0.7)
    P = result["prototypes"]
    ax.plot(P[:, 0], P[:, 1], "+", color="red", ms=8, mew=2)
    ax.plot(float(result["b_dec"][0]), float(result["b_dec"][1]), "o", color="red", ms=6)
    ax.set(xlim=TOY_LIM, ylim=TOY_LIM, xlabel="y1", ylabel="y2",
           title=f"alpha_s = {result['alpha_s']:g}, g = {result['gain']:g}: low volume {result['volume']:.2f}")
    return ax


def sesm_toy_explorer(alphas: Sequence[float] = (0.0, 0.02, 0.1, 0.3), gains: Sequence[float] = (1.0, 3.0, 7.0), *,
                      alpha_s: float | None = None, gain: float = 7.0, **surface_kwargs):
    """A widget: choose alpha_s and the gain g; a SESM is trained on the 2-D clusters
    (a few seconds the first time, cached after) and its energy surface drawn with
    :func:`plot_sesm_toy`.

    What to look for: with alpha_s = 0 the dark (low-energy) region spreads between and
    around the clusters; as alpha_s grows it shrinks onto the clusters, because reaching
    a point needs active code units and every active unit costs alpha_s log 2. A small
    gain makes the code units linear and the low region spreads again.

    Returns an ``ipywidgets.VBox``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter the widget prints
    ...     box = sesm_toy_explorer(alphas=(0.0, 0.1), gains=(7.0,), epochs=2, n_points=50, n=11)
    >>> type(box).__name__
    'VBox'
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    alphas = tuple(float(a) for a in alphas)
    gains = tuple(float(g) for g in gains)
    a0 = alphas[min(1, len(alphas) - 1)] if alpha_s is None else float(alpha_s)
    a_w = W.SelectionSlider(options=alphas, value=a0 if a0 in alphas else alphas[0], description="alpha_s", continuous_update=False)
    g_w = W.SelectionSlider(options=gains, value=float(gain) if float(gain) in gains else gains[-1], description="gain g", continuous_update=False)
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            res = sesm_toy_surface(a_w.value, g_w.value, **surface_kwargs)
            fig, ax = plt.subplots(figsize=(5, 4.2))
            plot_sesm_toy(res, ax)
            plt.show()
            plt.close(fig)
            print(f"active units on the data: {100 * res['active']:.1f} %; "
                  f"volume of low energy: {100 * res['volume']:.1f} % of the window")

    a_w.observe(redraw, names="value")
    g_w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([a_w, g_w]), out])


# ------------------------------------------------------ notebook 03: why symmetry


def rescaling_curves(model, Y: torch.Tensor, scales: Sequence[float], *, infer_steps: int = 30, step_size: float = 0.1) -> dict[str, Any]:
    """The loss (eq. 8, mean over Y) along the one direction that separates tied from
    untied weights, starting from a trained SESM.

    - Untied (encoder and decoder filters free): multiply the decoder filters by s and
      divide every code ``l(z)`` by s. The reconstruction is unchanged; the sparsity
      ``alpha_s sum log(1 + l^2 / s^2)`` shrinks; the L1 term on the decoder filters grows
      by s. A free encoder can aim at the smaller codes, so its term is taken as already
      matched (this is the best case for the untied model, and the trend it shows).
      With alpha_r = 0 the loss falls forever as s grows: filters grow, codes shrink.
    - Tied (SESM): multiply W by s. The encoder's prediction grows with the filters, so
      codes cannot shrink for free; Z is re-inferred at each s and the full loss measured.

    Parameters
    ----------
    model : sesmlib.SESM (trained)
    Y : Tensor (B, N)
    scales : sequence of float > 0

    Returns
    -------
    dict with ``scales``, ``tied`` and ``untied`` (lists of mean losses), ``untied_terms``
    (dict of lists: "reconstruction", "sparsity", "l1").

    Examples
    --------
    >>> from sesmlib import SESM
    >>> m = SESM(4, 3, seed=0, device="cpu")
    >>> r = rescaling_curves(m, torch.rand(5, 4), [0.5, 1.0, 2.0], infer_steps=2)
    >>> len(r["tied"]), len(r["untied"])
    (3, 3)
    """
    from .. import sesm as S

    scales = [check_nonnegative("scales", s, positive=True) for s in scales]
    hyper = dict(gain=model.gain, alpha_e=model.alpha_e)
    with torch.no_grad():
        Z = model.infer_code(Y, steps=infer_steps, step_size=step_size)  # (B, M) at s = 1
        code = S.logistic(Z, model.gain)  # (B, M)
        c = getattr(model, "energy_scale", 1.0)  # the model's energy convention (1/2 or 1)
        rec = c * float(((Y - model.decode(Z)) ** 2).sum(1).mean())
        enc = c * float((model.alpha_e * (Z - model.encode(Y)) ** 2).sum(1).mean())
        l1 = float(model.W.abs().sum())
        tied, untied, terms = [], [], {"reconstruction": [], "sparsity": [], "l1": []}
        for s in scales:
            sp = float((model.alpha_s * torch.log1p((code / s) ** 2).sum(1)).mean())
            terms["reconstruction"].append(rec)
            terms["sparsity"].append(sp)
            terms["l1"].append(model.alpha_r * s * l1)
            untied.append(enc + rec + sp + model.alpha_r * s * l1)
            m = model.copy()
            m.W = model.W * s
            Zs = m.infer_code(Y, steps=infer_steps, step_size=step_size)
            tied.append(float(m.loss(Y, Zs).mean()))
    return {"scales": scales, "tied": tied, "untied": untied, "untied_terms": terms}


def plot_rescaling(curves: Mapping[str, Any], ax=None):
    """Draw :func:`rescaling_curves`: the loss against the filter scale s (log axis).
    Returns the Axes.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_rescaling({"scales": [0.5, 1, 2], "tied": [3, 1, 2], "untied": [3, 2, 1]})
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    s = curves["scales"]
    ax.plot(s, curves["tied"], "o-", label="tied (SESM): W x s, codes re-inferred")
    ax.plot(s, curves["untied"], "s--", label="untied: decoder filters x s, codes / s")
    ax.axvline(1.0, color="0.7", lw=0.8)
    ax.set_xscale("log")
    ax.set(xlabel="scale s of the filters", ylabel="mean loss (eq. 8)", title="the loss along the rescaling direction")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below the axes, off the curves
    return ax
