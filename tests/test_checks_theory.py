"""The checks of notebooks 01-03 (sesmlib.checks.energy, .partition, .sesm), each against a
correct implementation and several deliberately wrong ones."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from sesmlib import checks
from sesmlib import energy as en
from sesmlib import sesm
from sesmlib.rbm import cd1_update

from _check_asserts import assert_fails, assert_passes
from _check_asserts import run as _run
from _check_asserts import stub as _stub


ALL_CHECKS = [
    checks.check_free_energy, checks.check_energy_entropy, checks.check_free_energy_inf, checks.check_free_energy_gap,
    checks.check_log_partition_enum, checks.check_p_h_given_v, checks.check_p_v_given_h, checks.check_gibbs_step,
    checks.check_cd1_update, checks.check_ais_log_weight,
    checks.check_sesm_energy, checks.check_sesm_sparsity, checks.check_sesm_loss,
    checks.check_sesm_grad_z, checks.check_sesm_grad_w, checks.check_sesm_grad_biases,
]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_stub_gets_not_done_yet(check, capsys):
    ok, out = _run(check, _stub, capsys)
    assert bool(ok) is False and out.startswith("⏳") and "not done yet" in out


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_not_a_function_and_none(check, capsys):
    assert_fails(check, 3.0, capsys, "expected a function")
    assert_fails(check, lambda *a, **k: None, capsys, "returned None")


# ------------------------------------------------------------------------------- 01


def fe_good(E, beta, dz):
    return -(torch.logsumexp(-beta * E, dim=-1) + math.log(dz)) / beta


def test_free_energy(capsys):
    assert_passes(checks.check_free_energy, fe_good, capsys)
    naive = lambda E, beta, dz: -torch.log(torch.exp(-beta * E).sum(-1) * dz) / beta
    assert_fails(checks.check_free_energy, naive, capsys, "large energies", "inf")
    assert_fails(checks.check_free_energy, lambda E, beta, dz: -torch.logsumexp(-beta * E, dim=-1) / beta, capsys, "dz")
    assert_fails(checks.check_free_energy, lambda E, beta, dz: -(torch.logsumexp(-beta * E, dim=-1) + math.log(dz)), capsys)
    assert_fails(checks.check_free_energy, lambda E, beta, dz: -(torch.logsumexp(-beta * E, dim=0) + math.log(dz)) / beta, capsys, "shape")
    assert_fails(checks.check_free_energy, lambda E, beta, dz: fe_good(E.float(), beta, dz), capsys, "float64")


def test_free_energy_inf(capsys):
    good = lambda E, z: (E.min(-1).values, z[E.argmin(-1)])
    assert_passes(checks.check_free_energy_inf, good, capsys)
    assert_fails(checks.check_free_energy_inf, lambda E, z: (E.max(-1).values, z[E.argmax(-1)]), capsys)
    assert_fails(checks.check_free_energy_inf, lambda E, z: (E.min(-1).values, E.argmin(-1)), capsys, "output[1]")
    assert_fails(checks.check_free_energy_inf, lambda E, z: E.min(-1).values, capsys, "tuple")


def test_free_energy_gap(capsys):
    good = lambda E, betas, dz: torch.stack([fe_good(E, b, dz) - E.min(-1).values for b in betas])
    assert_passes(checks.check_free_energy_gap, good, capsys)
    assert_fails(checks.check_free_energy_gap, lambda E, betas, dz: -good(E, betas, dz), capsys)
    assert_fails(checks.check_free_energy_gap, lambda E, betas, dz: good(E, betas, dz).T, capsys, "shape")
    assert_fails(checks.check_free_energy_gap, lambda E, betas, dz: torch.stack([fe_good(E, b, dz) for b in betas]), capsys)


# ------------------------------------------------------------------------------- 02


def _states(n, dtype):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=dtype)


def logz_good(W, b_vis, b_hid):
    v = _states(W.shape[0], W.dtype)
    return torch.logsumexp(v @ b_vis + F.softplus(v @ W + b_hid).sum(1), 0)


def logz_both_layers(W, b_vis, b_hid):
    v, h = _states(W.shape[0], torch.float64), _states(W.shape[1], torch.float64)
    neg_e = (v @ b_vis.double())[:, None] + (h @ b_hid.double())[None, :] + v @ W.double() @ h.T
    return float(torch.logsumexp(neg_e.reshape(-1), 0))


def test_log_partition_enum(capsys):
    assert_passes(checks.check_log_partition_enum, logz_good, capsys)
    assert_passes(checks.check_log_partition_enum, logz_both_layers, capsys)  # a float is fine too
    naive = lambda W, b_vis, b_hid: torch.log(torch.exp(_states(W.shape[0], torch.float64) @ b_vis.double()
                                                       + F.softplus(_states(W.shape[0], torch.float64) @ W.double() + b_hid.double()).sum(1)).sum())
    assert_fails(checks.check_log_partition_enum, naive, capsys, "large weights", "overflow")
    no_hidden = lambda W, b_vis, b_hid: torch.logsumexp(_states(W.shape[0], W.dtype) @ b_vis, 0)
    assert_fails(checks.check_log_partition_enum, no_hidden, capsys, "expected")
    log2 = lambda W, b_vis, b_hid: logz_good(W, b_vis, b_hid) / math.log(2)
    assert_fails(checks.check_log_partition_enum, log2, capsys, "all zero")
    per_state = lambda W, b_vis, b_hid: _states(W.shape[0], W.dtype) @ b_vis
    assert_fails(checks.check_log_partition_enum, per_state, capsys, "one number")


def cd1_good(V, W, b_vis, b_hid, u_h, u_v=None):
    return cd1_update(V, W, b_vis, b_hid, u_h, u_v)


def test_cd1_update(capsys):
    def mine(V, W, b_vis, b_hid, u_h, u_v=None):
        B = V.shape[0]
        p0 = torch.sigmoid(V @ W + b_hid)
        h0 = (u_h < p0).to(V.dtype)
        pv = torch.sigmoid(h0 @ W.T + b_vis)
        v1 = pv if u_v is None else (u_v < pv).to(V.dtype)
        p1 = torch.sigmoid(v1 @ W + b_hid)
        return (V.T @ p0 - v1.T @ p1) / B, (V - v1).mean(0), (p0 - p1).mean(0)

    assert_passes(checks.check_cd1_update, mine, capsys)

    def wrong_convention(V, W, b_vis, b_hid, u_h, u_v=None):  # on when u > p
        return mine(V, W, b_vis, b_hid, 1 - u_h, None if u_v is None else 1 - u_v)

    assert_fails(checks.check_cd1_update, wrong_convention, capsys)

    def no_batch_mean(V, W, b_vis, b_hid, u_h, u_v=None):
        dW, dv, dh = mine(V, W, b_vis, b_hid, u_h, u_v)
        return dW * V.shape[0], dv, dh

    assert_fails(checks.check_cd1_update, no_batch_mean, capsys, "batch of 8")

    def sign_flipped(V, W, b_vis, b_hid, u_h, u_v=None):
        return tuple(-t for t in mine(V, W, b_vis, b_hid, u_h, u_v))

    assert_fails(checks.check_cd1_update, sign_flipped, capsys)

    def ignores_u_v(V, W, b_vis, b_hid, u_h, u_v=None):
        return mine(V, W, b_vis, b_hid, u_h, None)

    assert_fails(checks.check_cd1_update, ignores_u_v, capsys)

    def two_outputs(V, W, b_vis, b_hid, u_h, u_v=None):
        return mine(V, W, b_vis, b_hid, u_h, u_v)[:2]

    assert_fails(checks.check_cd1_update, two_outputs, capsys, "3 items")


# ------------------------------------------------------------------------------- 03


def energy_good(Y, Z, W, b_enc, b_dec, gain, alpha_e):
    return alpha_e * ((Z - Y @ W - b_enc) ** 2).sum(1) + ((Y - torch.sigmoid(gain * Z) @ W.T - b_dec) ** 2).sum(1)


def test_sesm_energy(capsys):
    assert_passes(checks.check_sesm_energy, energy_good, capsys)
    no_logistic = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e: alpha_e * ((Z - Y @ W - b_enc) ** 2).sum(1) + ((Y - Z @ W.T - b_dec) ** 2).sum(1)
    assert_fails(checks.check_sesm_energy, no_logistic, capsys)
    no_alpha = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e: energy_good(Y, Z, W, b_enc, b_dec, gain, 1.0)
    assert_fails(checks.check_sesm_energy, no_alpha, capsys, "alpha_e")
    untransposed = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e: alpha_e * ((Z - Y @ W - b_enc) ** 2).sum(1) + ((Y - torch.sigmoid(gain * Z) @ W - b_dec) ** 2).sum(1)
    assert_fails(checks.check_sesm_energy, untransposed, capsys, "raised")
    total = lambda *a, **k: energy_good(*a, **k).sum()
    assert_fails(checks.check_sesm_energy, total, capsys, "shape")
    detached = lambda *a, **k: energy_good(*[t.detach() for t in a], **k)
    assert_fails(checks.check_sesm_energy, detached, capsys, "gradient")


def test_sesm_sparsity(capsys):
    assert_passes(checks.check_sesm_sparsity, lambda Z, gain: torch.log1p(torch.sigmoid(gain * Z) ** 2).sum(-1), capsys)
    assert_fails(checks.check_sesm_sparsity, lambda Z, gain: torch.log1p(Z**2).sum(-1), capsys, "Z = 0")
    assert_fails(checks.check_sesm_sparsity, lambda Z, gain: torch.log1p(torch.sigmoid(gain * Z)).sum(-1), capsys)
    assert_fails(checks.check_sesm_sparsity, lambda Z, gain: torch.log1p(torch.sigmoid(gain * Z) ** 2).mean(-1), capsys)
    assert_fails(checks.check_sesm_sparsity, lambda Z, gain: torch.log1p(torch.sigmoid(Z) ** 2).sum(-1), capsys, "gain")


def loss_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r):
    return energy_good(Y, Z, W, b_enc, b_dec, gain, alpha_e) + alpha_s * torch.log1p(torch.sigmoid(gain * Z) ** 2).sum(1) + alpha_r * W.abs().sum()


def test_sesm_loss(capsys):
    assert_passes(checks.check_sesm_loss, loss_good, capsys)
    no_l1 = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: loss_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, 0.0)
    assert_fails(checks.check_sesm_loss, no_l1, capsys)
    l2 = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: loss_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, 0.0) + alpha_r * (W**2).sum()
    assert_fails(checks.check_sesm_loss, l2, capsys)
    sparse_on_z = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: energy_good(Y, Z, W, b_enc, b_dec, gain, alpha_e) + alpha_s * torch.log1p(Z**2).sum(1) + alpha_r * W.abs().sum()
    assert_fails(checks.check_sesm_loss, sparse_on_z, capsys)


def grad_z_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s):
    s = torch.sigmoid(gain * Z)
    R = Z - (Y @ W + b_enc)
    D = s @ W.T + b_dec - Y
    return 2 * alpha_e * R + gain * s * (1 - s) * (2 * D @ W + alpha_s * 2 * s / (1 + s * s))


def test_sesm_grad_z(capsys):
    assert_passes(checks.check_sesm_grad_z, grad_z_good, capsys)

    def no_logistic_slope(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s):
        s = torch.sigmoid(gain * Z)
        R, D = Z - (Y @ W + b_enc), s @ W.T + b_dec - Y
        return 2 * alpha_e * R + (2 * D @ W + alpha_s * 2 * s / (1 + s * s))

    assert_fails(checks.check_sesm_grad_z, no_logistic_slope, capsys)
    half = lambda *a, **k: grad_z_good(*a, **k) / 2
    assert_fails(checks.check_sesm_grad_z, half, capsys)

    def forgot_sparsity(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s):
        return grad_z_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, 0.0)

    assert_fails(checks.check_sesm_grad_z, forgot_sparsity, capsys)


def grad_w_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r):
    s = torch.sigmoid(gain * Z)
    R = Z - (Y @ W + b_enc)
    D = s @ W.T + b_dec - Y
    return (-2 * alpha_e * Y.T @ R + 2 * D.T @ s) / Y.shape[0] + alpha_r * torch.sign(W)


def test_sesm_grad_w(capsys):
    assert_passes(checks.check_sesm_grad_w, grad_w_good, capsys)

    def decoder_only(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r):
        s = torch.sigmoid(gain * Z)
        return 2 * (s @ W.T + b_dec - Y).T @ s / Y.shape[0] + alpha_r * torch.sign(W)

    assert_fails(checks.check_sesm_grad_w, decoder_only, capsys)
    summed = lambda Y, *a, **k: grad_w_good(Y, *a, **k) * Y.shape[0]
    assert_fails(checks.check_sesm_grad_w, summed, capsys, "batch of 5")
    no_l1 = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: grad_w_good(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, 0.0)
    assert_fails(checks.check_sesm_grad_w, no_l1, capsys)


def test_grad_checks_agree_with_library_closed_forms(capsys):
    """The library's closed-form gradients pass the autograd-based checks."""
    assert_passes(checks.check_sesm_grad_z, lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s: sesm.code_grad(
        Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s), capsys)
    assert_passes(checks.check_sesm_grad_w, lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: sesm.loss_grads(
        Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r)["W"], capsys)
    assert_passes(checks.check_free_energy, lambda E, beta, dz: en.free_energy(E, beta, dz=dz), capsys)


