"""Tests for sesmlib._engine: the thread helper, the on-line sweep (bitwise equal to separate
fits, in this process and in worker processes), divergence of SESM and the RBM (parameters,
history and counters of the last good epoch), interrupted training, and empty data."""
import dataclasses
import multiprocessing

import pytest
import torch

from sesmlib import _engine
from sesmlib.pca import PCA
from sesmlib.rbm import RBM
from sesmlib.sesm import SESM, DivergenceError, FitSettings, fit_sweep


def digits(n, seed=0, N=784):
    """Digit-like data: sparse bright strokes in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, N, generator=g) < 0.19).float() * torch.rand(n, N, generator=g)


def params(m):
    return [t.clone() for t in ((m.W, m.b_enc, m.b_dec) if isinstance(m, SESM) else (m.W, m.b_vis, m.b_hid))]


def assert_same(a, b):
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def settings(**kw):
    """The keywords SESM.fit hands to the engine."""
    return dataclasses.asdict(FitSettings(**kw).resolved())


def no_time(h):
    return {k: v for k, v in h.items() if k not in ("time", "digits_per_s")}


# ----------------------------------------------------------------- cpu_threads


def test_cpu_threads_sets_and_restores():
    before = torch.get_num_threads()
    with _engine.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with _engine.cpu_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with _engine.cpu_threads(None), _engine.cpu_threads(1, "cuda"):  # no change
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        with _engine.cpu_threads(0):
            pass


# ----------------------------------------------------------------- the on-line sweep


def test_sweep_plan(monkeypatch):
    monkeypatch.delenv("SESMLIB_WORKERS", raising=False)
    small, big = torch.zeros(10, 784), torch.zeros(1000, 784)
    assert _engine.sweep_workers(1, big, 1, 784, 200) == 0  # one model: its own kernel
    assert _engine.sweep_workers(5, big, 128, 784, 200) == 0  # minibatches: one stacked kernel
    assert _engine.sweep_workers(5, small, 1, 784, 200) == 1  # too little work for processes
    monkeypatch.setenv("SESMLIB_WORKERS", "2")
    assert _engine.sweep_workers(5, small, 1, 784, 200) in (1, 2)  # 1 where fork is unsafe
    assert _engine.sweep_workers(1, small, 1, 784, 200) == 0
    monkeypatch.setenv("SESMLIB_WORKERS", "two")
    with pytest.raises(ValueError, match="SESMLIB_WORKERS"):
        _engine.sweep_workers(5, small, 1, 784, 200)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_online_sweep_is_bitwise_separate_fits(monkeypatch, workers):
    """On the cpu each model of an on-line sweep has its own K = 1 kernel, run with the
    same thread count and sample order as SESM.fit: the results are equal bit for bit,
    in this process (1) and in worker processes (2)."""
    monkeypatch.setenv("SESMLIB_WORKERS", workers)
    X = digits(150)
    alphas = [1.0, 0.2, 0.05]
    models, hists = fit_sweep(X, alphas, n_code=12, seed=3, device="cpu", epochs=3, progress=False)
    for a, m, h in zip(alphas, models, hists):
        one = SESM(784, 12, alpha_s=a, seed=3, device="cpu")
        h1 = one.fit(X, epochs=3, seed=3, progress=False)
        assert_same(params(m), params(one))
        assert no_time(h) == no_time(h1)
    assert not torch.equal(models[0].W, models[2].W)


def test_sweep_in_workers_stops_and_fails_cleanly(monkeypatch):
    """A callback that stops, or raises, leaves every model at the end of the last
    committed epoch: what separate fits of that many epochs give."""
    monkeypatch.setenv("SESMLIB_WORKERS", "2")
    X = digits(120, seed=1)
    kw = dict(n_code=8, seed=0, device="cpu", progress=False)
    seen = []
    models, hists = fit_sweep(X, [0.5, 0.1, 0.2], epochs=4, callback=lambda ms, e, s: seen.append(e) or e == 2, **kw)
    assert seen == [1, 2] and [len(h["epoch"]) for h in hists] == [2, 2, 2]

    def fail(ms, e, s):
        if e == 2:
            raise KeyError("from the callback")

    failed = [SESM(784, 8, alpha_s=a, seed=0, device="cpu") for a in (0.5, 0.1, 0.2)]
    with pytest.raises(KeyError):
        _engine.train_sesm(failed, X, **settings(epochs=4, seed=0), progress=False, callback=fail)
    assert not multiprocessing.active_children()  # the workers are gone
    for a, m, f in zip([0.5, 0.1, 0.2], models, failed):
        one = SESM(784, 8, alpha_s=a, seed=0, device="cpu")
        one.fit(X, epochs=2, seed=0, progress=False)
        assert_same(params(m), params(one))
        assert_same(params(f), params(one))


def test_sweep_of_one_model_gets_the_sweep_callback():
    got = []
    fit_sweep(digits(20), [0.2], n_code=4, seed=0, device="cpu", epochs=1, progress=False,
              callback=lambda models, epoch, stats: got.append((type(models), type(stats))))
    assert got == [(list, list)]


def test_callback_exception_leaves_sesm_consistent():
    X = digits(60, seed=2)
    m = SESM(784, 8, seed=0, device="cpu")

    def fail(model, epoch, stats):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        m.fit(X, epochs=3, seed=0, progress=False, callback=fail)
    one = SESM(784, 8, seed=0, device="cpu")
    one.fit(X, epochs=1, seed=0, progress=False)
    assert_same(params(m), params(one))  # b_enc written back from the centred bias


# ----------------------------------------------------------------- divergence


def test_sesm_finite_explosion_raises_and_keeps_last_good():
    """lr 5 multiplies the loss by ~1e13 in a few steps without reaching Inf."""
    m = SESM(784, 20, seed=0, device="cpu")
    before = params(m)
    with pytest.raises(DivergenceError, match=r"epoch 1.*lr=5.*Lower lr") as info:
        m.fit(digits(6), epochs=2, lr=5, seed=0, progress=False)
    assert_same(params(m), before)
    assert info.value.histories == [{k: [] for k in info.value.histories[0]}]


def test_sweep_divergence_keeps_every_model():
    models_before = [params(SESM(784, 20, alpha_s=a, seed=0, device="cpu")) for a in (0.5, 0.1)]
    with pytest.raises(DivergenceError, match="alpha_s"):
        fit_sweep(digits(6), [0.5, 0.1], n_code=20, seed=0, device="cpu", epochs=1, lr=5, progress=False)
    # fit_sweep returns nothing when it raises; train the same models by hand to see them kept
    ms = [SESM(784, 20, alpha_s=a, seed=0, device="cpu") for a in (0.5, 0.1)]
    with pytest.raises(DivergenceError):
        _engine.train_sesm(ms, digits(6), **settings(epochs=2, lr=5, seed=0), progress=False, callback=None)
    for m, b in zip(ms, models_before):
        assert_same(params(m), b)


@pytest.mark.parametrize("lr", [1e3, 1e38])
def test_rbm_divergence_raises_and_keeps_last_good(lr):
    X = digits(400, seed=3)
    rbm = RBM(784, 20, seed=0, device="cpu")
    rbm.fit(X, epochs=1, batch_size=50, lr=0.05, progress=False)
    before, hist, n_up = params(rbm), {k: list(v) for k, v in rbm.history_.items()}, rbm.n_updates_
    with pytest.raises(DivergenceError, match=r"epoch 2 with learning rate lr=(1000|1e\+38).*Lower lr"):
        rbm.fit(X, epochs=2, batch_size=50, lr=lr, momentum=0.5, progress=False)
    assert_same(params(rbm), before)
    assert rbm.history_ == hist and rbm.n_updates_ == n_up
    assert all(torch.isfinite(t).all() for t in params(rbm))
    again = rbm.fit(X, epochs=1, batch_size=50, lr=0.05, progress=False)  # resumable
    assert again["epoch"] == [2]


def test_rbm_working_runs_do_not_trip_the_divergence_test():
    X = digits(400, seed=4)
    for kw in (dict(lr=0.05), dict(lr=0.5, momentum=0.9), dict(lr=1e-4, init_vis_bias=False), dict(lr=0.05, persistent=True)):
        RBM(784, 20, seed=0, device="cpu").fit(X, epochs=3, batch_size=20, progress=False, **kw)


def test_rbm_interrupted_mid_epoch_counts_its_updates(monkeypatch):
    """KeyboardInterrupt in the middle of an epoch: the updates made are counted, so the next
    fit continues instead of re-initialising b_vis from the data."""
    X = digits(200, seed=5)
    rbm = RBM(784, 10, seed=0, device="cpu")
    calls, real_rand = [0], torch.rand

    def interrupting_rand(*a, **k):
        calls[0] += 1
        if calls[0] == 2 * 4 + 1:  # two draws per batch: stop at the 5th batch
            raise KeyboardInterrupt
        return real_rand(*a, **k)

    monkeypatch.setattr(torch, "rand", interrupting_rand)
    with pytest.raises(KeyboardInterrupt):
        rbm.fit(X, epochs=1, batch_size=10, lr=0.1, progress=False)
    monkeypatch.setattr(torch, "rand", real_rand)
    assert rbm.n_updates_ == 4 and rbm.history_ == {}
    b_vis = rbm.b_vis.clone()
    rbm.fit(X, epochs=1, batch_size=10, lr=1e-9, progress=False)  # no re-initialisation of b_vis
    torch.testing.assert_close(rbm.b_vis, b_vis, rtol=0, atol=1e-6)


# ----------------------------------------------------------------- empty data


def test_empty_data_is_refused_and_changes_nothing():
    empty = torch.empty(0, 784)
    m = SESM(784, 8, seed=0, device="cpu")
    before = params(m)
    with pytest.raises(ValueError, match="X has no rows"):
        m.fit(empty, epochs=1, progress=False)
    assert_same(params(m), before)
    with pytest.raises(ValueError, match="X has no rows"):
        fit_sweep(empty, [0.5, 0.1], n_code=8, epochs=1, device="cpu", progress=False)
    rbm = RBM(784, 8, seed=0, device="cpu")
    before = params(rbm)
    with pytest.raises(ValueError, match="X has no rows"):
        rbm.fit(empty, epochs=1, batch_size=10, lr=0.1, progress=False)
    assert_same(params(rbm), before) and rbm.n_updates_ == 0
    with pytest.raises(ValueError, match="X"):
        PCA(3, device="cpu").fit(empty)


# ----------------------------------------------------------------- cuda


@pytest.mark.cuda
def test_cuda_divergence_and_sweep_agree_with_cpu():
    """On the GPU the sweep runs one stacked kernel (CUDA graphs on-line): it agrees with the
    cpu's separate fits within float rounding; divergence is caught and undone there too."""
    X = digits(200, seed=6).double()
    kw = dict(n_code=10, seed=0, dtype=torch.float64, epochs=2, progress=False)
    gpu, _ = fit_sweep(X.cuda(), [1.0, 0.2, 0.05], device="cuda", **kw)
    cpu, _ = fit_sweep(X, [1.0, 0.2, 0.05], device="cpu", **kw)
    for g, c in zip(gpu, cpu):
        for a, b in zip(params(g), params(c)):
            torch.testing.assert_close(a.cpu(), b, rtol=1e-6, atol=1e-9)
    m = SESM(784, 20, seed=0, device="cuda")
    before = params(m)
    with pytest.raises(DivergenceError):
        m.fit(digits(6).cuda(), epochs=1, lr=5, seed=0, progress=False)
    assert_same(params(m), before)
    rbm = RBM(784, 20, seed=0, device="cuda")
    rbm.fit(digits(400).cuda(), epochs=1, batch_size=50, lr=0.05, progress=False)
    before = params(rbm)
    with pytest.raises(DivergenceError):
        rbm.fit(digits(400).cuda(), epochs=1, batch_size=50, lr=1e3, progress=False)
    assert_same(params(rbm), before)
