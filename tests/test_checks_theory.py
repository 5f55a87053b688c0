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


def _run(check, fn, capsys):
    ok = check(fn)
    out = capsys.readouterr().out
    return ok, out


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write it")


def assert_fails(check, fn, capsys, *must_contain):
    ok, out = _run(check, fn, capsys)
    assert bool(ok) is False, out
    assert out.startswith("❌"), out
    for text in must_contain:
        assert text in out, out
    assert "Traceback" not in out


def assert_passes(check, fn, capsys):
    ok, out = _run(check, fn, capsys)
    assert bool(ok) is True, out
    assert out.startswith("✅"), out


ALL_CHECKS = [
    checks.check_free_energy, checks.check_free_energy_inf, checks.check_free_energy_gap,
    checks.check_log_partition_enum, checks.check_cd1_update,
    checks.check_sesm_energy, checks.check_sesm_sparsity, checks.check_sesm_loss,
    checks.check_sesm_grad_z, checks.check_sesm_grad_w,
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