# ------------------------------------------------------------------ 01: energy and entropy


def ee_good(E, beta, dz):
    log_p = torch.log_softmax(-beta * E, dim=-1)
    p = log_p.exp()
    return (p * E).sum(-1), -(p * (log_p - math.log(dz))).sum(-1)


def test_energy_entropy(capsys):
    assert_passes(checks.check_energy_entropy, ee_good, capsys)

    def naive(E, beta, dz):  # p by hand: exp underflows, then 0 * log 0 = NaN
        w = torch.exp(-beta * E)
        p = w / w.sum(-1, keepdim=True)
        return (p * E).sum(-1), -(p * torch.log(p / dz)).sum(-1)

    assert_fails(checks.check_energy_entropy, naive, capsys, "large energies", "NaN")
    no_dz = lambda E, beta, dz: ee_good(E, beta, 1.0)  # noqa: E731  (a discrete entropy)
    assert_fails(checks.check_energy_entropy, no_dz, capsys, "dz = 0.5")
    swapped = lambda E, beta, dz: ee_good(E, beta, dz)[::-1]  # noqa: E731
    assert_fails(checks.check_energy_entropy, swapped, capsys)


def test_energy_entropy_parts_add_up_to_the_free_energy():
    from sesmlib.checks.references import mean_energy_and_entropy

    E = torch.rand(7, 30, dtype=torch.float64) * 3
    for beta, dz in [(0.3, 0.2), (1.0, 1.0), (25.0, 0.05)]:
        U, H = mean_energy_and_entropy(E, beta, dz)
        assert torch.allclose(U - H / beta, en.free_energy(E, beta, dz=dz), atol=1e-10)
    # a flat basin of width w has entropy log w
    U, H = mean_energy_and_entropy(torch.zeros(1, 8, dtype=torch.float64), 2.0, 0.25)
    assert math.isclose(float(H), math.log(8 * 0.25), abs_tol=1e-12)


