"""Tests for sesmlib.sesm: the math against hand values and autograd, the fast kernel
against the readable methods, the sweep against one-by-one training, files, bad input,
divergence, CUDA agreement and a short run on real MNIST."""
from __future__ import annotations

import math

import pytest
import torch

from sesmlib import _utils
from sesmlib.sesm import (
    SESM,
    DivergenceError,
    code_grad,
    energy,
    fit_sweep,
    logistic,
    logistic_grad,
    loss,
    loss_grads,
    sparsity_penalty,
)

F64 = torch.float64


def _random_params(B=4, N=9, M=5, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    Y = torch.rand(B, N, generator=g, dtype=dtype)
    Z = torch.randn(B, M, generator=g, dtype=dtype) * 0.3
    W = torch.randn(N, M, generator=g, dtype=dtype) * 0.3
    b_enc = torch.randn(M, generator=g, dtype=dtype) * 0.2
    b_dec = torch.randn(N, generator=g, dtype=dtype) * 0.2
    return Y, Z, W, b_enc, b_dec


def _model(N=9, M=5, seed=0, dtype=F64, **kw):
    m = SESM(N, M, seed=seed, device="cpu", dtype=dtype, **kw)
    g = torch.Generator().manual_seed(seed + 100)
    m.W = torch.randn(N, M, generator=g, dtype=dtype) * 0.3
    m.b_enc = torch.randn(M, generator=g, dtype=dtype) * 0.2
    m.b_dec = torch.randn(N, generator=g, dtype=dtype) * 0.2
    return m


# ----------------------------------------------------------------- hand values


def test_logistic_and_its_derivative_by_hand():
    x = torch.tensor([0.0, 0.1, -0.3], dtype=F64)
    expected = torch.tensor([1 / (1 + math.exp(-7 * v)) for v in (0.0, 0.1, -0.3)], dtype=F64)
    torch.testing.assert_close(logistic(x, 7.0), expected)
    torch.testing.assert_close(logistic_grad(x, 7.0), 7 * expected * (1 - expected))
    assert float(logistic_grad(torch.zeros(1), 2.0)) == pytest.approx(0.5)


def test_energy_and_loss_by_hand():
    # N = 2, M = 1: U = 1*1 + 0*2 + 0.5 = 1.5; l(0) = 1/2; f_dec = [0.6, 0.9]
    Y = torch.tensor([[1.0, 0.0]], dtype=F64)
    Z = torch.zeros(1, 1, dtype=F64)
    W = torch.tensor([[1.0], [2.0]], dtype=F64)
    b_enc = torch.tensor([0.5], dtype=F64)
    b_dec = torch.tensor([0.1, -0.1], dtype=F64)
    E = 1.0 * (0 - 1.5) ** 2 + (1 - 0.6) ** 2 + (0 - 0.9) ** 2  # 2.25 + 0.16 + 0.81
    assert float(energy(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0)) == pytest.approx(E)
    assert float(energy(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=0.5)) == pytest.approx(E - 0.5 * 2.25)
    h = math.log(1 + 0.25)
    assert float(sparsity_penalty(Z, 7.0)) == pytest.approx(h)
    L = loss(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0, alpha_s=0.2, alpha_r=0.01)
    assert float(L) == pytest.approx(E + 0.2 * h + 0.01 * 3.0)
    m = SESM(2, 1, alpha_s=0.2, alpha_r=0.01, convention="eq7", device="cpu", dtype=F64)
    m.W, m.b_enc, m.b_dec = W, b_enc, b_dec
    assert float(m.loss(Y, Z)) == pytest.approx(float(L))
    assert float(m.energy(Y, Z)) == pytest.approx(E)
    assert float(m.sparsity(Z)) == pytest.approx(h)
    torch.testing.assert_close(m.encode(Y), torch.tensor([[1.5]], dtype=F64))
    torch.testing.assert_close(m.decode(Z), torch.tensor([[0.6, 0.9]], dtype=F64))
    torch.testing.assert_close(m.code(Y), logistic(torch.tensor([[1.5]], dtype=F64), 7.0))


def test_loss_is_per_sample():
    Y, Z, W, b_enc, b_dec = _random_params(B=3)
    L = loss(Y, Z, W, b_enc, b_dec)
    assert L.shape == (3,)
    for b in range(3):
        assert float(loss(Y[b : b + 1], Z[b : b + 1], W, b_enc, b_dec)) == pytest.approx(float(L[b]))


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("hyper", [dict(), dict(gain=2.0, alpha_e=0.5, alpha_s=1.0, alpha_r=0.01)])
def test_closed_form_gradients_match_autograd(B, hyper):
    Y, Z, W, b_enc, b_dec = _random_params(B=B, seed=B)
    full = dict(gain=7.0, alpha_e=1.0, alpha_s=0.2, alpha_r=4e-4) | hyper
    Zg, Wg, beg, bdg = (t.clone().requires_grad_(True) for t in (Z, W, b_enc, b_dec))
    L = loss(Y, Zg, Wg, beg, bdg, **full)
    gZ = torch.autograd.grad(L.sum(), Zg, retain_graph=True)[0]  # each sample's own code gradient
    gW, gbe, gbd = torch.autograd.grad(L.mean(), (Wg, beg, bdg))  # the batch-mean loss
    ours = loss_grads(Y, Z, W, b_enc, b_dec, **full)
    torch.testing.assert_close(ours["Z"], gZ, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours["W"], gW, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours["b_enc"], gbe, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours["b_dec"], gbd, rtol=1e-10, atol=1e-12)
    cz = code_grad(Y, Z, W, b_enc, b_dec, gain=full["gain"], alpha_e=full["alpha_e"], alpha_s=full["alpha_s"])
    torch.testing.assert_close(cz, gZ, rtol=1e-10, atol=1e-12)


def test_model_grads_use_its_hyperparameters():
    for convention in ("half", "eq7"):
        m = _model(alpha_s=0.7, alpha_r=0.003, gain=3.0, convention=convention)
        Y, Z = _random_params()[:2]
        Wg = m.W.clone().requires_grad_(True)
        L = loss(Y, Z, Wg, m.b_enc, m.b_dec, gain=3.0, alpha_e=1.0, alpha_s=0.7, alpha_r=0.003, convention=convention)
        torch.testing.assert_close(m.grads(Y, Z)["W"], torch.autograd.grad(L.mean(), Wg)[0])


def test_l1_subgradient_is_zero_at_zero():
    Y, Z, W, b_enc, b_dec = _random_params()
    W[0, 0] = 0.0
    g1 = loss_grads(Y, Z, W, b_enc, b_dec, alpha_r=0.0)["W"][0, 0]
    g2 = loss_grads(Y, Z, W, b_enc, b_dec, alpha_r=1.0)["W"][0, 0]
    assert float(g1) == float(g2)


# ----------------------------------------------------------------- inference and step


def test_infer_code_lowers_the_loss_at_every_step():
    m = _model(N=30, M=12, alpha_s=0.5)
    Y = torch.rand(6, 30, generator=torch.Generator().manual_seed(1), dtype=F64)
    Z, trace = m.infer_code(Y, steps=25, step_size=0.01, return_trace=True)
    assert trace.shape == (26, 6) and Z.shape == (6, 12)
    assert (trace[1:] < trace[:-1]).all(), "a small step must lower every sample's loss"
    torch.testing.assert_close(trace[-1], m.loss(Y, Z))
    torch.testing.assert_close(trace[0], m.loss(Y, m.encode(Y)))


def test_infer_code_zero_steps_is_the_encoder_and_tol_stops_early():
    m = _model()
    Y = _random_params()[0]
    torch.testing.assert_close(m.infer_code(Y, steps=0, step_size=0.1), m.encode(Y))
    _, trace = m.infer_code(Y, steps=500, step_size=0.05, tol=1e-3, return_trace=True)
    assert 2 <= trace.shape[0] < 501


def test_step_lowers_the_loss_with_z_clamped():
    m = _model(N=20, M=6)
    Y = torch.rand(5, 20, generator=torch.Generator().manual_seed(2), dtype=F64)
    Z = m.infer_code(Y, steps=3, step_size=0.1)
    before = float(m.loss(Y, Z).mean())
    after = float(m.step(Y, Z, lr=1e-3).loss(Y, Z).mean())
    assert after < before


@pytest.mark.parametrize("batch_size", [1, 3])
def test_fast_fit_equals_infer_code_then_step(batch_size):
    X = torch.rand(9, 12, generator=torch.Generator().manual_seed(3), dtype=F64)
    fast = _model(N=12, M=5, alpha_s=0.3, alpha_r=1e-3)
    slow = fast.copy()
    fast.fit(X, epochs=1, batch_size=batch_size, lr=0.01, lr_decay=1.0, infer_steps=4, infer_step_size=0.15,
             momentum=0.0, center=False, shuffle=False, progress=False)
    for i in range(0, 9, batch_size):
        Yb = X[i : i + batch_size]
        slow.step(Yb, slow.infer_code(Yb, steps=4, step_size=0.15), lr=0.01)
    for name in ("W", "b_enc", "b_dec"):
        torch.testing.assert_close(getattr(fast, name), getattr(slow, name), rtol=1e-10, atol=1e-12)


def test_centred_momentum_steps_match_their_formula():
    # center=True: steps on (W, c) with c = b_enc + W^T mu, i.e. dL/dW at fixed c = dW - mu db_enc^T;
    # momentum: v <- beta v + grad, theta <- theta - lr v.
    X = torch.rand(12, 10, generator=torch.Generator().manual_seed(11), dtype=F64)
    fast = _model(N=10, M=4, alpha_s=0.3, alpha_r=1e-3)
    slow = fast.copy()
    beta, lr, B = 0.7, 0.02, 3
    fast.fit(X, epochs=1, batch_size=B, lr=lr, lr_decay=1.0, momentum=beta, center=True, infer_steps=2,
             infer_step_size=0.2, shuffle=False, progress=False)
    mu = X.mean(0)
    W, c, bd = slow.W.clone(), slow.b_enc + mu @ slow.W, slow.b_dec.clone()
    vW, vc, vd = torch.zeros_like(W), torch.zeros_like(c), torch.zeros_like(bd)
    for i in range(0, 12, B):
        Y = X[i : i + B]
        slow.W, slow.b_enc, slow.b_dec = W, c - mu @ W, bd
        g = slow.grads(Y, slow.infer_code(Y, steps=2, step_size=0.2))
        vW = beta * vW + g["W"] - torch.outer(mu, g["b_enc"])
        vc, vd = beta * vc + g["b_enc"], beta * vd + g["b_dec"]
        W, c, bd = W - lr * vW, c - lr * vc, bd - lr * vd
    torch.testing.assert_close(fast.W, W, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast.b_enc, c - mu @ W, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast.b_dec, bd, rtol=1e-10, atol=1e-12)


def test_fit_history_and_callback_stop():
    X = torch.rand(40, 16, generator=torch.Generator().manual_seed(4))
    m = SESM(16, 4, seed=0, device="cpu")
    seen = []
    hist = m.fit(X, epochs=5, batch_size=8, seed=0, progress=False,
                 callback=lambda model, epoch, stats: seen.append((epoch, stats["loss"])) or epoch == 2)
    assert [e for e, _ in seen] == [1, 2]
    assert hist["epoch"] == [1, 2]
    for key in ("lr", "loss", "energy_enc", "energy_dec", "sparsity", "l1", "active", "time"):
        assert len(hist[key]) == 2 and all(math.isfinite(v) for v in hist[key])
    assert hist["lr"][1] < hist["lr"][0]
    assert 0.0 <= hist["active"][0] <= 1.0
    terms = hist["energy_enc"][1] + hist["energy_dec"][1] + m.alpha_s * hist["sparsity"][1] + m.alpha_r * hist["l1"][1]
    assert hist["loss"][1] == pytest.approx(terms, rel=1e-5)


def test_same_seed_same_model():
    X = torch.rand(30, 16, generator=torch.Generator().manual_seed(5))
    a, b = SESM(16, 4, seed=7, device="cpu"), SESM(16, 4, seed=7, device="cpu")
    a.fit(X, epochs=1, batch_size=5, seed=1, progress=False)
    b.fit(X, epochs=1, batch_size=5, seed=1, progress=False)
    assert torch.equal(a.W, b.W)
    c = SESM(16, 4, seed=7, device="cpu")
    c.fit(X, epochs=1, batch_size=5, seed=2, progress=False)  # another order
    assert not torch.equal(a.W, c.W)


# ----------------------------------------------------------------- the sweep


@pytest.mark.parametrize("batch_size", [1, 4])
def test_sweep_equals_one_by_one(batch_size):
    X = torch.rand(24, 20, generator=torch.Generator().manual_seed(6), dtype=F64)
    alphas = [1.0, 0.2, 0.05]
    kw = dict(epochs=2, batch_size=batch_size, lr=0.01, infer_steps=3, infer_step_size=0.2)
    models, hists = fit_sweep(X, alphas, n_code=6, seed=3, device="cpu", dtype=F64, progress=False, **kw)
    assert [m.alpha_s for m in models] == alphas and len(hists) == 3
    for a, m, h in zip(alphas, models, hists):
        one = SESM(20, 6, alpha_s=a, seed=3, device="cpu", dtype=F64)
        h1 = one.fit(X, seed=3, progress=False, **kw)
        for name in ("W", "b_enc", "b_dec"):
            torch.testing.assert_close(getattr(m, name), getattr(one, name), rtol=1e-9, atol=1e-12)
        assert h["loss"] == pytest.approx(h1["loss"], rel=1e-9)
        assert m.W.is_contiguous() and m.W.untyped_storage().data_ptr() != models[0].W.untyped_storage().data_ptr() or m is models[0]
    assert not torch.allclose(models[0].W, models[2].W)  # alpha_s matters


def test_sweep_float32_close_to_one_by_one():
    X = torch.rand(64, 49, generator=torch.Generator().manual_seed(7))
    models, _ = fit_sweep(X, [0.5, 0.1], n_code=10, seed=0, device="cpu", epochs=1, batch_size=16, progress=False)
    one = SESM(49, 10, alpha_s=0.1, seed=0, device="cpu")
    one.fit(X, epochs=1, batch_size=16, seed=0, progress=False)
    torch.testing.assert_close(models[1].W, one.W, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------- files


def test_save_load_round_trip(tmp_path):
    m = SESM(12, 5, alpha_s=0.5, alpha_r=1e-3, gain=5.0, seed=1, device="cpu")
    m.fit(torch.rand(20, 12), epochs=1, batch_size=4, seed=0, progress=False)
    path = m.save(tmp_path / "m.pt")
    back = SESM.load(path, device="cpu")
    assert back.config == m.config
    for name in ("W", "b_enc", "b_dec"):
        assert torch.equal(getattr(back, name), getattr(m, name))
    Y = torch.rand(3, 12)
    torch.testing.assert_close(back.code(Y), m.code(Y))
    assert SESM.load(path, device="cpu", expected_config={"n_code": 5, "alpha_s": 0.5}).n_code == 5
    m64 = SESM(3, 2, dtype=F64, device="cpu")
    assert SESM.load(m64.save(tmp_path / "m64.pt"), device="cpu").W.dtype == F64


def test_load_errors(tmp_path):
    path = SESM(12, 5, seed=1, device="cpu").save(tmp_path / "m.pt")
    with pytest.raises(ValueError, match="different configuration.*n_code"):
        SESM.load(path, device="cpu", expected_config={"n_code": 200})
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt"):
        SESM.load(bad, device="cpu")
    with pytest.raises(FileNotFoundError):
        SESM.load(tmp_path / "missing.pt")
    other = _utils.save_model(tmp_path / "rbm.pt", "RBM", {}, {"W": torch.zeros(2)})
    with pytest.raises(ValueError, match="RBM"):
        SESM.load(other, device="cpu")
    m = SESM(12, 5, device="cpu")
    wrong = _utils.save_model(tmp_path / "w.pt", "SESM", m.config, {"W": torch.zeros(12, 4), "b_enc": m.b_enc, "b_dec": m.b_dec})
    with pytest.raises(ValueError, match="W has shape"):
        SESM.load(wrong, device="cpu")


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(n_visible=0, n_code=3), ValueError, "n_visible"),
        (dict(n_visible=4, n_code=2.5), TypeError, "n_code"),
        (dict(n_visible=4, n_code=3, alpha_s=-0.1), ValueError, "alpha_s"),
        (dict(n_visible=4, n_code=3, alpha_r=-1), ValueError, "alpha_r"),
        (dict(n_visible=4, n_code=3, alpha_e=float("nan")), ValueError, "alpha_e"),
        (dict(n_visible=4, n_code=3, gain=0), ValueError, "gain"),
        (dict(n_visible=4, n_code=3, dtype=torch.int32), TypeError, "dtype"),
        (dict(n_visible=4, n_code=3, device="tpu"), ValueError, "device"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, word):
    kwargs.setdefault("device", "cpu")
    with pytest.raises(exc, match=word):
        SESM(**kwargs)


def test_bad_data():
    m = SESM(4, 3, device="cpu")
    with pytest.raises(ValueError, match="Y"):
        m.encode(torch.rand(2, 5))
    with pytest.raises(TypeError, match="Y"):
        m.encode(torch.ones(2, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="Y"):
        m.code([[0.0] * 4])
    with pytest.raises(ValueError, match="NaN"):
        m.encode(torch.tensor([[0.0, float("nan"), 0.0, 0.0]]))
    with pytest.raises(ValueError, match="Z"):
        m.decode(torch.rand(2, 4))
    with pytest.raises(ValueError, match="rows"):
        m.loss(torch.rand(2, 4), torch.rand(3, 3))
    with pytest.raises(ValueError, match="X"):
        m.fit(torch.rand(5, 3), epochs=1, progress=False)
    with pytest.raises(ValueError, match="Inf"):
        m.fit(torch.full((5, 4), float("inf")), epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        m.fit(torch.rand(5, 4), epochs=0, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(torch.rand(5, 4), epochs=1, batch_size=-1, progress=False)
    with pytest.raises(ValueError, match="lr"):
        m.fit(torch.rand(5, 4), epochs=1, lr=-0.1, progress=False)
    with pytest.raises(ValueError, match="step_size"):
        m.infer_code(torch.rand(2, 4), steps=2, step_size=0.0)
    with pytest.raises(ValueError, match="alphas"):
        fit_sweep(torch.rand(5, 4), [0.2, -1.0], n_code=3, epochs=1, device="cpu", progress=False)
    with pytest.warns(UserWarning, match="far outside"):
        m.fit(torch.rand(5, 4) * 50, epochs=1, progress=False)


def test_data_on_another_device_is_refused():
    m = SESM(4, 3, device="cpu")
    with pytest.raises(ValueError, match="Y is on meta"):
        m.encode(torch.empty(2, 4, device="meta"))


def test_fit_accepts_parameters_set_as_views():
    m = SESM(6, 3, seed=0, device="cpu")
    m.W = torch.randn(3, 6).T * 0.01  # a non-contiguous view
    m.fit(torch.rand(8, 6), epochs=1, batch_size=4, seed=0, progress=False)
    assert m.W.is_contiguous() and torch.isfinite(m.W).all()


def test_float64_data_given_to_float32_model_is_converted():
    m = SESM(4, 3, device="cpu")
    assert m.code(torch.rand(2, 4, dtype=F64)).dtype == torch.float32


def test_divergence_stops_and_keeps_last_good_parameters():
    X = torch.rand(50, 30, generator=torch.Generator().manual_seed(8))
    m = SESM(30, 8, seed=0, device="cpu")
    m.fit(X, epochs=1, batch_size=10, seed=0, progress=False)
    good = m.W.clone()
    with pytest.raises(DivergenceError, match=r"epoch 1.*lr=1e\+06"):
        m.fit(X, epochs=2, batch_size=10, lr=1e6, seed=0, progress=False)
    assert torch.equal(m.W, good)
    assert torch.isfinite(m.b_dec).all() and torch.isfinite(m.b_enc).all()


# ----------------------------------------------------------------- CUDA


@pytest.mark.cuda
@pytest.mark.parametrize("batch_size", [1, 16])
def test_cuda_agrees_with_cpu(batch_size):
    X = torch.rand(200, 64, generator=torch.Generator().manual_seed(9), dtype=F64)
    kw = dict(epochs=2, batch_size=batch_size, seed=0, progress=False, lr=0.005)
    cpu = SESM(64, 10, seed=0, device="cpu", dtype=F64)
    gpu = SESM(64, 10, seed=0, device="cuda", dtype=F64)
    torch.testing.assert_close(gpu.W.cpu(), cpu.W)
    h_cpu = cpu.fit(X, **kw)
    h_gpu = gpu.fit(X.cuda(), **kw)
    torch.testing.assert_close(gpu.W.cpu(), cpu.W, rtol=1e-6, atol=1e-8)
    assert h_gpu["loss"] == pytest.approx(h_cpu["loss"], rel=1e-6)
    models, _ = fit_sweep(X.cuda(), [0.5, 0.1], n_code=10, seed=0, device="cuda", dtype=F64, **kw)
    one = SESM(64, 10, alpha_s=0.1, seed=0, device="cpu", dtype=F64)
    one.fit(X, **kw)
    torch.testing.assert_close(models[1].W.cpu(), one.W, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------- real MNIST


@pytest.mark.mnist
def test_short_mnist_run_reaches_a_stated_loss(mnist_dir):
    from sesmlib.data import load_mnist

    X, _ = load_mnist("train", 2000, root=mnist_dir, download=False)
    Xt, _ = load_mnist("test", 1000, root=mnist_dir, download=False)
    m = SESM(784, 200, seed=0, device="cpu")
    start = float(m.loss(X[:1000], m.infer_code(X[:1000])).mean())
    hist = m.fit(X, epochs=1, batch_size=1, seed=0, progress=False)  # the paper's on-line algorithm
    # Measured (seed 0, default settings: half convention, lr 0.025): loss 47.5 at the
    # start, 9.7 after this epoch, 12% of the units on, test RMSE / std 0.48.
    assert start > 40
    assert hist["loss"][0] < 12.0
    assert 0.05 < hist["active"][0] < 0.3
    rmse = float((m.code(Xt) @ m.W.T + m.b_dec - Xt).pow(2).mean().sqrt() / Xt.std())
    assert rmse < 0.52


# ----------------------------------------------------------------- the benchmark (smoke)


def test_bench_cli_parses_and_measures(capsys):
    from sesmlib.bench import sesm as bench

    with pytest.raises(SystemExit) as info:
        bench.main(["--help"])
    assert info.value.code == 0
    assert "--quality" in capsys.readouterr().out
    r = bench._minibatch(2, 16, torch.device("cpu"), steps=1)
    assert r["digits_s"] > 0 and r["gflops"] > 0 and 0 < r["roofline"] < 10


def test_fit_settings_resolve_defaults_and_refuse_unknown_settings():
    from sesmlib.sesm import FitSettings, default_lr, default_momentum

    online, mini = FitSettings(epochs=2).as_dict(), FitSettings(epochs=2, batch_size=64).as_dict()
    assert online["lr"] == default_lr(1) and online["momentum"] == default_momentum(1)
    assert mini["lr"] == default_lr(64) and mini["momentum"] == default_momentum(64)
    assert "progress" not in online and "callback" not in online
    assert FitSettings.of(epochs=2, lr=0.5).lr == 0.5
    with pytest.raises(TypeError, match="unknown training setting.*learning_rate"):
        FitSettings.of(epochs=1, learning_rate=0.1)
    with pytest.raises(TypeError, match="epochs"):
        FitSettings.of(lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        FitSettings(epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="momentum"):
        FitSettings(epochs=1, momentum=1.0)


# ----------------------------------------------------------------- the energy convention


def test_half_convention_gradients_match_autograd():
    Y, Z, W, b_enc, b_dec = _random_params(B=5, N=11, M=6, seed=3)
    hp = dict(gain=7.0, alpha_e=0.8, alpha_s=0.3, alpha_r=0.01)
    params = [t.clone().requires_grad_(True) for t in (Z, W, b_enc, b_dec)]
    L = loss(Y, *params, **hp, convention="half")  # (B,)
    gZ = torch.autograd.grad(L.sum(), params[0], retain_graph=True)[0]
    gW, ge, gd = torch.autograd.grad(L.mean(), params[1:])
    g = loss_grads(Y, Z, W, b_enc, b_dec, **hp, convention="half")
    for ours, auto in ((g["Z"], gZ), (g["W"], gW), (g["b_enc"], ge), (g["b_dec"], gd)):
        torch.testing.assert_close(ours, auto, rtol=1e-10, atol=1e-12)
    dZ = code_grad(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=0.8, alpha_s=0.3, convention="half")
    torch.testing.assert_close(dZ, gZ, rtol=1e-10, atol=1e-12)


def test_half_convention_is_eq7_with_doubled_weights_halved():
    # L_half(alpha_s, alpha_r) = 1/2 L_eq7(2 alpha_s, 2 alpha_r): same minimisers, half the gradient
    Y, Z, W, b_enc, b_dec = _random_params(seed=4)
    half = loss(Y, Z, W, b_enc, b_dec, alpha_s=0.2, alpha_r=4e-4, convention="half")
    eq7 = loss(Y, Z, W, b_enc, b_dec, alpha_s=0.4, alpha_r=8e-4, convention="eq7")
    torch.testing.assert_close(half, eq7 / 2)
    torch.testing.assert_close(energy(Y, Z, W, b_enc, b_dec, convention="half"), energy(Y, Z, W, b_enc, b_dec) / 2)
    gh = loss_grads(Y, Z, W, b_enc, b_dec, alpha_s=0.2, alpha_r=4e-4, convention="half")
    ge = loss_grads(Y, Z, W, b_enc, b_dec, alpha_s=0.4, alpha_r=8e-4, convention="eq7")
    for k in gh:
        torch.testing.assert_close(gh[k], ge[k] / 2)


@pytest.mark.parametrize("center", [False, True])
def test_half_convention_training_is_the_eq7_emulation_bit_for_bit(center):
    # the paper's reading: alpha_s x2, alpha_r x2, lr / 2 and code step / 2 under eq. 7
    X = torch.rand(40, 30, generator=torch.Generator().manual_seed(5)) * 0.8
    opts = dict(epochs=2, batch_size=1, center=center, infer_steps=3, seed=0, progress=False)
    half = SESM(30, 8, alpha_s=0.3, alpha_r=0.002, seed=0, device="cpu")
    eq7 = SESM(30, 8, alpha_s=0.6, alpha_r=0.004, convention="eq7", seed=0, device="cpu")
    hh = half.fit(X, lr=0.02, infer_step_size=0.2, **opts)
    he = eq7.fit(X, lr=0.01, infer_step_size=0.1, **opts)
    for name in ("W", "b_enc", "b_dec"):
        assert torch.equal(getattr(half, name), getattr(eq7, name)), name
    # each history is in its model's own units: the half loss is half the eq. 7 loss
    assert hh["loss"][-1] == pytest.approx(he["loss"][-1] / 2, rel=1e-6)
    # the default step sizes make the same pair with no step argument at all
    half2 = SESM(30, 8, alpha_s=0.3, alpha_r=0.002, seed=0, device="cpu")
    eq72 = SESM(30, 8, alpha_s=0.6, alpha_r=0.004, convention="eq7", seed=0, device="cpu")
    half2.fit(X, **opts)
    eq72.fit(X, **opts)
    assert torch.equal(half2.W, eq72.W)


def test_half_convention_kernel_step_equals_the_readable_step():
    # one on-line step of the fast kernel against infer_code + step, written with the formulas
    X = torch.rand(1, 30, generator=torch.Generator().manual_seed(6), dtype=F64) * 0.8
    a = SESM(30, 8, alpha_s=0.3, seed=0, device="cpu", dtype=F64)
    b = a.copy()
    a.fit(X, epochs=1, batch_size=1, lr=0.02, infer_steps=4, center=False, shuffle=False, progress=False)
    Z = b.infer_code(X, steps=4)
    b.step(X, Z, 0.02)
    for name in ("W", "b_enc", "b_dec"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-14)


def test_convention_is_a_setting_saved_with_the_model(tmp_path):
    from sesmlib.sesm import default_infer_step_size, default_lr

    m = SESM(6, 3, seed=0, device="cpu")
    assert m.convention == "half" and m.energy_scale == 0.5 and m.config["convention"] == "half"
    e = SESM(6, 3, convention="eq7", seed=0, device="cpu")
    assert SESM.load(e.save(tmp_path / "e.pt"), device="cpu").convention == "eq7"
    assert default_lr(1, "eq7") == default_lr(1) / 2 and default_infer_step_size("eq7") == 0.1
    with pytest.raises(ValueError, match="convention must be one of"):
        SESM(6, 3, convention="eq8")


def test_a_model_file_without_a_convention_is_read_as_eq7(tmp_path):
    # files written before the convention was a setting hold eq. 7 models
    e = SESM(6, 3, convention="eq7", seed=0, device="cpu")
    config = {k: v for k, v in e.config.items() if k != "convention"}
    path = _utils.save_model(tmp_path / "old.pt", "SESM", config, {"W": e.W, "b_enc": e.b_enc, "b_dec": e.b_dec})
    assert SESM.load(path, device="cpu").convention == "eq7"
