"""Checks for notebook 02 (the log-partition problem): log Z of a tiny RBM by enumeration,
and the CD-1 update.

    log Z = log sum_{v, h} exp(v.b_vis + h.b_hid + v^T W h)

The references are :meth:`sesmlib.rbm.RBM.log_partition_exact` and
:func:`sesmlib.rbm.cd1_update`.
"""
from __future__ import annotations

import torch

from ._core import CheckResult, Case, random_tensor, run_check

__all__ = ["check_log_partition_enum", "check_cd1_update"]


def _ref_log_partition(W, b_vis, b_hid):
    from ..rbm import RBM

    rbm = RBM(W.shape[0], W.shape[1], seed=0, device="cpu", dtype=torch.float64)
    with torch.no_grad():
        rbm.W.copy_(W.detach().double())
        rbm.b_vis.copy_(b_vis.detach().double())
        rbm.b_hid.copy_(b_hid.detach().double())
    return rbm.log_partition_exact()


def _ref_cd1_update(V, W, b_vis, b_hid, u_h, u_v=None):
    from ..rbm import cd1_update

    return cd1_update(V, W, b_vis, b_hid, u_h, u_v)


def _rbm_case(label, n_vis, n_hid, scale, seed, dtype=torch.float32, low=None):
    return Case(
        label,
        random_tensor((n_vis, n_hid), low=-scale if low is None else low, high=scale, dtype=dtype, seed=seed),
        random_tensor((n_vis,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 1),
        random_tensor((n_hid,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 2),
    )


def check_log_partition_enum(fn) -> CheckResult:
    """Check the student's ``fn(W, b_vis, b_hid)``: the exact ``log Z`` of the binary RBM
    with energy ``E(v, h) = -v.b_vis - h.b_hid - v^T W h``, a number (float or 0-d tensor).

    Cases: all parameters zero (log Z = (N + M) log 2), small random RBMs of several
    shapes, and large weights for which exp(-E) overflows even in float64 unless the sum
    is done by log-sum-exp.

    Examples
    --------
    >>> import itertools, math
    >>> def log_z(W, b_vis, b_hid):
    ...     v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=W.shape[0])), dtype=torch.float64)
    ...     neg_f = v @ b_vis.double() + torch.nn.functional.softplus(v @ W.double() + b_hid.double()).sum(1)
    ...     return torch.logsumexp(neg_f, 0)
    >>> _ = check_log_partition_enum(log_z)  # doctest: +ELLIPSIS
    ✅ log Z by enumeration: correct on all 5 inputs (outputs checked).
    """
    cases = [
        Case("all zero, 3 visible x 2 hidden units (log Z = 5 log 2)", torch.zeros(3, 2), torch.zeros(3), torch.zeros(2)),
        _rbm_case("random, 4 visible x 3 hidden", 4, 3, 1.0, 31),
        _rbm_case("random, 2 visible x 6 hidden (more hidden than visible)", 2, 6, 1.0, 34),
        _rbm_case("random float64, 6 visible x 5 hidden", 6, 5, 2.0, 37, torch.float64),
        _rbm_case("large weights (W between 30 and 60): exp(-E) overflows even in float64", 5, 4, 60.0, 40, low=30.0),
    ]

    def compare(yours, expected, case):
        if isinstance(yours, torch.Tensor):
            if yours.numel() != 1:
                return f"your function returned a tensor of shape {tuple(yours.shape)}; expected one number (log Z)."
            yours = float(yours.detach())
        if not isinstance(yours, (int, float)) or isinstance(yours, bool):
            return f"your function returned {type(yours).__name__}; expected a number."
        if yours != yours:
            return "your log Z is NaN. Sum in log space (torch.logsumexp) instead of taking log(sum(exp(...)))."
        if abs(yours) == float("inf"):
            return f"your log Z is {yours}: exp overflowed. Sum in log space with torch.logsumexp."
        if abs(yours - expected) > 1e-4 * max(1.0, abs(expected)):
            return f"your log Z is {yours:.6g}; expected {expected:.6g}."
        return None

    return run_check(
        "log Z by enumeration", fn, _ref_log_partition, cases, compare=compare, check_name="check_log_partition_enum",
        hint="enumerate all 2^N visible vectors v (itertools.product or bits of torch.arange), sum h out "
             "analytically: -F(v) = v.b_vis + sum_j softplus(b_hid_j + v.W_j), then log Z = logsumexp_v(-F(v)).",
    )


def check_cd1_update(fn) -> CheckResult:
    """Check the student's ``fn(V, W, b_vis, b_hid, u_h, u_v=None) -> (dW, db_vis, db_hid)``,
    the CD-1 estimate of the log-likelihood gradient with the random numbers passed in
    (a unit is on when its uniform number is strictly below its probability; ``u_v=None``
    uses the visible probabilities instead of a sample). See :func:`sesmlib.rbm.cd1_update`.

    Examples
    --------
    >>> from sesmlib.rbm import cd1_update
    >>> _ = check_cd1_update(cd1_update)  # doctest: +ELLIPSIS
    ✅ CD-1 update: correct on all 4 inputs (values, shapes and dtypes checked).
    """
    def case(label, B, N, M, seed, with_u_v, binary=True, dtype=torch.float32):
        V = random_tensor((B, N), low=0.0, high=1.0, dtype=dtype, seed=seed)
        if binary:
            V = (V > 0.5).to(dtype)
        W = random_tensor((N, M), low=-0.5, high=0.5, dtype=dtype, seed=seed + 1)
        b_vis = random_tensor((N,), low=-0.5, high=0.5, dtype=dtype, seed=seed + 2)
        b_hid = random_tensor((M,), low=-0.5, high=0.5, dtype=dtype, seed=seed + 3)
        u_h = random_tensor((B, M), low=0.0, high=1.0, dtype=dtype, seed=seed + 4)
        u_v = random_tensor((B, N), low=0.0, high=1.0, dtype=dtype, seed=seed + 5) if with_u_v else None
        return Case(label, V, W, b_vis, b_hid, u_h, u_v)

    cases = [
        case("one binary sample, 4 visible x 3 hidden, sampled v1", 1, 4, 3, 51, True),
        case("a batch of 8 binary samples, 6 x 5, sampled v1", 8, 6, 5, 61, True),
        case("grey-level data (pixels in [0, 1]), mean-field v1 (u_v = None)", 5, 7, 4, 71, False, binary=False),
        case("float64, a batch of 10, 9 x 3, sampled v1", 10, 9, 3, 81, True, dtype=torch.float64),
    ]
    return run_check(
        "CD-1 update", fn, _ref_cd1_update, cases, check_name="check_cd1_update", rtol=1e-4, atol=1e-6,
        hint="p0 = sigmoid(V W + b_hid); h0 = (u_h < p0); pv1 = sigmoid(h0 W^T + b_vis); v1 = (u_v < pv1), or pv1 "
             "when u_v is None; p1 = sigmoid(v1 W + b_hid); dW = (V^T p0 - v1^T p1) / B; db_vis = mean(V - v1); "
             "db_hid = mean(p0 - p1).",
    )
