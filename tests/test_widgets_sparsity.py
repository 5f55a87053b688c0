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


# ---------------------------------------------------------------------------- the sweep


def test_code_histogram_by_hand():
    codes = torch.tensor([[0.0, 0.05, 0.5], [0.99, 1.0, 0.3]])
    edges, frac = sp.code_histogram(codes, n_bins=4)
    torch.testing.assert_close(edges, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64))
    torch.testing.assert_close(frac, torch.tensor([2, 1, 1, 2], dtype=torch.float64) / 6)


@pytest.mark.parametrize(
    "codes, kwargs, exc",
    [
        (torch.tensor([[0.2, 1.5]]), {}, ValueError),  # not after the logistic
        (torch.tensor([[-0.1, 0.5]]), {}, ValueError),
        (torch.tensor([0.2, 0.5]), {}, ValueError),  # 1-D
        (torch.tensor([[0, 1]]), {}, TypeError),  # integers
        (torch.rand(2, 3), {"n_bins": 0}, ValueError),
    ],
)
def test_code_histogram_bad_input(codes, kwargs, exc):
    with pytest.raises(exc):
        sp.code_histogram(codes, **kwargs)


def _tiny_sweep(alphas=(1.0, 0.05), n=120, seed=0):
    """Small SESMs trained briefly on random 'digits' made of a few strokes."""
    from sesmlib.sesm import fit_sweep

    g = torch.Generator().manual_seed(seed)
    parts = (torch.rand(6, 784, generator=g) > 0.9).float()  # 6 random 'strokes'
    mix = (torch.rand(n, 6, generator=g) > 0.6).float()
    X = (mix @ parts).clamp(0, 1)  # (n, 784)
    # eq. 7 with 2 short code steps: codes that are not all saturated on this toy set
    models, _ = fit_sweep(X, list(alphas), n_code=12, epochs=2, batch_size=1, seed=0, device="cpu", progress=False,
                          convention="eq7", lr=0.0025, infer_steps=2, infer_step_size=0.2)
    return {a: m for a, m in zip(alphas, models)}, X


def test_sweep_summary_matches_the_library():
    from sesmlib import evaluate

    models, X = _tiny_sweep()
    s = sp.sweep_summary(models, X, n_show=4, n_bins=(5, 256), hist_bins=10)
    assert sorted(s) == [0.05, 1.0]
    for a, m in models.items():
        r = s[a]
        codes = m.code(X)
        assert r["active"] == pytest.approx(float((codes > 0.5).float().mean()))
        torch.testing.assert_close(r["unit_activity"], (codes > 0.5).double().mean(0))
        assert float(r["hist"][1].sum()) == pytest.approx(1.0)
        assert r["originals"].shape == r["reconstructions"].shape == (4, 784)
        assert float(r["reconstructions"].min()) >= 0 and float(r["reconstructions"].max()) <= 1
        torch.testing.assert_close(r["filters"], m.W)
        for q in (5, 256):  # the paper's protocol, step by step with the library
            quant = evaluate.quantize(codes, q)
            assert r["bits_per_pixel"][q] == pytest.approx(evaluate.bits_per_pixel(quant.index, q, 784))
            Y_hat = quant.value @ m.W.T + m.b_dec  # decoder given code values in [0, 1]
            assert r["rmse"][q] == pytest.approx(evaluate.rmse(X, Y_hat))
    # fewer quantisation levels, fewer bits (tests/test_zoo.py checks on MNIST that a
    # larger alpha_s gives fewer active units)
    for r in s.values():
        assert r["bits_per_pixel"][5] < r["bits_per_pixel"][256]


def test_rate_distortion_without_quantisation_loss_matches_the_decoder():
    from sesmlib import evaluate

    models, X = _tiny_sweep(alphas=(0.2,), n=40)
    m = models[0.2]
    rd = evaluate.rate_distortion(m, X, 2**16)  # so fine that quantising changes nothing visible
    exact = evaluate.rmse(X, m.decode(m.encode(X)), sigma="std")
    assert rd[2**16].rmse_std == pytest.approx(exact, rel=1e-3)


def test_sweep_summary_bad_input():
    with pytest.raises(TypeError, match="models"):
        sp.sweep_summary({}, torch.rand(3, 784))
    models, X = _tiny_sweep(alphas=(0.5,), n=30)
    with pytest.raises(ValueError, match="n_show"):
        sp.sweep_summary(models, X, n_show=0)


