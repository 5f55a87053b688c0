"""Checks for notebooks 05 and 06: what a code costs and what it keeps (Section 4.1).

- Uniform quantisation of codes in [0, 1] into Q levels that include both ends::

      index = round(c (Q - 1)), clipped to 0 .. Q - 1,      value = index / (Q - 1)

  (the reference is :func:`sesmlib.evaluate.quantize` with ``lo = 0``, ``hi = 1``).
- The RMSE of the reconstruction *from the quantised code*, for any model of the
  library's contract (``code``, ``decode_code``)::

      RMSE = sqrt(mean over pixels and samples of (Y - decode_code(quantised code(Y)))^2) / sigma,
      sigma = sqrt(std of all pixels of Y)

  (the reference is :func:`sesmlib.evaluate.rate_distortion`; ``sigma`` is the library's
  reading of the paper's normaliser, see :func:`sesmlib.evaluate.sigma_of`).
- Panel C's comparison: the points (bits, RMSE) that no other point beats on both axes,
  the Pareto front (the reference is :func:`sesmlib.checks.references.pareto_front`).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ._core import Case, CheckResult, random_tensor, run_check
from . import references

__all__ = ["check_quantize", "check_quantised_rmse", "check_pareto_front"]


# ------------------------------------------------------------------------ quantisation


def _ref_quantize(codes: torch.Tensor, n_levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    from ..evaluate import quantize

    q = quantize(codes, n_levels, 0.0, 1.0)
    return q.index, q.value


def _codes(shape, seed: int, *, dtype=torch.float32, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Random codes, uniform on [low, high]. A value exactly half-way between two levels
    would make round-half-up and round-half-to-even disagree (not what the exercise is
    about); a uniform float32 lands on one with probability about 2^-23 per value, and
    the seeds are fixed, so the cases hold none (nothing here removes them)."""
    return random_tensor(shape, low=low, high=high, dtype=dtype, seed=seed)


def _compare_quantized(yours: Any, expected: Any, case: Case) -> str | None:
    codes, Q = case.args[0], case.args[1]
    if not isinstance(yours, (tuple, list)) or len(yours) != 2:
        return ("your function should return a pair (index, value): the level number of every code value "
                f"and the code value it stands for; it returned {type(yours).__name__}.")
    index, value = yours
    e_index, e_value = expected
    for name, t in (("index", index), ("value", value)):
        if not isinstance(t, torch.Tensor):
            return f"{name} should be a torch.Tensor, got {type(t).__name__}."
        if tuple(t.shape) != tuple(codes.shape):
            return f"{name} has shape {tuple(t.shape)}; it should have the shape of the codes, {tuple(codes.shape)}."
    if index.is_floating_point() or index.dtype == torch.bool:
        return (f"index has dtype {str(index.dtype).replace('torch.', '')}; level numbers are integers "
                "(`.long()`), so that they can be counted with torch.bincount.")
    if value.dtype != codes.dtype:
        return (f"value has dtype {str(value.dtype).replace('torch.', '')}; it should keep the codes' dtype "
                f"({str(codes.dtype).replace('torch.', '')}).")
    idx = index.long()
    if bool((idx < 0).any()) or bool((idx > Q - 1).any()):
        where = (idx < 0) | (idx > Q - 1)
        k = tuple(int(i) for i in where.nonzero()[0])
        return (f"index {int(idx[k])} for the code value {float(codes[k]):.4g}: level numbers run from 0 to "
                f"Q - 1 = {Q - 1}. Code values outside [0, 1] go to the end levels (clamp).")
    if not torch.equal(idx, e_index):
        k = tuple(int(i) for i in (idx != e_index).nonzero()[0])
        c, mine, right = float(codes[k]), int(idx[k]), int(e_index[k])
        u = c * (Q - 1)
        if mine == math.floor(u) and right == math.floor(u) + 1:
            why = "rounded down; round to the NEAREST level (torch.round)."
        elif mine == math.floor(c * Q) or mine == min(math.floor(c * Q), Q - 1):
            why = (f"that is c * Q = {c * Q:.3g} rounded down: Q levels that include both ends 0 and 1 are "
                   f"1 / (Q - 1) apart, so the level of c is c * (Q - 1) rounded to the nearest integer.")
        else:
            why = f"the level of c is c * (Q - 1) = {u:.4g}, rounded to the nearest integer."
        return f"the code value {c:.4g} got level {mine}, expected {right} (Q = {Q}): {why}"
    e64, y64 = e_value.to(torch.float64), value.detach().to(torch.float64)
    close = torch.isclose(y64, e64, rtol=1e-5, atol=1e-6)
    if not bool(close.all()):
        k = tuple(int(i) for i in (~close).nonzero()[0])
        level = int(e_index[k])
        return (f"the level numbers are right, but level {level} stands for {float(y64[k]):.4g} in yours, "
                f"expected {float(e64[k]):.4g} = {level} / (Q - 1): the Q levels are 0, 1/(Q-1), ..., 1, "
                "both ends included (not the centres of Q bins).")
    return None


