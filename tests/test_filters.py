"""sesmlib.evaluate.filters: spatial spread, orientation coherence and filter statistics."""
from __future__ import annotations

import math

import pytest
import torch

from sesmlib import SESM
from sesmlib.evaluate import filter_stats, orientation_coherence, spatial_spread
from sesmlib.pca import PCA
from sesmlib.rbm import RBM


def _set(model, W=None, b_enc=None, b_dec=None):
    """Give a model hand-chosen parameters."""
    with torch.no_grad():
        for name, value in (("W", W), ("b_enc", b_enc), ("b_dec", b_dec)):
            if value is not None:
                getattr(model, name).copy_(torch.as_tensor(value, dtype=getattr(model, name).dtype))
    return model


def _blob(sigma, size=8, centre=None):
    c = (size - 1) / 2 if centre is None else centre
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    return torch.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma**2))


def _stripes(theta, size=8, period=4.0):
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    return torch.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / period)


def test_spatial_spread_extremes_and_order():
    dot = torch.zeros(8, 8)
    dot[2, 5] = -3.0
    imgs = torch.stack([dot, torch.ones(8, 8), _blob(1.0), _blob(2.0), _blob(1.0, centre=2.0)])
    s = spatial_spread(imgs)
    assert s[0] == pytest.approx(0.0, abs=1e-12)
    assert s[1] == pytest.approx(1.0, abs=1e-12)
    assert s[2] < s[3] < s[1]  # a wider blob spreads more
    assert s[4] == pytest.approx(float(s[2]), rel=0.05)  # position does not matter (mostly inside)
    # columns of W (N, K) give the same numbers as (K, H, W) images
    torch.testing.assert_close(spatial_spread(imgs.reshape(5, 64).T), s)
    g = torch.Generator().manual_seed(0)
    assert float(spatial_spread(torch.randn(200, 8, 8, generator=g, dtype=torch.float64)).mean()) > 0.9


def test_orientation_coherence_stripes_blobs_noise():
    stripes = torch.stack([_stripes(t) for t in (0.0, math.pi / 2, math.pi / 4, 0.3)])
    c = orientation_coherence(stripes)
    assert torch.all(c > 0.9), c
    # a Gabor (oriented stripes under a blob) is still oriented; an isotropic blob is not
    gabor = _stripes(0.5) * _blob(2.0)
    assert float(orientation_coherence(gabor[None])[0]) > 0.6
    assert float(orientation_coherence(_blob(1.5)[None])[0]) < 1e-9
    assert float(orientation_coherence(torch.ones(1, 8, 8))[0]) == 0.0
    g = torch.Generator().manual_seed(0)
    noise = orientation_coherence(torch.randn(200, 8, 8, generator=g, dtype=torch.float64))
    assert float(noise.mean()) < 0.35


def test_filter_statistics_bad_input():
    with pytest.raises(ValueError, match="square"):
        spatial_spread(torch.rand(10, 3))
    with pytest.raises(ValueError, match="shape"):
        orientation_coherence(torch.rand(10, 3), shape=(3, 4))
    with pytest.raises(TypeError, match="filters"):
        spatial_spread(torch.ones(2, 4, 4, dtype=torch.long))
    bad = torch.ones(1, 4, 4)
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        orientation_coherence(bad)
    # a non-square column shape works when given
    assert spatial_spread(torch.rand(12, 2), shape=(3, 4)).shape == (2,)


def test_filter_stats_counts_alive_units_and_takes_their_medians():
    # unit 0: a localised vertical edge, on for the first rows; unit 1: never on (dead)
    edge = torch.zeros(8, 8)
    edge[2:6, 3], edge[2:6, 4] = 1.0, -1.0
    model = _set(SESM(64, 2, seed=0, device="cpu"), W=torch.stack([edge.reshape(-1), torch.ones(64)], dim=1),
                 b_enc=[0.0, -100.0])
    X = torch.zeros(4, 64)
    X[:2] = edge.reshape(-1).clamp(min=0)  # rows 0-1 switch unit 0 on
    stats = filter_stats(model, X)
    assert stats["alive"] == 1 and stats["n_code"] == 2
    assert stats["active"] == pytest.approx(2 / 8)
    assert stats["spread"] == pytest.approx(float(spatial_spread(edge[None])[0]))
    assert stats["coherence"] == pytest.approx(float(orientation_coherence(edge[None])[0]))
    assert stats["coherence"] > 0.9 and stats["spread"] < 0.4
    dead = filter_stats(model, torch.zeros(3, 64) - 1.0)
    assert dead["alive"] == 0 and math.isnan(dead["spread"])


def test_filter_metrics_take_any_models_filters():
    X = torch.rand(30, 64, generator=torch.Generator().manual_seed(0))
    for model in (SESM(64, 5, seed=0, device="cpu"), RBM(64, 5, seed=0, device="cpu"), PCA(5, device="cpu").fit(X)):
        assert model.filters.shape == (64, 5)
        assert spatial_spread(model.filters).shape == (5,)
    stats = filter_stats(RBM(64, 5, seed=0, device="cpu"), X)
    assert stats["n_code"] == 5 and 0 <= stats["active"] <= 1