# ------------------------------------------------------- 02: conditionals, Gibbs step, AIS


def test_conditionals(capsys):
    assert_passes(checks.check_p_h_given_v, lambda V, W, b_hid: torch.sigmoid(V @ W + b_hid), capsys)
    assert_passes(checks.check_p_v_given_h, lambda H, W, b_vis: torch.sigmoid(H @ W.T + b_vis), capsys)
    assert_fails(checks.check_p_h_given_v, lambda V, W, b_hid: torch.sigmoid(V @ W), capsys, "b_hid is left out")
    assert_fails(checks.check_p_h_given_v, lambda V, W, b_hid: torch.exp(V @ W + b_hid), capsys)
    # forgetting the transpose is a shape error, reported as such
    assert_fails(checks.check_p_v_given_h, lambda H, W, b_vis: torch.sigmoid(H @ W + b_vis), capsys, "raised")
    assert_fails(checks.check_p_v_given_h, lambda H, W, b_vis: torch.sigmoid(-(H @ W.T + b_vis)), capsys)


def gibbs_good(V, W, b_vis, b_hid, u_h, u_v):
    H = (u_h < torch.sigmoid(V @ W + b_hid)).to(V.dtype)
    return H, (u_v < torch.sigmoid(H @ W.T + b_vis)).to(V.dtype)


