"""Check for notebook 06: the linear probe, multinomial logistic regression on the codes.

For features X (B, D), labels y (B,), weights W (D, K) and biases b (K,)::

    P = softmax(X W + b)                                  (B, K), row by row
    L = -(1/B) sum_n log P[n, y_n] + (ridge / 2) ||W||^2
    dL/dW = X^T (P - T) / B + ridge W,    dL/db = mean over the batch of (P - T)

with T the one-hot targets. The reference is
:func:`sesmlib.checks.references.probe_loss_grads`.
"""
from __future__ import annotations

from typing import Any

import torch

from ._core import Case, CheckFailure, CheckResult, _compare, random_tensor, run_check
from . import references

__all__ = ["check_probe_grads"]

#: Shown once the check passes (the notebook keeps the gradient hidden until then).
PROBE_FORMULA = r"""The gradient, written out: with $P = \operatorname{softmax}(XW + b)$ and $T$ the one-hot targets,

$$ \frac{\partial L}{\partial A} = \frac{1}{B}(P - T), \qquad \frac{\partial L}{\partial W} = \frac{1}{B} X^\top (P - T) + \lambda W, \qquad
   \frac{\partial L}{\partial b} = \frac{1}{B} \sum_{n} (P_n - T_n) . $$

Predicted probabilities minus targets: the same form as the gradient of a squared error with a linear output, which
is why the softmax and the cross-entropy are made for each other."""


def _labels(B: int, K: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, K, (B,), generator=g)


def _compare_probe(yours: Any, expected: Any, case: Case) -> str | None:
    X, y, W, b, ridge = case.args
    if not isinstance(yours, (tuple, list)) or len(yours) != 3:
        return (f"your function should return three things, (loss, dW, db); it returned "
                f"{type(yours).__name__ if not isinstance(yours, (tuple, list)) else f'{len(yours)} items'}.")
    loss, dW, db = yours
    e_loss, e_dW, e_db = expected
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        loss = loss.reshape(())
    elif isinstance(loss, (int, float)) and not isinstance(loss, bool):
        return ("the loss is a Python number; keep it a tensor (torch operations all the way, no .item()), "
                "so that it can be differentiated.")
    try:
        _compare(loss, e_loss, "the loss", 1e-5, 1e-6, True)
    except CheckFailure as exc:
        msg = str(exc)
        if isinstance(loss, torch.Tensor) and loss.numel() == 1 and torch.isfinite(loss):
            data = float(e_loss) - 0.5 * ridge * float((W * W).sum())
            if ridge and abs(float(loss) - data) <= 1e-5 * max(1.0, abs(data)):
                return f"{msg} It equals the cross-entropy alone: add the ridge term (ridge / 2) ||W||^2."
            if abs(float(loss) - (data * X.shape[0] + 0.5 * ridge * float((W * W).sum()))) <= 1e-4 * max(1.0, abs(data * X.shape[0])):
                return f"{msg} It is the sum over the batch: take the mean of -log P[b, y_b]."
        if "NaN" in msg or "inf" in msg.lower():
            return (f"{msg} exp of a large score overflows: use torch.log_softmax (or subtract each row's largest "
                    "score before exponentiating).")
        return msg
    for name, mine, right in (("dW", dW, e_dW), ("db", db, e_db)):
        try:
            _compare(mine, right, name, 1e-4, 1e-6, True)
        except CheckFailure as exc:
            msg = str(exc)
            if name == "dW" and isinstance(mine, torch.Tensor) and mine.shape == right.shape and ridge:
                if torch.allclose(mine.double(), (right - ridge * W).double(), rtol=1e-4, atol=1e-6):
                    return f"{msg} The ridge term's gradient, ridge * W, is missing."
            if isinstance(mine, torch.Tensor) and mine.shape == right.shape:
                if torch.allclose(mine.double(), -right.double(), rtol=1e-4, atol=1e-6):
                    return f"{msg} Your {name} has the opposite sign: it is P - T, not T - P (a gradient, not a step)."
                if torch.allclose(mine.double(), right.double() * X.shape[0] - (ridge * W * (X.shape[0] - 1) if name == 'dW' else 0),
                                  rtol=1e-4, atol=1e-6):
                    return f"{msg} It is B times too large: the loss is a mean over the batch."
            return msg
    return None


def check_probe_grads(fn) -> CheckResult:
    """Check the student's ``fn(X, y, W, b, ridge) -> (loss, dW, db)``: the mean
    cross-entropy of a softmax classifier plus ``(ridge / 2) ||W||^2``, and its gradients.

    Examples
    --------
    >>> import torch.nn.functional as F
    >>> def probe_loss_grads(X, y, W, b, ridge):
    ...     P = torch.softmax(X @ W + b, dim=1)
    ...     T = F.one_hot(y, W.shape[1]).to(X.dtype)
    ...     loss = F.cross_entropy(X @ W + b, y) + 0.5 * ridge * (W ** 2).sum()
    ...     return loss, X.T @ (P - T) / len(X) + ridge * W, (P - T).mean(0)
    >>> _ = check_probe_grads(probe_loss_grads)  # doctest: +ELLIPSIS
    ✅ probe loss and gradients: correct on all 6 inputs (outputs checked).
    ...
    """
    cases = [
        Case("W = 0, b = 0: every class has probability 1/K", random_tensor((4, 3), seed=1), torch.tensor([0, 1, 2, 1]),
             torch.zeros(3, 3), torch.zeros(3), 0.0),
        Case("one sample, 2 classes, no ridge", random_tensor((1, 5), seed=2), torch.tensor([1]),
             random_tensor((5, 2), low=-0.5, high=0.5, seed=3), random_tensor((2,), seed=4), 0.0),
        Case("a batch of 8, 10 classes, ridge = 0.1", random_tensor((8, 6), low=0.0, high=1.0, seed=5), _labels(8, 10, 6),
             random_tensor((6, 10), low=-0.5, high=0.5, seed=7), random_tensor((10,), low=-0.2, high=0.2, seed=8), 0.1),
        Case("large scores, about 1000 (exp overflows unless handled)", random_tensor((3, 4), low=0.0, high=1.0, seed=9),
             torch.tensor([2, 0, 1]), random_tensor((4, 3), low=-500.0, high=500.0, seed=10), torch.zeros(3), 0.0),
        Case("float64, a batch of 20, 10 classes, ridge = 0.01", random_tensor((20, 7), dtype=torch.float64, seed=11),
             _labels(20, 10, 12), random_tensor((7, 10), low=-1.0, high=1.0, dtype=torch.float64, seed=13),
             random_tensor((10,), dtype=torch.float64, seed=14), 0.01),
        Case("200 code units in [0, 1], 10 classes, ridge = 0.001 (a probe on SESM codes)",
             random_tensor((30, 200), low=0.0, high=1.0, seed=15), _labels(30, 10, 16),
             random_tensor((200, 10), low=-0.1, high=0.1, seed=17), torch.zeros(10), 0.001),
    ]
    return run_check(
        "probe loss and gradients", fn, references.probe_loss_grads, cases, compare=_compare_probe,
        check_name="check_probe_grads",
        hint="scores A = X W + b; log-probabilities with torch.log_softmax(A, dim=1); the loss is the mean of -log P of "
             "each sample's own class plus (ridge / 2) ||W||^2. For the gradient, write -log P_y = -a_y + log sum_k "
             "exp(a_k) and differentiate with respect to each score a_k; then carry that back through A = X W + b, "
             "and average over the batch.",
        reveal=PROBE_FORMULA,
    )
