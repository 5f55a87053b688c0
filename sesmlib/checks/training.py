"""Checks for notebooks 04 and 05: the two steps of SESM's coordinate descent, and the
entropy of a quantised code.

Step 1 (inference, Section 3 of the paper): starting from the encoder's prediction
``Z = f_enc(Y)``, take ``steps`` gradient steps ``Z <- Z - step_size dL/dZ`` on the loss
of eq. 8; the result is the optimal code Z*.

Step 2 (learning): with Y and Z* clamped, one gradient step on the parameters,
``theta <- theta - lr dL/dtheta`` for theta in W, b_enc, b_dec.

Entropy (Section 4.1): with c_i the number of code values in bin i, pooled over all
P samples and M units, ``H = - sum_i (c_i / (P M)) log2 (c_i / (P M))`` bits per code
unit, and ``(M / N) H`` bits per pixel.

The references are :meth:`sesmlib.sesm.SESM.infer_code`, :meth:`sesmlib.sesm.SESM.step`
and :func:`sesmlib.evaluate.bits_per_pixel`.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ._core import CheckResult, Case, random_tensor, record_result, run_check

__all__ = ["check_infer_code", "check_parameter_step", "check_code_entropy"]


def _model(N: int, M: int, seed: int, *, alpha_s: float = 0.2, dtype=torch.float32, w_scale: float = 0.3):
    """A small SESM on the CPU with filters large enough that the code is not trivially 0."""
    from ..sesm import SESM

    m = SESM(N, M, alpha_s=alpha_s, seed=seed, device="cpu", dtype=dtype)
    m.W = random_tensor((N, M), low=-w_scale, high=w_scale, dtype=dtype, seed=seed + 1)
    m.b_enc = random_tensor((M,), low=-0.2, high=0.2, dtype=dtype, seed=seed + 2)
    m.b_dec = random_tensor((N,), low=-0.2, high=0.2, dtype=dtype, seed=seed + 3)
    return m


def _Y(B: int, N: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    return random_tensor((B, N), low=0.0, high=1.0, dtype=dtype, seed=seed)


# ------------------------------------------------------------------------------ step 1


def _ref_infer_code(model, Y, steps, step_size):
    return model.infer_code(Y, steps=steps, step_size=step_size)


def check_infer_code(fn) -> CheckResult:
    """Check the student's ``fn(model, Y, steps, step_size) -> Z*`` (B, M): step 1 of the
    paper's algorithm, gradient descent on the loss of eq. 8 with respect to the code,
    starting from the encoder's output ``model.encode(Y)``.

    Examples
    --------
    >>> def infer(model, Y, steps, step_size):
    ...     Z = model.encode(Y)
    ...     for _ in range(steps):
    ...         Z = Z - step_size * model.grads(Y, Z)["Z"]
    ...     return Z
    >>> _ = check_infer_code(infer)  # doctest: +ELLIPSIS
    ✅ code inference (step 1): correct on all 5 inputs (values, shapes and dtypes checked).
    """
    cases = [
        Case("steps = 0: Z* is the encoder's prediction", _model(6, 4, 10), _Y(1, 6, 11), 0, 0.1),
        Case("one sample, N = 6, M = 4, 1 step of size 0.1", _model(6, 4, 20), _Y(1, 6, 21), 1, 0.1),
        Case("a batch of 5, 10 steps of size 0.05", _model(8, 5, 30), _Y(5, 8, 31), 10, 0.05),
        Case("alpha_s = 1 (strong sparsity), 20 steps of size 0.2", _model(7, 6, 40, alpha_s=1.0), _Y(3, 7, 41), 20, 0.2),
        Case("float64, a batch of 4, M = 12 > N = 9, 15 steps", _model(9, 12, 50, dtype=torch.float64),
             _Y(4, 9, 51, dtype=torch.float64), 15, 0.1),
    ]
    return run_check(
        "code inference (step 1)", fn, _ref_infer_code, cases, check_name="check_infer_code",
        hint="start from Z = model.encode(Y); then `steps` times: Z = Z - step_size * model.grads(Y, Z)['Z'] "
             "(the gradient must be recomputed at the new Z every step).",
    )


# ------------------------------------------------------------------------------ step 2


def _params_of(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return model.W.detach().clone(), model.b_enc.detach().clone(), model.b_dec.detach().clone()


def _ref_parameter_step(model, Y, Z, lr):
    model.step(Y, Z, lr)
    return _params_of(model)


class _AfterStep:
    """Calls the student's in-place ``fn(model, Y, Z, lr)`` and returns the model's new
    parameters, so the framework can compare them. It looks like ``fn`` to the framework
    (signature and source lines for messages)."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__code__ = getattr(fn, "__code__", None)
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "parameter_step")

    def __call__(self, model, Y, Z, lr):
        self.fn(model, Y, Z, lr)
        return _params_of(model)