def test_gibbs_step(capsys):
    assert_passes(checks.check_gibbs_step, gibbs_good, capsys)

    def at_or_below(V, W, b_vis, b_hid, u_h, u_v):
        H = (u_h <= torch.sigmoid(V @ W + b_hid)).to(V.dtype)
        return H, (u_v <= torch.sigmoid(H @ W.T + b_vis)).to(V.dtype)

    assert_fails(checks.check_gibbs_step, at_or_below, capsys, "strictly below")

    def mean_field_h(V, W, b_vis, b_hid, u_h, u_v):  # V1 from p(h | V) instead of the sample
        P = torch.sigmoid(V @ W + b_hid)
        return (u_h < P).to(V.dtype), (u_v < torch.sigmoid(P @ W.T + b_vis)).to(V.dtype)

    assert_fails(checks.check_gibbs_step, mean_field_h, capsys, "sampled H")
    only_v = lambda *a: gibbs_good(*a)[1]  # noqa: E731
    assert_fails(checks.check_gibbs_step, only_v, capsys)
    bool_out = lambda *a: tuple(t.bool() for t in gibbs_good(*a))  # noqa: E731
    assert_fails(checks.check_gibbs_step, bool_out, capsys, "dtype")


def ais_good(V, bp, bn, W, b_vis, b_hid, b_A):
    def log_f(beta):
        return (1 - beta) * V @ b_A + beta * V @ b_vis + F.softplus(beta * (V @ W + b_hid)).sum(-1)
    return log_f(bn) - log_f(bp)


