"""One contract for every model: code, decode_code, reconstruct == decode_code(code),
filters, config, save/load; and evaluate.rate_distortion written once against it."""
from __future__ import annotations

import pytest
import torch

from sesmlib import evaluate
from sesmlib.pca import PCA
from sesmlib.rbm import RBM
from sesmlib.sesm import SESM

X = torch.rand(40, 16, generator=torch.Generator().manual_seed(0))


def _models():
    return {
        "sesm": SESM(16, 5, seed=0, device="cpu"),
        "rbm": RBM(16, 5, seed=0, device="cpu"),
        "pca": PCA(5, device="cpu").fit(X),
    }


@pytest.mark.parametrize("name", ["sesm", "rbm", "pca"])
def test_every_model_follows_the_contract(name, tmp_path):
    m = _models()[name]
    C = m.code(X)
    assert C.shape == (40, 5)
    torch.testing.assert_close(m.reconstruct(X), m.decode_code(C), rtol=0, atol=0)
    assert m.filters.shape == (16, 5)
    assert isinstance(m.config, dict)
    loaded = type(m).load(m.save(tmp_path / "m.pt"), device="cpu")
    assert loaded.config == m.config
    torch.testing.assert_close(loaded.reconstruct(X), m.reconstruct(X), rtol=0, atol=0)


def test_sesm_decode_code_takes_the_code_after_the_logistic():
    m = SESM(16, 5, seed=0, device="cpu")
    torch.testing.assert_close(m.decode_code(m.code(X)), m.decode(m.encode(X)), rtol=0, atol=0)
    C = torch.rand(3, 5)
    torch.testing.assert_close(m.decode_code(C), C @ m.W.T + m.b_dec)


@pytest.mark.parametrize("name", ["sesm", "rbm", "pca"])
def test_rate_distortion_is_quantise_decode_rmse_entropy(name):
    m = _models()[name]
    code_range = "symmetric" if name == "pca" else (0.0, 1.0)
    rd = evaluate.rate_distortion(m, X, (5, 256), code_range)
    C = m.code(X)
    lo, hi = evaluate.symmetric_range(C) if name == "pca" else (0.0, 1.0)
    for Q in (5, 256):
        q = evaluate.quantize(C, Q, lo, hi)
        assert rd[Q].levels == Q
        assert rd[Q].bits_per_pixel == pytest.approx(evaluate.bits_per_pixel(q.index, Q, 16))
        assert rd[Q].entropy_bits == pytest.approx(evaluate.entropy_bits(q.index, Q))
        assert rd[Q].rmse == pytest.approx(evaluate.rmse(X, m.decode_code(q.value)))
        assert rd[Q].rmse_std == pytest.approx(evaluate.rmse(X, m.decode_code(q.value), sigma="std"))
        assert rd[Q].rmse_abs == pytest.approx(evaluate.rmse(X, m.decode_code(q.value), sigma=1.0))
    assert evaluate.rate_distortion(m, X, 5, code_range)[5] == rd[5]


def test_rate_distortion_bad_input():
    m = SESM(16, 5, seed=0, device="cpu")
    with pytest.raises(ValueError, match="code_range"):
        evaluate.rate_distortion(m, X, 5, "wide")
    with pytest.raises(ValueError, match="levels"):
        evaluate.rate_distortion(m, X, [])
    with pytest.raises(ValueError, match="hi must be larger"):
        evaluate.rate_distortion(m, X, 5, (1.0, 0.0))


def test_fit_takes_settings_or_keywords_alike():
    from sesmlib.sesm import FitSettings, fit_sweep

    Xb = torch.rand(48, 16, generator=torch.Generator().manual_seed(1))
    s = FitSettings(epochs=2, batch_size=8, seed=3)
    a, b, c = (SESM(16, 5, seed=3, device="cpu") for _ in range(3))  # fit_sweep draws the filters with the seed
    a.fit(Xb, s, progress=False)
    b.fit(Xb, epochs=2, batch_size=8, seed=3, progress=False)
    c.fit(Xb, FitSettings(epochs=1, batch_size=8, seed=3), epochs=2, progress=False)  # a change wins
    assert torch.equal(a.W, b.W) and torch.equal(a.W, c.W)
    models, _ = fit_sweep(Xb, [0.2], s, n_code=5, device="cpu", progress=False)
    torch.testing.assert_close(models[0].W, a.W, rtol=1e-4, atol=1e-6)
    with pytest.raises(TypeError, match="epochs"):
        SESM(16, 5, device="cpu").fit(Xb, progress=False)
    with pytest.raises(TypeError, match="learning_rate"):
        SESM(16, 5, device="cpu").fit(Xb, epochs=1, learning_rate=0.1, progress=False)


def test_rbm_fit_takes_settings_or_keywords_alike():
    from sesmlib.rbm import RBMSettings

    Xb = (torch.rand(40, 16, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    s = RBMSettings(epochs=2, batch_size=10, lr=0.1, seed=4)
    a, b = RBM(16, 5, seed=0, device="cpu"), RBM(16, 5, seed=0, device="cpu")
    a.fit(Xb, s, progress=False)
    b.fit(Xb, epochs=2, batch_size=10, lr=0.1, seed=4, progress=False)
    assert torch.equal(a.W, b.W)
    with pytest.raises(TypeError, match="lr"):
        RBM(16, 5, device="cpu").fit(Xb, epochs=1, batch_size=10, progress=False)
