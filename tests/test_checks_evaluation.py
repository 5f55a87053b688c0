"""The checks of notebooks 05-07 (sesmlib.checks.coding, .probe, .filters), each against
correct implementations and several deliberately wrong ones, with the message that names
the mistake."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sesmlib import checks, evaluate

from _check_asserts import assert_fails, assert_passes
from _check_asserts import run as _run
from _check_asserts import stub as _stub


NEW_CHECKS = [checks.check_quantize, checks.check_quantised_rmse, checks.check_pareto_front,
              checks.check_probe_grads, checks.check_spatial_spread]


@pytest.mark.parametrize("check", NEW_CHECKS, ids=lambda c: c.__name__)
def test_stub_gets_not_done_yet(check, capsys):
    ok, out = _run(check, _stub, capsys)
    assert not ok and out.startswith("⏳"), out


@pytest.mark.parametrize("check", NEW_CHECKS, ids=lambda c: c.__name__)
def test_not_a_function(check, capsys):
    ok, out = _run(check, torch.zeros(3), capsys)
    assert not ok and "expected a function" in out, out


# ------------------------------------------------------------------------ quantisation


def quantize_ok(codes, n_levels):
    index = torch.round(codes * (n_levels - 1)).clamp(0, n_levels - 1).long()
    return index, index.to(codes.dtype) / (n_levels - 1)


def quantize_library(codes, n_levels):
    q = evaluate.quantize(codes, n_levels)
    return q.index, q.value


def test_quantize_passes(capsys):
    assert_passes(checks.check_quantize, quantize_ok, capsys)
    assert_passes(checks.check_quantize, quantize_library, capsys)


def test_quantize_mistakes(capsys):
    def floor(codes, Q):
        index = torch.floor(codes * (Q - 1)).clamp(0, Q - 1).long()
        return index, index.to(codes.dtype) / (Q - 1)

    def bins(codes, Q):  # Q equal bins and their centres
        index = torch.floor(codes * Q).clamp(0, Q - 1).long()
        return index, (index.to(codes.dtype) + 0.5) / Q

    def no_clamp(codes, Q):
        index = torch.round(codes * (Q - 1)).long()
        return index, index.to(codes.dtype) / (Q - 1)

    def float_index(codes, Q):
        index = torch.round(codes * (Q - 1)).clamp(0, Q - 1)
        return index, index / (Q - 1)

    def wrong_values(codes, Q):
        index = torch.round(codes * (Q - 1)).clamp(0, Q - 1).long()
        return index, index.to(codes.dtype) / Q

    def value_only(codes, Q):
        return torch.round(codes * (Q - 1)).clamp(0, Q - 1) / (Q - 1)

    assert_fails(checks.check_quantize, floor, capsys, "rounded down")
    assert_fails(checks.check_quantize, bins, capsys, "both ends")
    assert_fails(checks.check_quantize, no_clamp, capsys, "end levels")
    assert_fails(checks.check_quantize, float_index, capsys, "integers")
    assert_fails(checks.check_quantize, wrong_values, capsys, "stands for")
    assert_fails(checks.check_quantize, value_only, capsys, "pair (index, value)")


def test_quantize_cases_hold_no_ties():
    """No case value sits exactly half-way between two levels (round-half-even vs half-up)."""
    from sesmlib.checks import coding

    for c in [torch.tensor([[0.0, 0.3, 0.9, 1.0]]), coding._codes((4, 6), 1), coding._codes((3, 10), 2),
              coding._codes((5, 4), 3, dtype=torch.float64)]:
        for Q in (2, 5, 7, 256):
            u = c.double() * (Q - 1)
            assert float(((u - u.floor()) - 0.5).abs().min()) > 1e-6


# ------------------------------------------------------------- RMSE from the quantised code


def rmse_ok(model, X, n_levels):
    index = torch.round(model.code(X) * (n_levels - 1)).clamp(0, n_levels - 1)
    Y_hat = model.decode_code(index / (n_levels - 1))
    return float(((X - Y_hat) ** 2).mean().sqrt() / X.std().sqrt())


def test_quantised_rmse_passes(capsys):
    assert_passes(checks.check_quantised_rmse, rmse_ok, capsys)

    def with_library(model, X, n_levels):
        return evaluate.rmse(X, model.decode_code(evaluate.quantize(model.code(X), n_levels).value))

    assert_passes(checks.check_quantised_rmse, with_library, capsys)


def test_quantised_rmse_mistakes(capsys):
    def q(model, X, Q):
        return evaluate.quantize(model.code(X), Q).value

    def by_std(model, X, Q):
        return float(((X - model.decode_code(q(model, X, Q))) ** 2).mean().sqrt() / X.std())

    def not_normalised(model, X, Q):
        return float(((X - model.decode_code(q(model, X, Q))) ** 2).mean().sqrt())

    def unquantised(model, X, Q):
        return evaluate.rmse(X, model.decode_code(model.code(X)))

    def decode_twice(model, X, Q):
        return evaluate.rmse(X, model.decode(q(model, X, Q)))

    def per_sample(model, X, Q):
        return ((X - model.decode_code(q(model, X, Q))) ** 2).mean(1).sqrt() / X.std().sqrt()

    assert_fails(checks.check_quantised_rmse, by_std, capsys, "std of the pixels")
    assert_fails(checks.check_quantised_rmse, not_normalised, capsys, "not divided by sigma")
    assert_fails(checks.check_quantised_rmse, unquantised, capsys, "before* quantisation")
    assert_fails(checks.check_quantised_rmse, decode_twice, capsys, "model.decode_code")
    assert_fails(checks.check_quantised_rmse, per_sample, capsys, "one number")


def test_quantised_rmse_upstream_stub_is_named(capsys):
    def quantize_code(codes, n_levels):
        raise NotImplementedError("Exercise: quantise")

    def quantised_rmse(model, X, n_levels):
        index, value = quantize_code(model.code(X), n_levels)
        return evaluate.rmse(X, model.decode_code(value))

    ok, out = _run(checks.check_quantised_rmse, quantised_rmse, capsys)
    assert not ok and out.startswith("⏳") and "`quantize_code`" in out, out


# ------------------------------------------------------------------------ Pareto front


def front_loops(bits, rmse):
    P = len(bits)
    keep = []
    for i in range(P):
        beaten = any(bits[j] <= bits[i] and rmse[j] <= rmse[i] and (bits[j] < bits[i] or rmse[j] < rmse[i])
                     for j in range(P) if j != i)
        keep.append(not beaten)
    return torch.tensor(keep)


def test_pareto_front_passes(capsys):
    assert_passes(checks.check_pareto_front, front_loops, capsys)
    assert_passes(checks.check_pareto_front, checks.references.pareto_front, capsys)


def test_pareto_front_mistakes(capsys):
    def weak(bits, rmse):  # "no worse on both" without the strict part: identical points knock each other out
        no_worse = (bits[None, :] <= bits[:, None]) & (rmse[None, :] <= rmse[:, None])
        no_worse.fill_diagonal_(False)
        return ~no_worse.any(dim=1)

    def strict_both(bits, rmse):  # only strictly better on both counts
        return ~((bits[None, :] < bits[:, None]) & (rmse[None, :] < rmse[:, None])).any(dim=1)

    def transposed(bits, rmse):  # who beats whom, the wrong way round
        no_worse = (bits[:, None] <= bits[None, :]) & (rmse[:, None] <= rmse[None, :])
        better = (bits[:, None] < bits[None, :]) | (rmse[:, None] < rmse[None, :])
        return ~(no_worse & better).any(dim=1)

    def as_floats(bits, rmse):
        return checks.references.pareto_front(bits, rmse).float()

    assert_fails(checks.check_pareto_front, weak, capsys, "identical points")
    assert_fails(checks.check_pareto_front, strict_both, capsys, "beats it")
    assert_fails(checks.check_pareto_front, transposed, capsys, "failed on")
    assert_fails(checks.check_pareto_front, as_floats, capsys, "expected bool")


# ------------------------------------------------------------------------ the probe


def probe_ok(X, y, W, b, ridge):
    A = X @ W + b
    P = torch.softmax(A, dim=1)
    T = F.one_hot(y, W.shape[1]).to(X.dtype)
    loss = F.cross_entropy(A, y) + 0.5 * ridge * (W**2).sum()
    return loss, X.T @ (P - T) / len(X) + ridge * W, (P - T).mean(0)


def probe_autograd(X, y, W, b, ridge):
    W = W.detach().requires_grad_(True)
    b = b.detach().requires_grad_(True)
    loss = -torch.log_softmax(X @ W + b, 1)[torch.arange(len(y)), y].mean() + 0.5 * ridge * (W * W).sum()
    dW, db = torch.autograd.grad(loss, [W, b])
    return loss.detach(), dW, db


def test_probe_passes(capsys):
    assert_passes(checks.check_probe_grads, probe_ok, capsys)
    assert_passes(checks.check_probe_grads, probe_autograd, capsys)


def test_probe_reference_matches_autograd():
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(13, 5, generator=g, dtype=torch.float64), torch.randint(0, 4, (13,), generator=g)
    W, b = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    loss, dW, db = checks.references.probe_loss_grads(X, y, W, b, 0.3)
    l2, dW2, db2 = probe_autograd(X, y, W, b, 0.3)
    assert math.isclose(float(loss), float(l2), rel_tol=1e-12)
    torch.testing.assert_close(dW, dW2)
    torch.testing.assert_close(db, db2)


def test_probe_mistakes(capsys):
    def naive_exp(X, y, W, b, ridge):
        A = X @ W + b
        P = torch.exp(A) / torch.exp(A).sum(1, keepdim=True)
        T = F.one_hot(y, W.shape[1]).to(X.dtype)
        loss = -(T * torch.log(P)).sum(1).mean() + 0.5 * ridge * (W**2).sum()
        return loss, X.T @ (P - T) / len(X) + ridge * W, (P - T).mean(0)

    def no_ridge_grad(X, y, W, b, ridge):
        loss, dW, db = probe_ok(X, y, W, b, ridge)
        return loss, dW - ridge * W, db

    def no_ridge_loss(X, y, W, b, ridge):
        loss, dW, db = probe_ok(X, y, W, b, ridge)
        return loss - 0.5 * ridge * (W**2).sum(), dW, db

    def sign(X, y, W, b, ridge):
        loss, dW, db = probe_ok(X, y, W, b, ridge)
        return loss, dW, -db

    def summed(X, y, W, b, ridge):
        loss, dW, db = probe_ok(X, y, W, b, ridge)
        return loss, dW, db * len(X)

    def two_things(X, y, W, b, ridge):
        return probe_ok(X, y, W, b, ridge)[1:]

    assert_fails(checks.check_probe_grads, naive_exp, capsys, "large scores", "log_softmax")
    assert_fails(checks.check_probe_grads, no_ridge_grad, capsys, "ridge * W")
    assert_fails(checks.check_probe_grads, no_ridge_loss, capsys, "ridge term")
    assert_fails(checks.check_probe_grads, sign, capsys, "opposite sign")
    assert_fails(checks.check_probe_grads, summed, capsys, "B times too large")
    assert_fails(checks.check_probe_grads, two_things, capsys, "three things")


# ------------------------------------------------------------------------ spatial spread


def spread_ok(filters, shape):
    H, W = shape
    p = filters.double().T ** 2  # (K, N)
    p = p / p.sum(1, keepdim=True)
    r, c = torch.meshgrid(torch.arange(float(H)), torch.arange(float(W)), indexing="ij")
    pos = torch.stack([r.reshape(-1), c.reshape(-1)], 1).double()  # (N, 2)
    mu = p @ pos  # (K, 2)
    var = (p * ((pos[None] - mu[:, None]) ** 2).sum(-1)).sum(1)
    return (var / ((H * H - 1) / 12 + (W * W - 1) / 12)).sqrt()


def test_spread_passes(capsys):
    assert_passes(checks.check_spatial_spread, spread_ok, capsys)
    assert_passes(checks.check_spatial_spread, lambda f, s: evaluate.spatial_spread(f, s), capsys)


def test_spread_mistakes(capsys):
    def unnormalised(filters, shape):
        H, W = shape
        return spread_ok(filters, shape) * math.sqrt((H * H - 1) / 12 + (W * W - 1) / 12)

    def squared(filters, shape):
        return spread_ok(filters, shape) ** 2

    def abs_weights(filters, shape):  # |w| instead of w^2
        return spread_ok(filters.abs().sqrt(), shape)

    def float32(filters, shape):
        return spread_ok(filters, shape).float()

    def transposed_image(filters, shape):  # reads each column as W rows of H pixels
        H, W = shape
        return spread_ok(filters, (W, H))

    assert_fails(checks.check_spatial_spread, unnormalised, capsys, "uniform filter's radius")
    assert_fails(checks.check_spatial_spread, squared, capsys, "square root")
    assert_fails(checks.check_spatial_spread, abs_weights, capsys, "failed on")
    assert_fails(checks.check_spatial_spread, float32, capsys, "float64")
    assert_fails(checks.check_spatial_spread, transposed_image, capsys, "not square")


def test_probe_gradient_is_revealed_only_after_a_pass(capsys):
    _, out = _run(checks.check_probe_grads, lambda X, y, W, b, r: probe_ok(X, y, W, b, r)[:2] + (torch.zeros(W.shape[1]),), capsys)
    assert "written out" not in out and "P - T" not in out
    _, out = _run(checks.check_probe_grads, probe_ok, capsys)
    assert out.startswith("✅") and "written out" in out and "P - T" in out