def test_ais_log_weight(capsys):
    assert_passes(checks.check_ais_log_weight, ais_good, capsys)

    def no_base(V, bp, bn, W, b_vis, b_hid, b_A):  # the base model's visible biases left out
        return ais_good(V, bp, bn, W, b_vis, b_hid, torch.zeros_like(b_A))

    assert_fails(checks.check_ais_log_weight, no_base, capsys, "0 -> 1")

    def unscaled_hidden_bias(V, bp, bn, W, b_vis, b_hid, b_A):
        def log_f(beta):
            return (1 - beta) * V @ b_A + beta * V @ b_vis + F.softplus(beta * (V @ W) + b_hid).sum(-1)
        return log_f(bn) - log_f(bp)

    assert_fails(checks.check_ais_log_weight, unscaled_hidden_bias, capsys)

    def naive_softplus(V, bp, bn, W, b_vis, b_hid, b_A):
        def log_f(beta):
            return (1 - beta) * V @ b_A + beta * V @ b_vis + torch.log(1 + torch.exp(beta * (V @ W + b_hid))).sum(-1)
        return log_f(bn) - log_f(bp)

    assert_fails(checks.check_ais_log_weight, naive_softplus, capsys, "large weights")
    reversed_ = lambda V, bp, bn, *a: ais_good(V, bn, bp, *a)  # noqa: E731
    assert_fails(checks.check_ais_log_weight, reversed_, capsys)


def test_ais_with_the_reference_weights_finds_the_exact_log_z():
    """The pieces the notebook assembles (Gibbs steps at each beta and the log weights) give
    an AIS estimate within its error bar of the exact log Z."""
    from sesmlib.checks import references as ref
    from sesmlib.rbm import RBM

    g = torch.Generator().manual_seed(3)
    N, M, C = 8, 5, 200
    W = torch.randn(N, M, generator=g, dtype=torch.float64)
    b_vis = 0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    b_hid = 0.5 * torch.randn(M, generator=g, dtype=torch.float64)
    b_A = torch.zeros(N, dtype=torch.float64)
    rbm = RBM(N, M, seed=0, device="cpu", dtype=torch.float64)
    with torch.no_grad():
        rbm.W.copy_(W); rbm.b_vis.copy_(b_vis); rbm.b_hid.copy_(b_hid)
    betas = torch.linspace(0, 1, 301, dtype=torch.float64).tolist()
    V = (torch.rand(C, N, generator=g, dtype=torch.float64) < 0.5).double()
    log_w = torch.zeros(C, dtype=torch.float64)
    for k in range(1, len(betas)):
        log_w += ref.ais_log_weight(V, betas[k - 1], betas[k], W, b_vis, b_hid, b_A)
        b = betas[k]
        _, V = ref.gibbs_step(V, b * W, (1 - b) * b_A + b * b_vis, b * b_hid,
                              torch.rand(C, M, generator=g, dtype=torch.float64),
                              torch.rand(C, N, generator=g, dtype=torch.float64))
    log_z = (N + M) * math.log(2) + float(torch.logsumexp(log_w, 0)) - math.log(C)
    assert abs(log_z - rbm.log_partition_exact()) < 0.1


