"""Tests of sesmlib.rbm: energies against enumeration, exact and CD gradients, AIS against
exact log Z, training, files, bad input, CUDA agreement."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from sesmlib._utils import save_model
from sesmlib.rbm import PAPER_N_HIDDEN, PAPER_SETTINGS, RBM, AISResult, cd1_update, train_paper_rbm

# Stated tolerance for AIS against exact log Z (nats), with the settings used below.
AIS_TOL = 0.1


def random_rbm(n_vis, n_hid, scale=1.0, seed=0, dtype=torch.float64):
    """An RBM with large random parameters (harder than the N(0, 0.01) start)."""
    rbm = RBM(n_vis, n_hid, seed=seed, device="cpu", dtype=dtype)
    g = torch.Generator().manual_seed(seed + 100)
    rbm.W = scale * torch.randn(n_vis, n_hid, generator=g, dtype=dtype)
    rbm.b_vis = scale * 0.5 * torch.randn(n_vis, generator=g, dtype=dtype)
    rbm.b_hid = scale * 0.5 * torch.randn(n_hid, generator=g, dtype=dtype)
    return rbm


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def bars_data(n=400, side=6, seed=0):
    """Bars: each image has every horizontal (or every vertical) line on with prob 0.3."""
    g = torch.Generator().manual_seed(seed)
    X = torch.zeros(n, side, side, dtype=torch.float64)
    on = torch.rand(n, side, generator=g) < 0.3
    vertical = torch.rand(n, generator=g) < 0.5
    for i in range(n):
        if vertical[i]:
            X[i, :, on[i]] = 1.0
        else:
            X[i, on[i], :] = 1.0
    return X.reshape(n, side * side)


# ----------------------------------------------------------------- energies


def test_free_energy_matches_enumeration_of_hidden_states():
    rbm = random_rbm(5, 4)
    V = all_states(5)
    H = all_states(4)
    # F(v) = -log sum_h exp(-E(v, h)), by brute force with energy()
    E = torch.stack([rbm.energy(V, h.expand(V.shape[0], -1)) for h in H], 1)  # (32, 16)
    expected = -torch.logsumexp(-E, 1)
    torch.testing.assert_close(rbm.free_energy(V), expected, rtol=1e-10, atol=1e-10)
    # the hidden-side free energy likewise sums out v
    E2 = torch.stack([rbm.energy(v.expand(H.shape[0], -1), H) for v in V], 1)  # (16, 32)
    torch.testing.assert_close(rbm.free_energy_hidden(H), -torch.logsumexp(-E2, 1), rtol=1e-10, atol=1e-10)


def test_energy_formula_direct():
    rbm = random_rbm(3, 2)
    v = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    h = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    W, b, c = rbm.W, rbm.b_vis, rbm.b_hid
    expected = -(b[0] + b[2]) - c[1] - (W[0, 1] + W[2, 1])
    assert float(rbm.energy(v, h)) == pytest.approx(float(expected), abs=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_log_partition_exact_against_brute_force(shape):
    n_vis, n_hid = shape
    rbm = random_rbm(n_vis, n_hid, seed=3)
    V, H = all_states(n_vis), all_states(n_hid)
    E = torch.stack([rbm.energy(V, h.expand(V.shape[0], -1)) for h in H], 1)
    assert rbm.log_partition_exact() == pytest.approx(float(torch.logsumexp(-E.flatten(), 0)), abs=1e-10)


def test_probabilities_normalise():
    rbm = random_rbm(6, 3, seed=1)
    log_z = rbm.log_partition_exact()
    V = all_states(6)
    logp = -rbm.free_energy(V) - log_z
    assert float(torch.logsumexp(logp, 0)) == pytest.approx(0.0, abs=1e-10)
    assert rbm.log_likelihood(V, log_z) == pytest.approx(float(logp.mean()), abs=1e-10)


def test_code_and_decode_are_the_conditionals():
    rbm = random_rbm(4, 3, seed=2)
    v = all_states(4)[[5]]
    H = all_states(3)
    # p(h | v) from the joint, marginal over the other units
    logp = -rbm.energy(v.expand(8, -1), H)
    p = torch.softmax(logp, 0)
    torch.testing.assert_close(rbm.code(v)[0], p @ H, rtol=1e-10, atol=1e-10)
    h = H[[6]]
    V = all_states(4)
    pv = torch.softmax(-rbm.energy(V, h.expand(16, -1)), 0)
    torch.testing.assert_close(rbm.decode(h)[0], pv @ V, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(rbm.reconstruct(v), rbm.decode(rbm.code(v)))


# ------------------------------------------------------------------ sampling


def test_sample_h_frequencies_match_code():
    rbm = random_rbm(4, 3, seed=4, scale=0.5)
    V = torch.rand(1, 4, dtype=torch.float64).expand(20000, -1)
    H = rbm.sample_h(V, torch.Generator().manual_seed(0))
    assert set(H.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(H.mean(0), rbm.code(V[:1])[0], atol=0.015, rtol=0)


def test_gibbs_chain_reaches_the_model_distribution():
    rbm = random_rbm(4, 3, seed=5, scale=0.7)
    V = all_states(4)
    p_exact = torch.exp(-rbm.free_energy(V) - rbm.log_partition_exact())  # (16,)
    samples = rbm.gibbs(torch.zeros(8000, 4, dtype=torch.float64), k=15, generator=torch.Generator().manual_seed(1))
    idx = (samples * (2 ** torch.arange(3, -1, -1, dtype=torch.float64))).sum(1).long()
    p_emp = torch.bincount(idx, minlength=16).double() / idx.numel()
    assert 0.5 * float((p_emp - p_exact).abs().sum()) < 0.04  # total variation


def test_sampling_is_reproducible_with_a_generator():
    rbm = random_rbm(5, 3)
    V = torch.rand(7, 5, dtype=torch.float64)
    a = rbm.gibbs(V, 3, torch.Generator().manual_seed(9))
    b = rbm.gibbs(V, 3, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


# ----------------------------------------------------------------- gradients


def test_exact_grads_match_autograd_of_exact_log_likelihood():
    rbm = random_rbm(5, 4, seed=6)
    V = (torch.rand(9, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64) > 0.5).double()
    W = rbm.W.clone().requires_grad_()
    b = rbm.b_vis.clone().requires_grad_()
    c = rbm.b_hid.clone().requires_grad_()

    def neg_free(X):
        return X @ b + torch.nn.functional.softplus(X @ W + c).sum(1)

    ll = neg_free(V).mean() - torch.logsumexp(neg_free(all_states(5)), 0)
    ll.backward()
    grads = rbm.exact_grads(V)
    torch.testing.assert_close(grads["W"], W.grad, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(grads["b_vis"], b.grad, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(grads["b_hid"], c.grad, rtol=1e-9, atol=1e-10)
    # enumerating the other layer (hidden smaller) gives the same
    rbm2 = random_rbm(4, 6, seed=7)
    W2 = rbm2.W.clone().requires_grad_()
    V2 = V[:, :4]
    nf2 = lambda X: X @ rbm2.b_vis + torch.nn.functional.softplus(X @ W2 + rbm2.b_hid).sum(1)  # noqa: E731
    (nf2(V2).mean() - torch.logsumexp(nf2(all_states(4)), 0)).backward()
    torch.testing.assert_close(rbm2.exact_grads(V2)["W"], W2.grad, rtol=1e-9, atol=1e-10)
    rbm3 = random_rbm(7, 3, seed=8)  # visible larger: enumerates hidden states
    W3 = rbm3.W.clone().requires_grad_()
    V3 = torch.rand(5, 7, dtype=torch.float64)
    nf3 = lambda X: X @ rbm3.b_vis + torch.nn.functional.softplus(X @ W3 + rbm3.b_hid).sum(1)  # noqa: E731
    (nf3(V3).mean() - torch.logsumexp(nf3(all_states(7)), 0)).backward()
    torch.testing.assert_close(rbm3.exact_grads(V3)["W"], W3.grad, rtol=1e-9, atol=1e-10)


def cd1_direct(V, W, b, c, u_h, u_v):
    """CD-1 written out sample by sample in numpy float64 (the reference)."""
    V, W, b, c, u_h, u_v = (np.asarray(t, dtype=np.float64) for t in (V, W, b, c, u_h, u_v))
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    dW, db, dc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    for n in range(V.shape[0]):
        p0 = sig(V[n] @ W + c)
        h0 = (u_h[n] < p0).astype(float)
        v1 = (u_v[n] < sig(W @ h0 + b)).astype(float)
        p1 = sig(v1 @ W + c)
        dW += np.outer(V[n], p0) - np.outer(v1, p1)
        db += V[n] - v1
        dc += p0 - p1
    B = V.shape[0]
    return dW / B, db / B, dc / B


def test_cd1_update_matches_direct_computation():
    g = torch.Generator().manual_seed(0)
    V = torch.rand(6, 5, generator=g, dtype=torch.float64)
    W = torch.randn(5, 4, generator=g, dtype=torch.float64)
    b, c = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    u_h, u_v = torch.rand(6, 4, generator=g, dtype=torch.float64), torch.rand(6, 5, generator=g, dtype=torch.float64)
    got = cd1_update(V, W, b, c, u_h, u_v)
    for a, e in zip(got, cd1_direct(V, W, b, c, u_h, u_v)):
        np.testing.assert_allclose(a.numpy(), e, rtol=1e-12, atol=1e-12)
    # mean-field v1 when u_v is None
    dW, _, _ = cd1_update(V, W, b, c, u_h, None)
    p0 = torch.sigmoid(V @ W + c)
    v1 = torch.sigmoid((u_h < p0).double() @ W.T + b)
    torch.testing.assert_close(dW, (V.T @ p0 - v1.T @ torch.sigmoid(v1 @ W + c)) / 6)


def test_cd_grads_uses_the_documented_random_numbers():
    rbm = random_rbm(5, 4, seed=1)
    V = torch.rand(6, 5, dtype=torch.float64)
    got = rbm.cd_grads(V, k=1, generator=torch.Generator().manual_seed(42))
    g = torch.Generator().manual_seed(42)
    u_h = torch.rand(6, 4, generator=g, dtype=torch.float64)
    u_v = torch.rand(6, 5, generator=g, dtype=torch.float64)
    dW, db, dc = cd1_update(V, rbm.W, rbm.b_vis, rbm.b_hid, u_h, u_v)
    torch.testing.assert_close(got["W"], dW)
    torch.testing.assert_close(got["b_vis"], db)
    torch.testing.assert_close(got["b_hid"], dc)


def test_cd_k_two_steps_against_manual_chain():
    rbm = random_rbm(5, 4, seed=2)
    V = torch.rand(3, 5, dtype=torch.float64)
    got = rbm.cd_grads(V, k=2, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    sig = torch.sigmoid
    p0 = sig(V @ rbm.W + rbm.b_hid)
    p, v = p0, V
    for _ in range(2):
        u_h, u_v = torch.rand(3, 4, generator=g, dtype=torch.float64), torch.rand(3, 5, generator=g, dtype=torch.float64)
        h = (u_h < p).double()
        v = (u_v < sig(h @ rbm.W.T + rbm.b_vis)).double()
        p = sig(v @ rbm.W + rbm.b_hid)
    torch.testing.assert_close(got["W"], (V.T @ p0 - v.T @ p) / 3)
    torch.testing.assert_close(got["v_neg"], v)


def test_cd_k_with_long_chains_approaches_the_exact_gradient():
    rbm = random_rbm(4, 3, seed=3, scale=0.6)
    V = all_states(4)[[1, 6, 11]].repeat(2000, 1)  # (6000, 4)
    cd = rbm.cd_grads(V, k=20, generator=torch.Generator().manual_seed(0))
    ex = rbm.exact_grads(V)
    assert float((cd["W"] - ex["W"]).abs().max()) < 0.04
    assert float((cd["b_vis"] - ex["b_vis"]).abs().max()) < 0.04
    # whereas CD-1 is biased in general; it is still close to the sign of the exact one here
    assert float((cd["W"] - ex["W"]).abs().max()) < float(ex["W"].abs().max())


# ------------------------------------------------------------------- training


def test_fit_first_update_equals_lr_times_cd_grads():
    rbm = random_rbm(6, 4, seed=4, scale=0.3)
    W0, b0, c0 = rbm.W.clone(), rbm.b_vis.clone(), rbm.b_hid.clone()
    X = torch.rand(1, 6, dtype=torch.float64).repeat(8, 1)  # identical rows: shuffling is irrelevant
    rbm.fit(X, epochs=1, batch_size=8, lr=0.1, momentum=0.0, init_vis_bias=False, seed=11, progress=False)
    g = torch.Generator().manual_seed(11)
    torch.randint(0, 2**62, (1,), generator=g)  # fit draws the shuffling seed first
    ref = RBM(6, 4, device="cpu", dtype=torch.float64)
    ref.W, ref.b_vis, ref.b_hid = W0, b0, c0
    grads = ref.cd_grads(X, k=1, generator=g)
    torch.testing.assert_close(rbm.W, W0 + 0.1 * grads["W"])
    torch.testing.assert_close(rbm.b_vis, b0 + 0.1 * grads["b_vis"])
    torch.testing.assert_close(rbm.b_hid, c0 + 0.1 * grads["b_hid"])
    assert rbm.n_updates_ == 1


def test_fit_learns_bars_and_improves_likelihood():
    X = bars_data(600)
    rbm = RBM(36, 12, seed=0, device="cpu", dtype=torch.float64)
    ll0 = rbm.log_likelihood(X, rbm.log_partition_exact())
    seen = []
    hist = rbm.fit(X, epochs=20, batch_size=10, lr=0.1, momentum=0.5, weight_decay=1e-4,
                   progress=False, seed=0, callback=lambda e, m, s: seen.append(e))
    ll1 = rbm.log_likelihood(X, rbm.log_partition_exact())
    assert seen == list(range(1, 21))
    assert set(hist) == {"epoch", "recon_error", "time", "digits_per_s", "momentum"}
    assert hist["recon_error"][-1] < 0.5 * hist["recon_error"][0]
    assert ll1 > ll0 + 5  # nats per image
    assert len(rbm.history_["epoch"]) == 20


def test_fit_persistent_momentum_schedule_and_callback_stop():
    X = bars_data(200)
    rbm = RBM(36, 8, seed=1, device="cpu")
    hist = rbm.fit(X.float(), epochs=5, batch_size=20, lr=0.05, persistent=True, momentum=0.9,
                   initial_momentum=0.5, momentum_switch_epoch=2, k=2, progress=False, seed=0,
                   callback=lambda e, m, s: e >= 3)
    assert hist["momentum"] == [0.5, 0.5, 0.9]
    assert all(math.isfinite(e) for e in hist["recon_error"])
    assert rbm._persistent_chains.shape == (20, 8)  # the chains' hidden states
    assert set(rbm._persistent_chains.unique().tolist()) <= {0.0, 1.0}


def test_fit_is_reproducible_with_a_seed():
    X = bars_data(100).float()
    a, b = RBM(36, 5, seed=3, device="cpu"), RBM(36, 5, seed=3, device="cpu")
    for m in (a, b):
        m.fit(X, epochs=2, batch_size=10, lr=0.1, momentum=0.5, seed=7, progress=False)
    assert torch.equal(a.W, b.W)


def test_paper_settings_are_complete():
    rbm = RBM(784, PAPER_N_HIDDEN, device="cpu")
    X = torch.rand(40, 784)
    rbm.fit(X, progress=False, **PAPER_SETTINGS.replace(epochs=1, batch_size=20).as_dict())  # every field is a fit argument
    rbm.fit(X, PAPER_SETTINGS, epochs=1, batch_size=20, progress=False)  # or the settings themselves
    assert PAPER_N_HIDDEN == 200 and PAPER_SETTINGS.k == 1
    a, ha = train_paper_rbm(X, device="cpu", progress=False, epochs=2, batch_size=20)
    b, _ = train_paper_rbm(X, device="cpu", progress=False, epochs=2, batch_size=20)
    assert torch.equal(a.W, b.W) and len(ha["epoch"]) == 2 and a.n_hidden == 200


@pytest.mark.parametrize(
    "change, exc, word",
    [({"epochs": 0}, ValueError, "epochs"), ({"lr": -1.0}, ValueError, "lr"), ({"momentum": 1.0}, ValueError, "momentum"),
     ({"seed": "0"}, TypeError, "seed"), ({"persistent": 1}, TypeError, "persistent"), ({"learning_rate": 1}, TypeError, "learning_rate")],
)
def test_rbm_settings_refuse_bad_values(change, exc, word):
    with pytest.raises(exc, match=word):
        PAPER_SETTINGS.replace(**change)


# ------------------------------------------------------------------------ AIS


@pytest.mark.parametrize("n_vis,n_hid,scale,seed", [(12, 8, 1.0, 0), (20, 10, 1.5, 1), (8, 14, 1.0, 2)])
def test_ais_matches_exact_log_partition(n_vis, n_hid, scale, seed):
    rbm = random_rbm(n_vis, n_hid, scale=scale, seed=seed, dtype=torch.float32)
    exact = rbm.log_partition_exact()
    res = rbm.log_partition_ais(n_chains=200, n_betas=3000, seed=0)
    assert isinstance(res, AISResult)
    assert abs(res.log_z - exact) < AIS_TOL, (res.log_z, exact, res.std_err)
    assert res.log_z_low <= res.log_z <= res.log_z_high
    assert res.log_weights.shape == (200,)


def test_ais_on_a_trained_model_with_data_base_rate():
    X = bars_data(400)
    rbm = RBM(36, 10, seed=0, device="cpu")
    rbm.fit(X.float(), epochs=15, batch_size=10, lr=0.1, momentum=0.5, progress=False, seed=0)
    exact = rbm.log_partition_exact()
    res = rbm.log_partition_ais(n_chains=200, n_betas=3000, seed=1, data=X.float())
    assert abs(res.log_z - exact) < AIS_TOL, (res.log_z, exact)
    # the error bar is honest: within 5 standard errors (plus float32 slack)
    assert abs(res.log_z - exact) < 5 * res.std_err + 0.02
    ll_exact = rbm.log_likelihood(X.float(), exact)
    assert rbm.log_likelihood(X.float(), res) == pytest.approx(ll_exact, abs=AIS_TOL)


def test_ais_with_few_betas_is_worse_than_many():
    rbm = random_rbm(20, 10, scale=2.0, seed=4, dtype=torch.float32)
    exact = rbm.log_partition_exact()
    bad = rbm.log_partition_ais(n_chains=100, n_betas=10, seed=0)
    good = rbm.log_partition_ais(n_chains=100, n_betas=3000, seed=0)
    assert abs(good.log_z - exact) < abs(bad.log_z - exact)
    # AIS is unbiased for Z, so on the log scale it tends to underestimate
    assert bad.log_z < exact


# ----------------------------------------------------------- files, bad input


def test_save_load_round_trip(tmp_path):
    rbm = RBM(10, 4, seed=0, device="cpu")
    rbm.fit(torch.rand(30, 10), epochs=2, batch_size=10, lr=0.1, progress=False)
    path = rbm.save(tmp_path / "m.pt")
    back = RBM.load(path, device="cpu")
    for name in ("W", "b_vis", "b_hid"):
        assert torch.equal(getattr(back, name), getattr(rbm, name))
    assert back.n_updates_ == rbm.n_updates_ == 6
    assert back.history_["recon_error"] == rbm.history_["recon_error"]
    X = torch.rand(3, 10)
    assert torch.equal(back.code(X), rbm.code(X))


def test_load_refuses_corrupt_and_wrong_kind_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="corrupt"):
        RBM.load(bad)
    other = save_model(tmp_path / "sesm.pt", "sesm", {"n_visible": 3}, {"W": torch.zeros(3, 2)})
    with pytest.raises(ValueError, match="'sesm' model, not a 'rbm'"):
        RBM.load(other)
    missing = save_model(tmp_path / "m.pt", "rbm", {"n_visible": 3, "n_hidden": 2, "dtype": "float32"}, {"W": torch.zeros(3, 2)})
    with pytest.raises(ValueError, match="corrupt"):
        RBM.load(missing)
    wrong = save_model(tmp_path / "w.pt", "rbm", {"n_visible": 3, "n_hidden": 2, "dtype": "float32"},
                       {"W": torch.zeros(2, 2), "b_vis": torch.zeros(3), "b_hid": torch.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        RBM.load(wrong)
    with pytest.raises(FileNotFoundError):
        RBM.load(tmp_path / "nope.pt")


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(5, 0)
    with pytest.raises(TypeError, match="n_visible"):
        RBM(5.0, 3)
    with pytest.raises(TypeError, match="dtype"):
        RBM(5, 3, dtype=torch.int32)
    rbm = RBM(5, 3, seed=0, device="cpu")
    with pytest.raises(ValueError, match="V must have 5 columns"):
        rbm.free_energy(torch.rand(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        rbm.code(torch.full((2, 5), float("nan")))
    with pytest.raises(TypeError, match="V must be a torch.Tensor"):
        rbm.code(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="floating"):
        rbm.code(torch.zeros(2, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="H must have 3 columns"):
        rbm.decode(torch.rand(2, 5))
    with pytest.raises(ValueError, match="k must be"):
        rbm.gibbs(torch.rand(2, 5), k=0)
    with pytest.raises(TypeError, match="generator"):
        rbm.sample_h(torch.rand(2, 5), generator=3)
    X = torch.rand(10, 5)
    with pytest.raises(ValueError, match="lr"):
        rbm.fit(X, epochs=1, batch_size=5, lr=-0.1)
    with pytest.raises(ValueError, match="batch_size"):
        rbm.fit(X, epochs=1, batch_size=20, lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        rbm.fit(X, epochs=0, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        rbm.fit(X, epochs=1, batch_size=5, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        rbm.fit(X, epochs=1, batch_size=5, lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="n_betas"):
        rbm.log_partition_ais(n_betas=2)
    with pytest.raises(ValueError, match="betas must increase"):
        rbm.log_partition_ais(betas=torch.tensor([0.0, 0.7, 0.5, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        rbm.log_likelihood(X, float("inf"))
    with pytest.raises(ValueError, match="same number of rows"):
        rbm.energy(torch.rand(2, 5), torch.rand(3, 3))


def test_exact_enumeration_refuses_large_models():
    rbm = RBM(784, 200, seed=0, device="cpu")
    with pytest.raises(ValueError, match=r"2\^200 states.*log_partition_ais"):
        rbm.log_partition_exact()
    with pytest.raises(ValueError, match="2\\^30 states"):
        RBM(40, 30, device="cpu").exact_grads(torch.rand(2, 40))
    # a model inside the limit but above a lower user limit is refused too
    with pytest.raises(ValueError, match="limit"):
        RBM(12, 20, device="cpu").log_partition_exact(max_states=2**10)


def test_float32_grey_data_is_accepted_and_converted():
    rbm = RBM(5, 3, seed=0, device="cpu")
    out = rbm.code(torch.rand(4, 5, dtype=torch.float64))
    assert out.dtype == torch.float32
    assert rbm.code(torch.rand(5)).shape == (1, 3)  # one vector is a batch of one


# ------------------------------------------------------------------- cuda


@pytest.mark.cuda
def test_cuda_agrees_with_cpu():
    cpu = RBM(30, 12, seed=0, device="cpu")
    cpu.fit(bars_data(100, side=5).float()[:, :25].repeat(1, 2)[:, :30], epochs=2, batch_size=10, lr=0.1,
            progress=False, seed=0)
    gpu = RBM(30, 12, seed=0, device="cuda")
    gpu.W, gpu.b_vis, gpu.b_hid = cpu.W.cuda(), cpu.b_vis.cuda(), cpu.b_hid.cuda()
    V = torch.rand(16, 30)
    torch.testing.assert_close(gpu.free_energy(V.cuda()).cpu(), cpu.free_energy(V), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gpu.code(V.cuda()).cpu(), cpu.code(V), rtol=1e-5, atol=1e-5)
    assert gpu.log_partition_exact() == pytest.approx(cpu.log_partition_exact(), abs=1e-6)
    u_h, u_v = torch.rand(16, 12), torch.rand(16, 30)
    a = cd1_update(V, cpu.W, cpu.b_vis, cpu.b_hid, u_h, u_v)
    b = cd1_update(V.cuda(), gpu.W, gpu.b_vis, gpu.b_hid, u_h.cuda(), u_v.cuda())
    for x, y in zip(a, b):
        torch.testing.assert_close(y.cpu(), x, rtol=1e-4, atol=1e-4)
    ais = gpu.log_partition_ais(n_chains=200, n_betas=2000, seed=0)
    assert abs(ais.log_z - cpu.log_partition_exact()) < AIS_TOL
    h = gpu.fit(torch.rand(100, 30, device="cuda"), epochs=2, batch_size=20, lr=0.05, persistent=True,
                progress=False, seed=0)
    assert all(math.isfinite(e) for e in h["recon_error"])
    # same initial weights on every device
    assert torch.equal(RBM(30, 12, seed=5, device="cuda").W.cpu(), RBM(30, 12, seed=5, device="cpu").W)


# ------------------------------------------------- speed options, real data, bench


def test_bfloat16_products_train_like_float32():
    X = bars_data(400).float()
    a, b = RBM(36, 10, seed=0, device="cpu"), RBM(36, 10, seed=0, device="cpu")
    ha = a.fit(X, epochs=10, batch_size=20, lr=0.1, momentum=0.5, progress=False, seed=0)
    hb = b.fit(X, epochs=10, batch_size=20, lr=0.1, momentum=0.5, progress=False, seed=0, matmul_dtype=torch.bfloat16)
    assert b.W.dtype == torch.float32  # parameters stay in the model's dtype
    assert hb["recon_error"][-1] < 0.9 * hb["recon_error"][0]
    assert hb["recon_error"][-1] == pytest.approx(ha["recon_error"][-1], rel=0.05)
    with pytest.raises(TypeError, match="matmul_dtype"):
        a.fit(X, epochs=1, batch_size=20, lr=0.1, matmul_dtype=torch.int8)


def test_thread_setting_is_restored():
    before = torch.get_num_threads()
    rbm = RBM(36, 5, seed=0, device="cpu")
    seen = []
    rbm.fit(bars_data(60).float(), epochs=1, batch_size=10, lr=0.1, progress=False,
            callback=lambda e, m, s: seen.append(torch.get_num_threads()))
    assert seen == [1]  # small batches run on one thread
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        rbm.fit(bars_data(60).float(), epochs=1, batch_size=10, lr=0.1, num_threads=0)


@pytest.mark.mnist
def test_ais_matches_exact_on_a_small_mnist_rbm(mnist_dir):
    from sesmlib.data import load_mnist

    X, _ = load_mnist("train", 2000, root=mnist_dir)
    rbm = RBM(784, 12, seed=0, device="cpu")
    rbm.fit(X, epochs=3, batch_size=20, lr=0.05, momentum=0.5, progress=False, seed=0)
    exact = rbm.log_partition_exact()
    Xb = (X > 0.5).float()
    res = rbm.log_partition_ais(n_chains=100, n_betas=2000, seed=0, data=Xb)
    assert abs(res.log_z - exact) < AIS_TOL, (res.log_z, exact, res.std_err)
    assert rbm.log_likelihood(Xb, res) == pytest.approx(rbm.log_likelihood(Xb, exact), abs=AIS_TOL)


def test_bench_runs_on_a_tiny_problem(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    from sesmlib.bench.rbm import main

    monkeypatch.setenv("SESMLIB_DATA_DIR", str(tmp_path / "nowhere"))  # force the synthetic stand-in
    out = tmp_path / "bench.json"
    before = torch.get_num_threads()
    assert main(["--n", "200", "--n-test", "50", "--hidden", "16", "--epochs", "1", "--batch-sizes", "20", "--rounds", "1",
                 "--json", str(out)]) == 0
    torch.set_num_threads(before)
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text and "scikit-learn BernoulliRBM" in text and "roofline" in text
    import json

    rows = json.loads(out.read_text())["rows"]
    assert {r["model"] for r in rows} >= {"scikit-learn BernoulliRBM", "ours, same algorithm (PCD-1)"}
    assert all(r["digits_per_s"] > 0 and 0 < r["recon_mse"] < 1 for r in rows)
    with pytest.raises(SystemExit):
        main(["--epochs", "0"])


def test_unseeded_models_follow_torch_manual_seed():
    torch.manual_seed(123)
    a = RBM(6, 3, device="cpu")
    ha = a.sample_h(torch.rand(4, 6))
    torch.manual_seed(123)
    b = RBM(6, 3, device="cpu")
    hb = b.sample_h(torch.rand(4, 6))
    assert torch.equal(a.W, b.W) and torch.equal(ha, hb)
    assert not torch.equal(RBM(6, 3, device="cpu").W, a.W)  # but a fresh draw differs


def test_fit_refuses_bad_training_data():
    rbm = RBM(5, 3, seed=0, device="cpu")
    X = torch.rand(20, 5)
    X[7, 2] = float("nan")
    with pytest.raises(ValueError, match="X contains NaN"):
        rbm.fit(X, epochs=1, batch_size=5, lr=0.1)
    X[7, 2] = float("inf")
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        rbm.fit(X, epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="X must have 5 columns"):
        rbm.fit(torch.rand(20, 4), epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        rbm.fit(np.zeros((20, 5)), epochs=1, batch_size=5, lr=0.1)
    with pytest.warns(UserWarning, match="far outside"):
        rbm.fit(torch.rand(20, 5) * 255, epochs=1, batch_size=5, lr=0.001, progress=False)
    h = rbm.fit(torch.rand(20, 5, dtype=torch.float64), epochs=1, batch_size=5, lr=0.1, progress=False)
    assert rbm.W.dtype == torch.float32 and len(h["epoch"]) == 1
