"""Checks of notebooks 04-05 against a correct and several deliberately wrong answers."""
from __future__ import annotations

import torch

from sesmlib import checks
from sesmlib.checks import last_result, prefer


# ------------------------------------------------------------------------------ step 1


def infer_ok(model, Y, steps, step_size):
    Z = model.encode(Y)
    for _ in range(steps):
        Z = Z - step_size * model.grads(Y, Z)["Z"]
    return Z


def infer_autograd(model, Y, steps, step_size):  # also right: autograd on the summed loss
    Z = model.encode(Y).detach()
    for _ in range(steps):
        Z = Z.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model.loss(Y, Z).sum(), Z)
        Z = Z - step_size * g
    return Z.detach()


def infer_from_zero(model, Y, steps, step_size):
    Z = torch.zeros_like(model.encode(Y))
    for _ in range(steps):
        Z = Z - step_size * model.grads(Y, Z)["Z"]
    return Z


def infer_ascent(model, Y, steps, step_size):
    Z = model.encode(Y)
    for _ in range(steps):
        Z = Z + step_size * model.grads(Y, Z)["Z"]
    return Z


def infer_stale_gradient(model, Y, steps, step_size):
    Z = model.encode(Y)
    g = model.grads(Y, Z)["Z"]
    for _ in range(steps):
        Z = Z - step_size * g
    return Z


def infer_one_step_too_many(model, Y, steps, step_size):
    Z = model.encode(Y)
    for _ in range(steps + 1):
        Z = Z - step_size * model.grads(Y, Z)["Z"]
    return Z


def infer_returns_logistic(model, Y, steps, step_size):
    return torch.sigmoid(model.gain * infer_ok(model, Y, steps, step_size))


def infer_mean_gradient(model, Y, steps, step_size):  # the batch-mean loss: steps shrink with B
    Z = model.encode(Y)
    for _ in range(steps):
        Z = Z - step_size * model.grads(Y, Z)["Z"] / Y.shape[0]
    return Z


def infer_stub(model, Y, steps, step_size):
    raise NotImplementedError("Exercise: start from the encoder")


def infer_no_return(model, Y, steps, step_size):
    infer_ok(model, Y, steps, step_size)


def test_infer_code_check_accepts_right_answers(capsys):
    assert checks.check_infer_code(infer_ok)
    assert checks.check_infer_code(infer_autograd)
    assert "✅" in capsys.readouterr().out
    assert prefer(infer_ok, None) is infer_ok


def test_infer_code_check_rejects_wrong_answers(capsys):
    for wrong in (infer_from_zero, infer_ascent, infer_stale_gradient, infer_one_step_too_many,
                  infer_returns_logistic, infer_mean_gradient):
        assert not checks.check_infer_code(wrong), wrong.__name__
        out = capsys.readouterr().out
        assert out.startswith("❌") and "failed on" in out and "hint" in out, wrong.__name__
        assert last_result(wrong) == ("check_infer_code", False)


def test_infer_code_check_friendly_messages(capsys):
    assert not checks.check_infer_code(infer_stub)
    assert "not done yet" in capsys.readouterr().out
    assert not checks.check_infer_code(infer_no_return)
    assert "returned None" in capsys.readouterr().out
    assert not checks.check_infer_code(None)
    assert "expected a function" in capsys.readouterr().out


# ------------------------------------------------------------------------------ step 2


def step_ok(model, Y, Z, lr):
    g = model.grads(Y, Z)
    model.W -= lr * g["W"]
    model.b_enc -= lr * g["b_enc"]
    model.b_dec -= lr * g["b_dec"]


def step_rebinding(model, Y, Z, lr):  # also right: new tensors instead of in-place updates
    g = model.grads(Y, Z)
    model.W, model.b_enc, model.b_dec = model.W - lr * g["W"], model.b_enc - lr * g["b_enc"], model.b_dec - lr * g["b_dec"]
    return model


def step_uphill(model, Y, Z, lr):
    g = model.grads(Y, Z)
    model.W += lr * g["W"]
    model.b_enc += lr * g["b_enc"]
    model.b_dec += lr * g["b_dec"]


def step_forgets_b_dec(model, Y, Z, lr):
    g = model.grads(Y, Z)
    model.W -= lr * g["W"]
    model.b_enc -= lr * g["b_enc"]


def step_sequential(model, Y, Z, lr):  # gradients of the biases taken after W moved
    model.W = model.W - lr * model.grads(Y, Z)["W"]
    model.b_enc = model.b_enc - lr * model.grads(Y, Z)["b_enc"]
    model.b_dec = model.b_dec - lr * model.grads(Y, Z)["b_dec"]


def step_reinfers_code(model, Y, Z, lr):  # ignores the clamped Z
    step_ok(model, Y, model.encode(Y), lr)