# --------------------------------------------------------------------- 03: the biases


def biases_good(Y, Z, W, b_enc, b_dec, gain, alpha_e):
    s = torch.sigmoid(gain * Z)
    R, D = Z - (Y @ W + b_enc), s @ W.T + b_dec - Y
    return -2 * alpha_e * R.mean(0), 2 * D.mean(0)


def test_sesm_grad_biases(capsys):
    assert_passes(checks.check_sesm_grad_biases, biases_good, capsys)
    plus_r = lambda *a, **k: (-biases_good(*a, **k)[0], biases_good(*a, **k)[1])  # noqa: E731
    assert_fails(checks.check_sesm_grad_biases, plus_r, capsys)
    summed = lambda Y, *a, **k: tuple(g * Y.shape[0] for g in biases_good(Y, *a, **k))  # noqa: E731
    assert_fails(checks.check_sesm_grad_biases, summed, capsys, "batch of 5")
    per_sample = lambda Y, Z, W, b_enc, b_dec, gain, alpha_e: (  # noqa: E731
        -2 * alpha_e * (Z - (Y @ W + b_enc)), 2 * (torch.sigmoid(gain * Z) @ W.T + b_dec - Y))
    assert_fails(checks.check_sesm_grad_biases, per_sample, capsys, "shape")


def test_gradient_formulas_are_revealed_only_after_a_pass(capsys):
    wrong = lambda *a, **k: grad_z_good(*a, **k) / 2  # noqa: E731
    _, out = _run(checks.check_sesm_grad_z, wrong, capsys)
    assert "written out" not in out and "2 D W" not in out.replace("\\,", " ")
    for check, good in [(checks.check_sesm_grad_z, grad_z_good), (checks.check_sesm_grad_w, grad_w_good),
                        (checks.check_sesm_grad_biases, biases_good)]:
        _, out = _run(check, good, capsys)
        assert out.startswith("✅") and "written out" in out and "$$" in out, check.__name__


def test_first_case_labels_say_what_is_tested():
    """The W = 0 case's label names the only term left for each quantity; verify each claim."""
    from sesmlib.checks import sesm as cs

    Y, Z, W, b_enc, b_dec = torch.ones(1, 2), torch.zeros(1, 1), torch.zeros(2, 1), torch.zeros(1), torch.zeros(2)
    a_s = 0.2
    E = cs._ref_energy(Y, Z, W, b_enc, b_dec)
    assert torch.allclose(E, torch.tensor([2.0]))  # only the reconstruction term, ||Y||^2 = 2
    L = cs._ref_loss(Y, Z, W, b_enc, b_dec, alpha_s=a_s)
    assert torch.allclose(L, torch.tensor([2.0 + a_s * math.log(1.25)]))
    gz = cs._ref_grad_z(Y, Z, W, b_enc, b_dec, alpha_s=a_s)
    s = 0.5
    assert torch.allclose(gz, torch.tensor([[7.0 * s * (1 - s) * a_s * 2 * s / (1 + s * s)]]))  # sparsity only
    gw = cs._ref_grad_w(Y, Z, W, b_enc, b_dec, alpha_s=a_s)
    assert torch.allclose(gw, 2 * (-Y).T @ torch.full((1, 1), s))  # decoder term only
    gb = cs._ref_grad_biases(Y, Z, W, b_enc, b_dec)
    assert torch.allclose(gb[0], torch.zeros(1)) and torch.allclose(gb[1], -2 * Y[0])
    assert "only the sparsity" in cs._ZERO_CASE["grad_z"] and "only the reconstruction" in cs._ZERO_CASE["energy"]