def _compare_params(yours: Any, expected: Any, case: Case) -> str | None:
    names = ("W", "b_enc", "b_dec")
    before = _params_of(case.args[0])
    for name, y, e, b in zip(names, yours, expected, before):
        if y.shape != e.shape or y.dtype != e.dtype:
            return (f"after your step model.{name} has shape {tuple(y.shape)} and dtype {y.dtype}, expected "
                    f"{tuple(e.shape)} and {e.dtype}: update it with a tensor of its own shape.")
        if not torch.isfinite(y).all():
            return f"after your step model.{name} contains NaN or Inf."
        if torch.allclose(e, y, rtol=1e-4, atol=1e-6):
            continue
        if torch.equal(y, b):
            return f"model.{name} was not updated (it still has its old value); every parameter takes a step."
        if torch.allclose(y - b, -(e - b), rtol=1e-4, atol=1e-6):
            return f"model.{name} moved uphill: subtract lr times the gradient, do not add it."
        return (f"model.{name} after your step differs from the expected one by up to "
                f"{float((y - e).abs().max()):.3g}. Compute every gradient once, at the parameters before the "
                "step and at the given Z, then update.")
    return None


def check_parameter_step(fn) -> CheckResult:
    """Check the student's ``fn(model, Y, Z, lr)``: step 2 of the paper's algorithm, with
    Y and Z clamped, ONE gradient step on ``model.W``, ``model.b_enc`` and ``model.b_dec``
    in place (the gradient of the batch-mean loss; Z must not change).

    Examples
    --------
    >>> def parameter_step(model, Y, Z, lr):
    ...     g = model.grads(Y, Z)
    ...     model.W -= lr * g["W"]
    ...     model.b_enc -= lr * g["b_enc"]
    ...     model.b_dec -= lr * g["b_dec"]
    >>> _ = check_parameter_step(parameter_step)  # doctest: +ELLIPSIS
    ✅ parameter step (step 2): correct on all 5 inputs (outputs checked).
    """
    if not callable(fn):
        return run_check("parameter step (step 2)", fn, _ref_parameter_step, [Case("-", None, None, None, 0.1)],
                         check_name="check_parameter_step")
    # Z is the optimal code for the first cases and an arbitrary code for the last ones,
    # so that "recomputing Z inside the step" fails.
    m1, y1 = _model(6, 4, 60), _Y(1, 6, 61)
    m2, y2 = _model(8, 5, 70), _Y(4, 8, 71)
    m3, y3 = _model(7, 3, 80, alpha_s=1.0), _Y(2, 7, 81)
    m4, y4 = _model(9, 6, 90, dtype=torch.float64), _Y(3, 9, 91, dtype=torch.float64)
    cases = [
        Case("one sample, Z = Z* (10 steps), lr = 0.1", m1, y1, m1.infer_code(y1, steps=10, step_size=0.1), 0.1),
        Case("a batch of 4, Z = Z*, lr = 0.05 (the mean over the batch)", m2, y2,
             m2.infer_code(y2, steps=10, step_size=0.1), 0.05),
        Case("alpha_s = 1, an arbitrary Z (not the encoder's), lr = 0.2", m3, y3,
             random_tensor((2, 3), low=-1.0, high=1.0, seed=82), 0.2),
        Case("float64, a batch of 3, an arbitrary Z, lr = 0.01", m4, y4,
             random_tensor((3, 6), low=-1.0, high=1.0, dtype=torch.float64, seed=92), 0.01),
        Case("large lr = 1 (one step, not several)", m1, y1, m1.infer_code(y1, steps=10, step_size=0.1), 1.0),
    ]
    passed = run_check(
        "parameter step (step 2)", _AfterStep(fn), _ref_parameter_step, cases, compare=_compare_params,
        check_name="check_parameter_step",
        hint="g = model.grads(Y, Z) once, at the current parameters and the given Z; then "
             "model.W -= lr * g['W'], and the same for b_enc and b_dec.",
    )
    record_result(fn, "check_parameter_step", passed)
    return passed