def check_quantize(fn) -> CheckResult:
    """Check the student's ``fn(codes, n_levels) -> (index, value)``: uniform quantisation of
    codes in [0, 1] into ``n_levels`` levels 0, 1/(Q-1), ..., 1, each code rounded to the
    nearest level (values outside [0, 1] to the end levels).

    Examples
    --------
    >>> def quantize_code(codes, n_levels):
    ...     index = torch.round(codes * (n_levels - 1)).clamp(0, n_levels - 1).long()
    ...     return index, index.to(codes.dtype) / (n_levels - 1)
    >>> _ = check_quantize(quantize_code)  # doctest: +ELLIPSIS
    ✅ quantisation: correct on all 6 inputs (outputs checked).
    """
    cases = [
        Case("Q = 5 levels (0, 0.25, 0.5, 0.75, 1), four code values", torch.tensor([[0.0, 0.3, 0.9, 1.0]]), 5),
        Case("Q = 2: every value to 0 or 1", torch.tensor([[0.2, 0.7], [0.45, 0.55]]), 2),
        Case("a random (4, 6) code, Q = 5", _codes((4, 6), 1), 5),
        Case("values just outside [0, 1] (they go to the end levels)", torch.tensor([[-0.3, 0.01, 0.99, 1.4]]), 5),
        Case("Q = 256, a random (3, 10) code", _codes((3, 10), 2), 256),
        Case("a float64 code, Q = 7", _codes((5, 4), 3, dtype=torch.float64), 7),
    ]
    return run_check(
        "quantisation", fn, _ref_quantize, cases, compare=_compare_quantized, check_name="check_quantize",
        hint="Q levels with both ends included are 1 / (Q - 1) apart: scale the code by Q - 1, round to the nearest "
             "integer, keep it inside 0 .. Q - 1; the level's value is its number divided by Q - 1.",
    )


# ------------------------------------------------------------- RMSE from the quantised code


def _ref_quantised_rmse(model, X: torch.Tensor, n_levels: int) -> float:
    from ..evaluate import rate_distortion

    return rate_distortion(model, X, n_levels, (0.0, 1.0))[int(n_levels)].rmse


def _small_sesm(N: int, M: int, seed: int, *, dtype=torch.float32):
    from ..sesm import SESM

    m = SESM(N, M, alpha_s=0.2, seed=seed, device="cpu", dtype=dtype)
    m.W = random_tensor((N, M), low=-0.4, high=0.4, dtype=dtype, seed=seed + 1)
    m.b_enc = random_tensor((M,), low=-0.3, high=0.3, dtype=dtype, seed=seed + 2)
    m.b_dec = random_tensor((N,), low=0.0, high=0.3, dtype=dtype, seed=seed + 3)
    return m


def _small_rbm(N: int, M: int, seed: int):
    from ..rbm import RBM

    m = RBM(N, M, seed=seed, device="cpu")
    m.W = random_tensor((N, M), low=-0.5, high=0.5, seed=seed + 1)
    m.b_vis = random_tensor((N,), low=-0.5, high=0.5, seed=seed + 2)
    m.b_hid = random_tensor((M,), low=-0.5, high=0.5, seed=seed + 3)
    return m