def test_sweep_pictures_and_widget_headless():
    import ipywidgets as W
    import matplotlib.pyplot as plt

    models, X = _tiny_sweep()
    s = sp.sweep_summary(models, X, n_show=3)
    fig = sp.plot_sweep_model(s, 1.0, paper=sp.PAPER_SESM_RATE_DISTORTION)
    assert len(fig.axes) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="alpha_s"):
        sp.plot_sweep_model(s, 0.3)
    ax = sp.plot_rate_distortion(s, highlight=0.05)
    assert len(ax.get_lines()) >= 2  # one curve per quantisation level
    plt.close(ax.figure)
    box = sp.sweep_explorer(s)
    assert isinstance(box, W.VBox)
    box.children[0].value = 0.05  # redraw for another alpha_s: must not raise


def test_paper_points_are_the_papers():
    from sesmlib.paper import ALPHAS, FIGURE1

    for q in (5, 256):
        pts = sp.PAPER_SESM_RATE_DISTORTION[q]
        assert len(pts) == len(ALPHAS)
        assert [b for b, _ in pts] == FIGURE1["panel_c"]["sesm"][str(q)]["bits_per_pixel"]
        assert [r for _, r in pts] == FIGURE1["panel_c"]["sesm"][str(q)]["rmse"]
    assert sp.PAPER_SESM_RATE_DISTORTION[5][2] == (0.19, 0.224)  # alpha_s = 0.2, 5 levels


def _label_boxes(ax):
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(r)) for t in ax.texts]


def test_rate_distortion_labels_do_not_overlap():
    """Neighbouring points (alpha_s = 0.1 and 0.05 sit close on the paper's curve) get labels
    that overlap neither each other nor a point, in the picture as drawn."""
    import matplotlib.pyplot as plt

    pts = sp.PAPER_SESM_RATE_DISTORTION
    alphas = (1.0, 0.5, 0.2, 0.1, 0.05)
    s = {a: {"bits_per_pixel": {q: pts[q][k][0] + 0.003 for q in (5, 256)},
             "rmse": {q: pts[q][k][1] - 0.002 for q in (5, 256)}} for k, a in enumerate(alphas)}
    models, X = _tiny_sweep()
    tiny = sp.sweep_summary(models, X, n_show=2)
    for make, n in ((lambda: sp.plot_rate_distortion(s, highlight=0.1, paper=pts), 10),
                    (lambda: sp.plot_sweep_model(tiny, 1.0, paper=pts).axes[2], 4)):
        ax = make()
        boxes = _label_boxes(ax)
        assert len(boxes) == n
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i][1].overlaps(boxes[j][1]), (boxes[i], boxes[j])
        to_px = ax.transData.transform
        for x, y in [p for q in (5, 256) for p in pts[q]]:
            px, py = to_px((x, y))
            for text, b in boxes:
                assert not b.contains(px, py), (text, x, y)
        if n == 10:  # each label is nearer a point of its own alpha_s than any other point, the paper's included
            ours = [(f"{a:g}", to_px((s[a]["bits_per_pixel"][q], s[a]["rmse"][q]))) for a in alphas for q in (5, 256)]
            theirs = [(None, to_px(p)) for q in (5, 256) for p in pts[q]]
            for text, b in boxes:
                def gap(xy, b=b):
                    return math.hypot(max(b.x0 - xy[0], 0, xy[0] - b.x1), max(b.y0 - xy[1], 0, xy[1] - b.y1))
                nearest = min(ours + theirs, key=lambda lp: gap(lp[1]))
                assert nearest[0] == text, (text, nearest)
        plt.close(ax.figure)


def test_sweep_explorer_slider_runs_from_weak_to_strong_sparsity():
    models, X = _tiny_sweep(alphas=(1.0, 0.2, 0.05), n=30)
    box = sp.sweep_explorer(sp.sweep_summary(models, X, n_show=2))
    slider = box.children[0]
    values = [v for _, v in slider.options]
    assert values == sorted(values) and slider.value == 0.2


def test_penalty_legend_is_outside_the_axes():
    import matplotlib.pyplot as plt

    fig = sp.plot_penalties(sp.penalty_curves())
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert fig.legends and not any(ax.get_legend() for ax in fig.axes)
    legend = fig.legends[0].get_window_extent(r)
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(r))
    plt.close(fig)