# ------------------------------------------------------------------------------ entropy


def _ref_bits_per_pixel(index, n_bins, n_pixels):
    from ..evaluate import bits_per_pixel

    return bits_per_pixel(index, n_bins, n_pixels)


def _sparse_index(P: int, M: int, n_bins: int, p_on: float, seed: int) -> torch.Tensor:
    """Level indices of a quasi-binary sparse code: mostly 0, a few top levels, a few between."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(P, M, generator=g)
    index = torch.zeros(P, M, dtype=torch.long)
    index[u > 1 - p_on] = n_bins - 1
    middle = (u > 0.5) & (u <= 0.5 + p_on / 4)
    index[middle] = torch.randint(1, n_bins - 1, (int(middle.sum()),), generator=g)
    return index


def check_code_entropy(fn) -> CheckResult:
    """Check the student's ``fn(index, n_bins, n_pixels)``: the entropy of a quantised code
    in bits per pixel, ``(M / N) H`` with ``H = - sum_i p_i log2 p_i`` over the level
    counts pooled over all samples and units (Section 4.1).

    Examples
    --------
    >>> def bpp(index, n_bins, n_pixels):
    ...     counts = torch.bincount(index.reshape(-1), minlength=n_bins).double()
    ...     p = counts[counts > 0] / index.numel()
    ...     return index.shape[1] / n_pixels * -(p * torch.log2(p)).sum()
    >>> _ = check_code_entropy(bpp)  # doctest: +ELLIPSIS
    ✅ bits per pixel: correct on all 6 inputs (outputs checked).
    """
    cases = [
        Case("every value in level 0: no information, 0 bits", torch.zeros(3, 4, dtype=torch.long), 5, 4),
        Case("4 levels used equally, M = N = 2: 2 bits per unit", torch.tensor([[0, 1], [2, 3]]), 4, 2),
        Case("the same code, M = 2 units for N = 8 pixels: x 2/8", torch.tensor([[0, 1], [2, 3]]), 4, 8),
        Case("two levels, 3/4 and 1/4 of the values (not equally likely)",
             torch.tensor([[0, 0, 0, 4], [0, 4, 0, 0]]), 5, 4),
        Case("a sparse code, 50 digits x 200 units, 5 levels, N = 784", _sparse_index(50, 200, 5, 0.2, 71), 5, 784),
        Case("256 levels, most of them never used", _sparse_index(40, 30, 256, 0.3, 72), 256, 784),
    ]

    def same_number(yours, expected, case):
        if isinstance(yours, torch.Tensor):
            if yours.numel() != 1:
                return (f"your function returned a tensor of shape {tuple(yours.shape)}; expected one number "
                        "(the bits per pixel of the whole code, not one value per unit or per level).")
            yours = float(yours)
        if not isinstance(yours, (int, float)) or isinstance(yours, bool):
            return f"your function returned a {type(yours).__name__}; expected a number."
        if yours != yours:
            return "your function returned NaN: an empty level gives 0 * log2(0); leave empty levels out."
        if abs(yours - expected) > 1e-6 + 1e-5 * abs(expected):
            return f"your function returned {yours:.6g}; expected {expected:.6g}."
        return None

    return run_check(
        "bits per pixel", fn, _ref_bits_per_pixel, cases, compare=same_number, check_name="check_code_entropy",
        hint="count every value of the (P, M) index in its level (pooled over samples and units), p = counts / (P M), "
             "H = -sum p log2 p over the non-empty levels, then multiply by M / n_pixels.",
    )
