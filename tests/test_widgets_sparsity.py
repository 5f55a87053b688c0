"""The sparsity explorers of notebook 05: compute functions against hand values and
autograd, pictures and widgets built headless."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from sesmlib.widgets import sparsity as sp


# ---------------------------------------------------------------------------- penalties


def test_penalty_values_by_hand():
    z = torch.tensor([0.0, 0.5, -0.25], dtype=torch.float64)
    c = sp.penalty_curves(z, gain=2.0, alpha_s=0.5)
    lz = [1 / (1 + math.exp(-2.0 * v)) for v in (0.0, 0.5, -0.25)]
    for i, v in enumerate((0.0, 0.5, -0.25)):
        assert c["value"]["h"][i].item() == pytest.approx(0.5 * math.log(1 + lz[i] ** 2), rel=1e-12)
        assert c["value"]["l1_logistic"][i].item() == pytest.approx(0.5 * lz[i], rel=1e-12)
        assert c["value"]["l1_z"][i].item() == pytest.approx(0.5 * abs(v), abs=1e-15)
        assert c["value"]["log_z2"][i].item() == pytest.approx(0.5 * math.log(1 + v * v), abs=1e-15)


@pytest.mark.parametrize("key", list(sp.PENALTIES))
@pytest.mark.parametrize("gain", [1.0, 7.0, 15.0])
def test_penalty_gradients_match_autograd(key, gain):
    z = torch.linspace(-1.3, 1.1, 97, dtype=torch.float64)  # avoids z = 0 exactly for |z|
    c = sp.penalty_curves(z, gain=gain, alpha_s=0.3, penalties=[key])
    zz = z.clone().requires_grad_(True)
    v, _ = sp._penalty_value_and_grad(key, zz, gain)
    (g,) = torch.autograd.grad((0.3 * v).sum(), zz)
    torch.testing.assert_close(c["grad"][key], g, rtol=1e-10, atol=1e-12)


def test_sesm_penalty_is_bounded_and_spares_saturated_units():
    c = sp.penalty_curves(gain=7.0, alpha_s=1.0, z_range=(-3, 3), n_points=601)
    h, dh = c["value"]["h"], c["grad"]["h"]
    assert float(h.max()) <= math.log(2.0) + 1e-12  # bounded by log 2 per unit
    assert float(h.min()) >= 0
    far = c["z"].abs() > 2.0
    assert float(dh[far].abs().max()) < 1e-4  # no force on clearly off / on units
    # ... while L1 on z pushes with the full force alpha_s there.
    assert torch.allclose(c["grad"]["l1_z"][far].abs(), torch.ones(int(far.sum()), dtype=torch.float64))
    # the force on h grows with alpha_s linearly
    c2 = sp.penalty_curves(c["z"], gain=7.0, alpha_s=0.25, penalties=["h"])
    torch.testing.assert_close(c2["grad"]["h"], 0.25 * dh)


def test_penalty_gradient_bump_narrows_with_gain():
    def width(g):
        c = sp.penalty_curves(gain=g, alpha_s=1.0, z_range=(-2, 2), n_points=2001, penalties=["h"])
        d = c["grad"]["h"]
        above = c["z"][d > 0.5 * d.max()]  # full width at half maximum
        return float(above.max() - above.min())

    assert width(14.0) < 0.6 * width(7.0)


def test_penalty_default_grid_and_subset():
    c = sp.penalty_curves(penalties=("h", "l1_z"), n_points=11, z_range=(-2, 2))
    assert c["z"].shape == (11,) and c["z"][0] == -2 and c["z"][-1] == 2
    assert set(c["value"]) == {"h", "l1_z"} == set(c["grad"]) == set(c["labels"])


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"gain": 0.0}, ValueError, "gain"),
        ({"gain": -1.0}, ValueError, "gain"),
        ({"alpha_s": -0.1}, ValueError, "alpha_s"),
        ({"alpha_s": float("nan")}, ValueError, "alpha_s"),
        ({"gain": "7"}, TypeError, "gain"),
        ({"penalties": ["l2"]}, ValueError, "penalties"),
        ({"z_range": (1.0, -1.0)}, ValueError, "z_range"),
        ({"n_points": 0}, ValueError, "n_points"),
        ({"z": [0.0, 1.0]}, TypeError, "z"),
        ({"z": torch.tensor([0, 1])}, TypeError, "z"),
        ({"z": torch.tensor([0.0, float("inf")])}, ValueError, "z"),
    ],
)
def test_penalty_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        sp.penalty_curves(**kwargs)


def test_plot_penalties_draws_every_curve():
    c = sp.penalty_curves(penalties=["h", "l1_z"])
    fig = sp.plot_penalties(c)
    left, right = fig.axes[:2]
    assert len(left.get_lines()) >= 3 and len(right.get_lines()) >= 2  # 2 curves (+ l(z), axes lines)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_penalty_explorer_builds_and_redraws_headless():
    import ipywidgets as W

    box = sp.penalty_explorer(gain=5.0, alpha_s=0.1)
    assert isinstance(box, W.VBox)
    sliders = [w for w in box.children[0].children]
    sliders[0].value = 9.0  # triggers a redraw; must not raise
    checks = box.children[1].children
    checks[2].value = False
    assert box.children[2].outputs is not None