def _X(P: int, N: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    X = (torch.rand(P, N, generator=g, dtype=torch.float64) < 0.3).to(torch.float64)  # sparse "ink"
    X = X * (0.5 + 0.5 * torch.rand(P, N, generator=g, dtype=torch.float64))
    return X.to(dtype)


def _rmse_with(model, X, Q, *, decode: str = "decode_code", sigma: str = "paper", quantise: bool = True) -> float:
    """What a common mistake gives, to name it in the message."""
    from ..evaluate import quantize, rmse

    C = model.code(X)
    v = quantize(C, Q).value if quantise else C
    Y_hat = getattr(model, decode)(v)
    return rmse(X, Y_hat, sigma={"paper": "paper", "std": "std", "var": "var", "none": 1.0}[sigma])


def _compare_rmse(yours: Any, expected: float, case: Case) -> str | None:
    model, X, Q = case.args
    if isinstance(yours, torch.Tensor):
        if yours.numel() != 1:
            return (f"your function returned a tensor of shape {tuple(yours.shape)}; expected one number, the RMSE "
                    "over all pixels of all samples (not one per sample or per pixel).")
        yours = float(yours)
    if isinstance(yours, bool) or not isinstance(yours, (int, float)):
        return f"your function returned a {type(yours).__name__}; expected a number."
    if yours != yours:
        return "your function returned NaN."

    def near(v):
        return abs(yours - v) <= 1e-5 + 1e-4 * abs(v)

    if near(expected):
        return None
    mistakes = [
        (dict(sigma="std"), "you divided by the std of the pixels; this course's sigma is sqrt(std of the pixels) "
                            "(the reading that puts PCA on the paper's points)."),
        (dict(sigma="none"), "the RMSE is not divided by sigma = sqrt(std of the pixels of X)."),
        (dict(sigma="var"), "you divided by the variance of the pixels; sigma is sqrt(std of the pixels)."),
        (dict(quantise=False), "that is the RMSE of the reconstruction from the code *before* quantisation: "
                               "give the decoder the quantised values."),
    ]
    if hasattr(model, "decode") and hasattr(model, "gain"):
        mistakes.append((dict(decode="decode"),
                         "you gave the quantised code to model.decode, which applies the logistic a second time "
                         "(it takes a code before the logistic); model.decode_code takes a code after it."))
    for kwargs, why in mistakes:
        try:
            if near(_rmse_with(model, X, Q, **kwargs)):
                return f"your function returned {yours:.6g}; expected {expected:.6g}: {why}"
        except Exception:  # a variant that does not apply to this model
            continue
    return f"your function returned {yours:.6g}; expected {expected:.6g}."


def check_quantised_rmse(fn) -> CheckResult:
    """Check the student's ``fn(model, X, n_levels) -> float``: quantise ``model.code(X)``
    into ``n_levels`` levels over [0, 1], rebuild with ``model.decode_code`` and return the
    RMSE over all pixels divided by ``sqrt(std(X))``.

    Examples
    --------
    >>> from sesmlib.evaluate import quantize, rmse
    >>> def quantised_rmse(model, X, n_levels):
    ...     q = quantize(model.code(X), n_levels)
    ...     return rmse(X, model.decode_code(q.value))
    >>> _ = check_quantised_rmse(quantised_rmse)  # doctest: +ELLIPSIS
    ✅ RMSE from the quantised code: correct on all 5 inputs (outputs checked).
    """
    cases = [
        Case("a small SESM (12 pixels, 5 units), 20 inputs, Q = 5", _small_sesm(12, 5, 10), _X(20, 12, 11), 5),
        Case("the same model, Q = 256 (almost no rounding)", _small_sesm(12, 5, 10), _X(20, 12, 11), 256),
        Case("Q = 2: every unit off or on", _small_sesm(16, 8, 20), _X(30, 16, 21), 2),
        Case("an RBM (any model with code and decode_code), Q = 5", _small_rbm(10, 6, 30), _X(25, 10, 31), 5),
        Case("a float64 SESM, Q = 5", _small_sesm(9, 4, 40, dtype=torch.float64), _X(15, 9, 41, torch.float64), 5),
    ]
    return run_check(
        "RMSE from the quantised code", fn, _ref_quantised_rmse, cases, compare=_compare_rmse,
        check_name="check_quantised_rmse",
        hint="code -> quantise over [0, 1] -> model.decode_code -> the root of the mean squared error over every "
             "pixel of every sample -> divided by sqrt(std of all the pixels of X).",
    )


# ------------------------------------------------------------------------ Pareto front


def _compare_front(yours: Any, expected: torch.Tensor, case: Case) -> str | None:
    bits, rmse = case.args
    if not isinstance(yours, torch.Tensor):
        return f"your function returned a {type(yours).__name__}; expected a bool tensor, one entry per point."
    if tuple(yours.shape) != tuple(expected.shape):
        return f"your result has shape {tuple(yours.shape)}; expected {tuple(expected.shape)}, one entry per point."
    if yours.dtype != torch.bool:
        return f"your result has dtype {str(yours.dtype).replace('torch.', '')}; expected bool (True: on the front)."
    wrong = (yours != expected).nonzero()
    if len(wrong) == 0:
        return None
    i = int(wrong[0])
    pt = f"point {i} (bits {float(bits[i]):.3g}, RMSE {float(rmse[i]):.3g})"
    if bool(expected[i]):
        twins = [j for j in range(len(bits)) if j != i and float(bits[j]) == float(bits[i]) and float(rmse[j]) == float(rmse[i])]
        if twins:
            return (f"{pt} is off your front, but its only rivals are identical points: a point beats another "
                    "only when it is at least as good on both axes and strictly better on one.")
        return f"{pt} is off your front, yet no other point has both no more bits and no higher RMSE with one of them strictly lower."
    beaters = [j for j in range(len(bits)) if j != i and float(bits[j]) <= float(bits[i])
               and float(rmse[j]) <= float(rmse[i]) and (float(bits[j]) < float(bits[i]) or float(rmse[j]) < float(rmse[i]))]
    j = beaters[0]
    return (f"{pt} is on your front, but point {j} (bits {float(bits[j]):.3g}, RMSE {float(rmse[j]):.3g}) beats it: "
            "no more bits, no higher RMSE, and strictly better on at least one.")


def check_pareto_front(fn) -> CheckResult:
    """Check the student's ``fn(bits, rmse) -> mask``: for P points given as two (P,)
    tensors, True for the points that no other point beats (another point beats point i
    when it has no more bits and no higher RMSE, and is strictly better on one of them).

    Examples
    --------
    >>> def pareto_front(bits, rmse):
    ...     no_worse = (bits[None, :] <= bits[:, None]) & (rmse[None, :] <= rmse[:, None])
    ...     better = (bits[None, :] < bits[:, None]) | (rmse[None, :] < rmse[:, None])
    ...     return ~(no_worse & better).any(dim=1)
    >>> _ = check_pareto_front(pareto_front)  # doctest: +ELLIPSIS
    ✅ Pareto front: correct on all 7 inputs (outputs checked).
    """
    g = torch.Generator().manual_seed(5)
    rb, rr = torch.rand(20, generator=g, dtype=torch.float64), torch.rand(20, generator=g, dtype=torch.float64)
    cases = [
        Case("one point: it is on the front", torch.tensor([0.5]), torch.tensor([0.2])),
        Case("two points, the first beats the second on both axes", torch.tensor([0.1, 0.3]), torch.tensor([0.2, 0.25])),
        Case("a trade-off: fewer bits but more error, both on the front",
             torch.tensor([0.1, 0.5]), torch.tensor([0.3, 0.1])),
        Case("same bits, one has a lower RMSE (it beats the other)", torch.tensor([0.4, 0.4]), torch.tensor([0.2, 0.3])),
        Case("two identical points (neither beats the other)", torch.tensor([0.2, 0.2, 0.5]), torch.tensor([0.3, 0.3, 0.4])),
        Case("a curve of five SESM points and an RBM point above it",
             torch.tensor([0.09, 0.13, 0.19, 0.23, 0.29, 0.2]), torch.tensor([0.29, 0.26, 0.22, 0.21, 0.20, 0.25])),
        Case("20 random points (float64)", rb, rr),
    ]
    return run_check(
        "Pareto front", fn, references.pareto_front, cases, compare=_compare_front, check_name="check_pareto_front",
        hint="compare every point with every other one (broadcast a (P, 1) against a (1, P) tensor): point i is off the "
             "front when some j has bits_j <= bits_i and rmse_j <= rmse_i, with at least one of the two strict.",
    )
