"""Checks for notebook 02 (the log-partition problem): log Z of a tiny RBM by enumeration,
the RBM's two conditionals and one Gibbs step, the CD-1 update, and the importance weight
of Annealed Importance Sampling.

    log Z        = log sum_{v, h} exp(v.b_vis + h.b_hid + v^T W h)
    p(h_j = 1 | v) = sigmoid(b_hid_j + v.W[:, j]),    p(v_i = 1 | h) = sigmoid(b_vis_i + W[i, :].h)
    log f_beta(v)  = (1 - beta) b_A.v + beta b_vis.v + sum_j softplus(beta (b_hid_j + v.W[:, j]))

The references are :meth:`sesmlib.rbm.RBM.log_partition_exact`, :func:`sesmlib.rbm.cd1_update`
and the functions of :mod:`sesmlib.checks.references`.
"""
from __future__ import annotations

import torch

from . import references as _refs
from ._core import CheckResult, Case, random_tensor, run_check

__all__ = [
    "check_log_partition_enum",
    "check_p_h_given_v",
    "check_p_v_given_h",
    "check_gibbs_step",
    "check_cd1_update",
    "check_ais_log_weight",
]


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
        hint="log Z = log sum_v exp(-F(v)) over all 2^N binary visible vectors, with the hidden units summed out "
             "in closed form (the notebook gives -F(v)); build all the rows of 0s and 1s at once, and combine the "
             "terms with torch.logsumexp, never exp then log.",
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
        hint="follow steps 1-4 of the notebook in order: the chain (h0, then v1) is made of samples (a unit is on "
             "when its uniform number is strictly below its probability; v1 is the probabilities themselves when u_v "
             "is None), the statistics use the hidden probabilities p0 and p1, and each of the three updates is an "
             "average over the batch (data statistics minus chain statistics).",
    )


# ------------------------------------------------------------- conditionals and Gibbs


def _binary(shape, seed, dtype=torch.float32):
    return (random_tensor(shape, low=0.0, high=1.0, dtype=dtype, seed=seed) > 0.5).to(dtype)


def check_p_h_given_v(fn) -> CheckResult:
    """Check the student's ``fn(V, W, b_hid) -> (B, M)``: ``p(h_j = 1 | v)`` for every row v of V.

    Examples
    --------
    >>> _ = check_p_h_given_v(lambda V, W, b_hid: torch.sigmoid(V @ W + b_hid))  # doctest: +ELLIPSIS
    ✅ p(h | v): correct on all 5 inputs (values, shapes, dtypes and gradients checked).
    """
    cases = [
        Case("v = 0, W = 0, b_hid = 0: every hidden unit is on with probability 1/2",
             torch.zeros(1, 3), torch.zeros(3, 2), torch.zeros(2)),
        Case("one binary v, 4 visible x 3 hidden, b_hid = 0 (only the weights matter)",
             _binary((1, 4), 201), random_tensor((4, 3), seed=202), torch.zeros(3)),
        Case("a batch of 6 binary v, 5 x 4, with hidden biases",
             _binary((6, 5), 203), random_tensor((5, 4), seed=204), random_tensor((4,), low=-1.0, high=1.0, seed=205)),
        Case("grey-level v (pixels in [0, 1]), 7 visible x 2 hidden",
             random_tensor((3, 7), low=0.0, high=1.0, seed=206), random_tensor((7, 2), seed=207),
             random_tensor((2,), low=-1.0, high=1.0, seed=208)),
        Case("float64, large weights (sigmoid saturates)",
             _binary((4, 6), 209, torch.float64), random_tensor((6, 5), low=-30.0, high=30.0, dtype=torch.float64, seed=210),
             random_tensor((5,), dtype=torch.float64, seed=211)),
    ]
    return run_check(
        "p(h | v)", fn, _refs.p_h_given_v, cases, grad=True, check_name="check_p_h_given_v",
        hint="only the terms of -E(v, h) that contain h_j matter: they are h_j times (b_hid_j + v . W[:, j]). "
             "Compare h_j = 1 with h_j = 0. With rows as samples, 'v . W[:, j] for every j' is one matrix product.",
    )


def check_p_v_given_h(fn) -> CheckResult:
    """Check the student's ``fn(H, W, b_vis) -> (B, N)``: ``p(v_i = 1 | h)`` for every row h of H.

    Examples
    --------
    >>> _ = check_p_v_given_h(lambda H, W, b_vis: torch.sigmoid(H @ W.T + b_vis))  # doctest: +ELLIPSIS
    ✅ p(v | h): correct on all 4 inputs (values, shapes, dtypes and gradients checked).
    """
    cases = [
        Case("h = 0, W = 0, b_vis = 0: every pixel is on with probability 1/2",
             torch.zeros(1, 2), torch.zeros(3, 2), torch.zeros(3)),
        Case("one binary h, 4 visible x 3 hidden (W is (N, M): mind the transpose)",
             _binary((1, 3), 221), random_tensor((4, 3), seed=222), random_tensor((4,), low=-1.0, high=1.0, seed=223)),
        Case("a batch of 5 binary h, 6 visible x 2 hidden",
             _binary((5, 2), 224), random_tensor((6, 2), seed=225), random_tensor((6,), low=-1.0, high=1.0, seed=226)),
        Case("float64, 3 visible x 7 hidden", _binary((4, 7), 227, torch.float64),
             random_tensor((3, 7), dtype=torch.float64, seed=228), random_tensor((3,), dtype=torch.float64, seed=229)),
    ]
    return run_check(
        "p(v | h)", fn, _refs.p_v_given_h, cases, grad=True, check_name="check_p_v_given_h",
        hint="the same argument as for p(h | v), with the roles swapped: the terms of -E that contain v_i are "
             "v_i times (b_vis_i + W[i, :] . h). W is (N, M), so for rows h of H you need W transposed.",
    )


