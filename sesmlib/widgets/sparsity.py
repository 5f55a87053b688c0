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
from typing import Any, Mapping

import torch

from .._utils import check_nonnegative, check_positive_int

__all__ = [
    "PENALTIES",
    "penalty_curves",
    "plot_penalties",
    "penalty_explorer",
    "code_histogram",
    "sweep_summary",
    "plot_sweep_model",
    "plot_rate_distortion",
    "sweep_explorer",
]

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

    SESM's penalty is drawn thick; the logistic l(z) itself is drawn thin and grey on
    the left (scaled by alpha_s) to show where it saturates.

    Returns the matplotlib Figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = plot_penalties(penalty_curves())
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    else:
        fig = axes[0].figure
    z = curves["z"].numpy()
    a, g = curves["alpha_s"], curves["gain"]
    for k, label in curves["labels"].items():
        lw = 3.0 if k == "h" else 1.5
        axes[0].plot(z, curves["value"][k].numpy(), lw=lw, label=label)
        axes[1].plot(z, curves["grad"][k].numpy(), lw=lw, label=label)
    axes[0].plot(z, a * torch.sigmoid(g * curves["z"]).numpy(), color="0.6", lw=0.8, ls=":", label=r"$\alpha_s\, l(z)$")
    axes[0].set(xlabel="code value z", ylabel=r"$\alpha_s \times$ penalty", title=f"penalty (g = {g:g}, alpha_s = {a:g})")
    axes[1].set(xlabel="code value z", ylabel="d penalty / dz", title="gradient: the force pushing z")
    for ax in axes:
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
    lim = max(1e-12, max(float(v.max()) for v in curves["value"].values()))
    axes[0].set_ylim(-0.05 * lim, 1.05 * lim)
    axes[0].legend(fontsize=8, loc="upper left")
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
    >>> box = penalty_explorer()
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