def step_moves_code(model, Y, Z, lr):  # changes the clamped Z in place
    Z -= 0.1 * model.grads(Y, Z)["Z"]
    step_ok(model, Y, Z, lr)


def step_twice(model, Y, Z, lr):
    step_ok(model, Y, Z, lr)
    step_ok(model, Y, Z, lr)


def step_stub(model, Y, Z, lr):
    raise NotImplementedError("Exercise: one gradient step")


def test_parameter_step_check_accepts_right_answers(capsys):
    assert checks.check_parameter_step(step_ok)
    assert checks.check_parameter_step(step_rebinding)
    assert capsys.readouterr().out.count("✅") == 2
    assert prefer(step_ok, None) is step_ok  # the student's own function is recorded


def test_parameter_step_check_rejects_wrong_answers(capsys):
    expected_words = {
        step_uphill: "uphill",
        step_forgets_b_dec: "b_dec was not updated",
        step_sequential: "b_enc",
        step_reinfers_code: "differs",
        step_moves_code: "",
        step_twice: "differs",
    }
    for wrong, word in expected_words.items():
        assert not checks.check_parameter_step(wrong), wrong.__name__
        out = capsys.readouterr().out
        assert out.startswith("❌") and word in out, (wrong.__name__, out)
        assert last_result(wrong) == ("check_parameter_step", False)


def test_parameter_step_check_friendly_messages(capsys):
    assert not checks.check_parameter_step(step_stub)
    assert "not done yet" in capsys.readouterr().out
    assert not checks.check_parameter_step(None)
    assert "expected a function" in capsys.readouterr().out


# ------------------------------------------------------------------------------ entropy


def bpp_ok(index, n_bins, n_pixels):
    counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    p = counts[counts > 0] / index.numel()
    return index.shape[1] / n_pixels * -(p * torch.log2(p)).sum()


def bpp_float(index, n_bins, n_pixels):  # also right: a Python float, via a loop over levels
    import math

    total, H = index.numel(), 0.0
    for level in range(n_bins):
        c = int((index == level).sum())
        if c:
            H -= c / total * math.log2(c / total)
    return H * index.shape[1] / n_pixels


def bpp_natural_log(index, n_bins, n_pixels):
    counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    p = counts[counts > 0] / index.numel()
    return index.shape[1] / n_pixels * -(p * torch.log(p)).sum()


def bpp_keeps_empty_levels(index, n_bins, n_pixels):
    p = torch.bincount(index.reshape(-1), minlength=n_bins).double() / index.numel()
    return index.shape[1] / n_pixels * -(p * torch.log2(p)).sum()


def bpp_per_unit_average(index, n_bins, n_pixels):  # one histogram per unit, not pooled
    H = 0.0
    for j in range(index.shape[1]):
        counts = torch.bincount(index[:, j], minlength=n_bins).double()
        p = counts[counts > 0] / index.shape[0]
        H = H - (p * torch.log2(p)).sum()
    return H / n_pixels


def bpp_bits_per_unit(index, n_bins, n_pixels):  # forgets M / N
    counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    p = counts[counts > 0] / index.numel()
    return -(p * torch.log2(p)).sum()


def bpp_per_level(index, n_bins, n_pixels):  # returns the terms, not their sum
    counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    p = counts[counts > 0] / index.numel()
    return -(p * torch.log2(p)) * index.shape[1] / n_pixels


def bpp_divides_by_levels(index, n_bins, n_pixels):  # p = counts / Q
    counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    p = counts[counts > 0] / n_bins
    return index.shape[1] / n_pixels * -(p * torch.log2(p)).sum()


def test_code_entropy_check_accepts_right_answers(capsys):
    assert checks.check_code_entropy(bpp_ok)
    assert checks.check_code_entropy(bpp_float)
    assert capsys.readouterr().out.count("✅") == 2


def test_code_entropy_check_rejects_wrong_answers(capsys):
    words = {
        bpp_natural_log: "expected 2",
        bpp_keeps_empty_levels: "NaN",
        bpp_per_unit_average: "expected",
        bpp_bits_per_unit: "expected 0.5",
        bpp_per_level: "one number",
        bpp_divides_by_levels: "expected",
    }
    for wrong, word in words.items():
        assert not checks.check_code_entropy(wrong), wrong.__name__
        out = capsys.readouterr().out
        assert out.startswith("❌") and word in out and "hint" in out, (wrong.__name__, out)
    assert not checks.check_code_entropy(None)
    assert "expected a function" in capsys.readouterr().out


def test_code_entropy_check_stub(capsys):
    def stub(index, n_bins, n_pixels):
        raise NotImplementedError("Exercise: count the levels")

    assert not checks.check_code_entropy(stub)
    assert "not done yet" in capsys.readouterr().out
