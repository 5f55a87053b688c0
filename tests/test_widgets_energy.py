"""sesmlib.widgets.energy: the compute functions behind notebooks 01 and 03's explorers,
and the widget factories (built headless)."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from sesmlib import SESM
from sesmlib import energy as en
from sesmlib.widgets import energy as we


def test_beta_panels_density_and_limit():
    model = en.EllipseEnergy(axes=(2.0, 1.0))
    cold = we.beta_panels(model, 50.0, lim=3.0, n=41, n_z=64)
    hot = we.beta_panels(model, 0.2, lim=3.0, n=41, n_z=64)
    for p in (cold, hot):
        assert p["P"].shape == (41, 41)
        assert float(p["P"].sum() * p["cell_area"]) == pytest.approx(1.0, abs=1e-4)
    assert cold["gap"] < hot["gap"]  # F_beta -> F_inf as beta grows
    # cold: the density sits on the ellipse (its peak is where F_inf is ~0)
    peak = cold["P"].reshape(-1).argmax()
    assert float(cold["F_inf"].reshape(-1)[peak]) < 0.05
    # the partition function is the same at any W (decoder-only energy): 2 pi * pi / beta
    assert cold["log_Z"] == pytest.approx(math.log(2 * math.pi**2 / 50.0), abs=0.05)
    with pytest.raises(ValueError, match="beta"):
        we.beta_panels(model, 0.0)


def test_plots_and_widgets_build_headless():
    model = en.EllipseEnergy()
    Y, _ = en.ellipse_data(50)
    fig = we.plot_beta_panels(we.beta_panels(model, 1.0, n=15, n_z=16), Y)
    assert len(fig.axes) >= 3
    box = we.beta_explorer(model, Y, n=15, n_z=16)
    slider = box.children[0]
    slider.value = 10.0  # redraws without error
    box = we.sesm_toy_explorer(alphas=(0.0, 0.1), gains=(7.0,), epochs=1, n_points=40, n=9)
    box.children[0].children[0].value = 0.0


def test_sesm_toy_surface_shapes_cache_and_volume():
    r = we.sesm_toy_surface(0.1, 7.0, epochs=3, n_points=100, n=15)
    assert r["F"].shape == (15, 15) and r["prototypes"].shape == (8, 2)
    assert 0.0 <= r["volume"] <= 1.0 and 0.0 <= r["active"] <= 1.0
    assert r["threshold"] == pytest.approx(float(torch.quantile(r["F_data"], 0.9)))
    assert r["volume"] == pytest.approx(float((r["F"] <= r["threshold"]).float().mean()))
    again = we.sesm_toy_surface(0.1, 7.0, epochs=3, n_points=100, n=15)
    assert torch.equal(r["F"], again["F"])  # same seed: same model (and cached)
    with pytest.raises(ValueError, match="alpha_s"):
        we.sesm_toy_surface(-1.0)


def test_sparsity_keeps_data_lower_than_empty_space():
    """With alpha_s > 0 the trained toy's energy is lower on the clusters than between them."""
    r = we.sesm_toy_surface(0.1, 7.0, epochs=30, n_points=300, n=25)
    assert float(r["F_data"].median()) < float(r["F"].median())


def test_rescaling_curves_untied_falls_tied_has_a_minimum():
    torch.manual_seed(0)
    X = (torch.rand(300, 16) < 0.3).float()
    m = SESM(16, 8, alpha_s=0.2, alpha_r=0.0, seed=0, device="cpu")
    m.fit(X, epochs=5, batch_size=10, seed=0, progress=False)
    r = we.rescaling_curves(m, X[:100], [0.25, 1.0, 4.0, 16.0])
    untied = r["untied"]
    assert all(a > b for a, b in zip(untied, untied[1:]))  # alpha_r = 0: falls forever
    assert r["tied"][1] < r["tied"][0] and r["tied"][1] < r["tied"][3]  # tied: a minimum near s = 1
    assert r["untied"][1] == pytest.approx(r["tied"][1], rel=1e-4)  # both are the same model at s = 1
    assert set(r["untied_terms"]) == {"reconstruction", "sparsity", "l1"}
    ax = we.plot_rescaling(r)
    assert ax.get_xscale() == "log"