def check_gibbs_step(fn) -> CheckResult:
    """Check the student's ``fn(V, W, b_vis, b_hid, u_h, u_v) -> (H, V1)``: one block-Gibbs
    step, every hidden unit sampled from p(h | V) with ``u_h``, then every visible unit from
    p(v | H) with ``u_v`` (a unit is on when its number is strictly below its probability).

    Examples
    --------
    >>> from sesmlib.checks.references import gibbs_step
    >>> _ = check_gibbs_step(gibbs_step)  # doctest: +ELLIPSIS
    ✅ Gibbs step: correct on all 5 inputs (values, shapes and dtypes checked).
    """
    def case(label, B, N, M, seed, dtype=torch.float32, scale=1.0):
        return Case(
            label, _binary((B, N), seed, dtype), random_tensor((N, M), low=-scale, high=scale, dtype=dtype, seed=seed + 1),
            random_tensor((N,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 2),
            random_tensor((M,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 3),
            random_tensor((B, M), low=0.0, high=1.0, dtype=dtype, seed=seed + 4),
            random_tensor((B, N), low=0.0, high=1.0, dtype=dtype, seed=seed + 5),
        )

    half = torch.full((1, 3), 0.5)
    cases = [
        Case("W = 0 and biases 0 (every probability 1/2): u < 1/2 switches a unit on",
             torch.ones(1, 2), torch.zeros(2, 3), torch.zeros(2), torch.zeros(3),
             torch.tensor([[0.2, 0.6, 0.3]]), torch.tensor([[0.4, 0.9]])),
        Case("u exactly equal to the probability (1/2): the unit stays off (strictly below)",
             torch.zeros(1, 2), torch.zeros(2, 3), torch.zeros(2), torch.zeros(3), half, torch.full((1, 2), 0.5)),
        case("one sample, 4 visible x 3 hidden", 1, 4, 3, 231),
        case("a batch of 8, 6 visible x 5 hidden (V1 must use the sampled H, not p(h | V))", 8, 6, 5, 241, scale=3.0),
        case("float64, a batch of 4, 9 x 3", 4, 9, 3, 251, torch.float64),
    ]
    return run_check(
        "Gibbs step", fn, _refs.gibbs_step, cases, check_name="check_gibbs_step",
        hint="sample the hidden layer first, then the visible layer given that sampled H (not given p(h | V)); a "
             "unit is on when its uniform number is strictly below its probability; return the pair (H, V1) as 0/1 "
             "values in V's dtype. Your p_h_given_v and p_v_given_h give the probabilities.",
    )


# ------------------------------------------------------------------------------- AIS


def check_ais_log_weight(fn) -> CheckResult:
    """Check the student's ``fn(V, beta_prev, beta_next, W, b_vis, b_hid, b_A) -> (B,)``:
    ``log f_{beta_next}(v) - log f_{beta_prev}(v)`` for each row v of V, with
    ``log f_beta(v) = (1 - beta) b_A.v + beta b_vis.v + sum_j softplus(beta (b_hid_j + v.W[:, j]))``.

    Examples
    --------
    >>> from sesmlib.checks.references import ais_log_weight
    >>> _ = check_ais_log_weight(ais_log_weight)  # doctest: +ELLIPSIS
    ✅ AIS log weight: correct on all 6 inputs (values, shapes, dtypes and gradients checked).
    """
    def case(label, B, N, M, bp, bn, seed, dtype=torch.float32, scale=1.0, low=None):
        return Case(
            label, _binary((B, N), seed, dtype), bp, bn,
            random_tensor((N, M), low=-scale if low is None else low, high=scale, dtype=dtype, seed=seed + 1),
            random_tensor((N,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 2),
            random_tensor((M,), low=-1.0, high=1.0, dtype=dtype, seed=seed + 3),
            random_tensor((N,), low=-2.0, high=2.0, dtype=dtype, seed=seed + 4),
        )

    cases = [
        case("beta_prev = beta_next = 0.4: no step, no weight (0 for every chain)", 3, 4, 2, 0.4, 0.4, 261),
        case("the whole way in one step, 0 -> 1: log f_1(v) - log f_0(v)", 2, 5, 3, 0.0, 1.0, 271),
        case("a small step 0.5 -> 0.51, a batch of 6 chains", 6, 7, 4, 0.5, 0.51, 281),
        case("a step 0.2 -> 0.7 (the hidden biases are scaled by beta too)", 4, 5, 6, 0.2, 0.7, 291),
        case("large weights (W between 30 and 60): exp(beta x) overflows unless softplus is used",
             3, 6, 4, 0.9, 1.0, 301, scale=60.0, low=30.0),
        case("float64, 10 chains, 8 visible x 5 hidden", 10, 8, 5, 0.95, 0.96, 311, torch.float64),
    ]
    return run_check(
        "AIS log weight", fn, _refs.ais_log_weight, cases, grad=True, rtol=1e-4, atol=1e-5,
        check_name="check_ais_log_weight",
        hint="write log f_beta(v) once as a function of beta (the visible part mixes b_A and b_vis, the hidden "
             "part is a sum of softplus(beta * (V @ W + b_hid)) over the hidden units), then subtract its value at "
             "beta_prev from its value at beta_next.",
    )
