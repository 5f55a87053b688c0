"""Checks for notebook 03 (deriving SESM): the energy (eq. 7), the sparsity term h, the
loss (eq. 8), and the gradients of the loss with respect to the code Z, the filters W and
the two biases.

    E(Y, Z)  = alpha_e ||Z - (W^T Y + b_enc)||^2 + ||Y - (W l(Z) + b_dec)||^2        (eq. 7)
    h(Z)     = sum_i log(1 + l(z_i)^2)
    L(W, Y)  = E(Y, Z) + alpha_s h(Z) + alpha_r ||W||_1                              (eq. 8)

The references are :func:`sesmlib.sesm.energy`, :func:`sesmlib.sesm.sparsity_penalty` and
:func:`sesmlib.sesm.loss`; the gradients are checked against what torch.autograd finds by
differentiating the library's loss (dL/dZ per sample; dL/dW, dL/db_enc and dL/db_dec of the
mean loss over the batch). The notebook does not print the gradient formulas: the student
derives them, and each gradient check shows its formula once it has passed (``reveal``).
"""
from __future__ import annotations

import torch

from ._core import CheckResult, Case, random_tensor, run_check

__all__ = [
    "check_sesm_energy",
    "check_sesm_sparsity",
    "check_sesm_loss",
    "check_sesm_grad_z",
    "check_sesm_grad_w",
    "check_sesm_grad_biases",
]


def _sesm():
    from .. import sesm

    return sesm


def _ref_energy(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0):
    return _sesm().energy(Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e)


def _ref_sparsity(Z, gain=7.0):
    return _sesm().sparsity_penalty(Z, gain)


def _ref_loss(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0, alpha_s=0.2, alpha_r=4e-4):
    return _sesm().loss(Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r)


def _ref_grad_z(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0, alpha_s=0.2):
    """dL/dZ by autograd: row b is the gradient of sample b's loss (the L1 term does not involve Z)."""
    Z = Z.detach().clone().requires_grad_(True)
    L = _ref_loss(Y.detach(), Z, W.detach(), b_enc.detach(), b_dec.detach(), gain, alpha_e, alpha_s, 0.0)
    (g,) = torch.autograd.grad(L.sum(), Z)
    return g


def _ref_grad_biases(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0):
    """(dL/db_enc, dL/db_dec) by autograd, of the loss averaged over the batch."""
    b_enc = b_enc.detach().clone().requires_grad_(True)
    b_dec = b_dec.detach().clone().requires_grad_(True)
    L = _ref_loss(Y.detach(), Z.detach(), W.detach(), b_enc, b_dec, gain, alpha_e, 0.2, 0.0)
    return tuple(torch.autograd.grad(L.mean(), [b_enc, b_dec]))


def _ref_grad_w(Y, Z, W, b_enc, b_dec, gain=7.0, alpha_e=1.0, alpha_s=0.2, alpha_r=4e-4):
    """dL/dW by autograd, of the loss averaged over the batch (|W|'s slope at 0 taken as 0)."""
    W = W.detach().clone().requires_grad_(True)
    L = _ref_loss(Y.detach(), Z.detach(), W, b_enc.detach(), b_dec.detach(), gain, alpha_e, alpha_s, alpha_r)
    (g,) = torch.autograd.grad(L.mean(), W)
    return g


def _params(B, N, M, seed, dtype=torch.float32, w_scale=0.5):
    Y = random_tensor((B, N), low=0.0, high=1.0, dtype=dtype, seed=seed)
    Z = random_tensor((B, M), low=-1.0, high=1.0, dtype=dtype, seed=seed + 1)
    W = random_tensor((N, M), low=-w_scale, high=w_scale, dtype=dtype, seed=seed + 2)
    b_enc = random_tensor((M,), low=-0.5, high=0.5, dtype=dtype, seed=seed + 3)
    b_dec = random_tensor((N,), low=-0.5, high=0.5, dtype=dtype, seed=seed + 4)
    return Y, Z, W, b_enc, b_dec


#: What the first case (W = 0, Y = [1, 1], Z = 0, biases 0) tests, for each quantity.
#: With W = 0 the encoder predicts b_enc = 0 = Z (encoder term 0) and the decoder gives
#: b_dec = 0, so D = -Y; l(0) = 1/2.
_ZERO_CASE = {
    "energy": "W = 0, Y = [1, 1], Z = 0: only the reconstruction term, ||Y||^2 = 2",
    "loss": "W = 0, Y = [1, 1], Z = 0: the reconstruction term 2 plus alpha_s h(0) = alpha_s log(5/4)",
    "grad_z": "W = 0, Y = [1, 1], Z = 0: R = 0 and D W = 0, so only the sparsity term's slope is left",
    "grad_w": "W = 0, Y = [1, 1], Z = 0: R = 0 and sign(0) = 0, so only the decoder's term 2 D^T s is left",
    "grad_biases": "W = 0, Y = [1, 1], Z = 0: R = 0, so dL/db_enc = 0 and dL/db_dec = 2 D = -2 Y",
}


def _model_cases(with_s: bool, with_r: bool, first: str = "energy") -> list[Case]:
    def kw(gain, alpha_e, alpha_s, alpha_r):
        d = {"gain": gain, "alpha_e": alpha_e}
        if with_s:
            d["alpha_s"] = alpha_s
        if with_r:
            d["alpha_r"] = alpha_r
        return d

    zeros = (torch.ones(1, 2), torch.zeros(1, 1), torch.zeros(2, 1), torch.zeros(1), torch.zeros(2))
    return [
        Case(_ZERO_CASE[first], *zeros, **kw(7.0, 1.0, 0.2, 4e-4)),
        Case("one sample, N = 3, M = 2, gain 1", *_params(1, 3, 2, 101), **kw(1.0, 1.0, 0.2, 4e-4)),
        Case("a batch of 5, N = 6, M = 4, the paper's settings", *_params(5, 6, 4, 111), **kw(7.0, 1.0, 0.2, 4e-4)),
        Case("alpha_e = 0.5, alpha_s = 1, alpha_r = 0.01", *_params(4, 5, 3, 121), **kw(7.0, 0.5, 1.0, 0.01)),
        Case("float64, a batch of 3, N = 8, M = 10 (more code units than inputs)",
             *_params(3, 8, 10, 131, dtype=torch.float64), **kw(7.0, 1.0, 0.5, 1e-3)),
    ]


#: Shown by the gradient checks after a pass (the notebook keeps them hidden until then).
GRAD_Z_FORMULA = r"""**Your derivation, written out.** With $s = l(Z)$, $s' = g\,s\,(1-s)$, $R = Z - (YW + b_{\text{enc}})$ and $D = s\,W^\top + b_{\text{dec}} - Y$ (one sample per row):

$$ \frac{\partial L}{\partial Z} = \underbrace{2\alpha_e R}_{\text{encoder term}} + s' \odot \Bigl( \underbrace{2\, D\, W}_{\text{reconstruction}} + \underbrace{\alpha_s \frac{2 s}{1 + s^2}}_{\text{sparsity}} \Bigr) $$

The encoder term pulls $Z$ towards the encoder's prediction; the other two reach $Z$ only through the logistic, so both vanish where a unit is saturated ($s' \approx 0$)."""

GRAD_W_FORMULA = r"""**Your derivation, written out** (the loss averaged over a batch of $B$ rows):

$$ \frac{\partial L}{\partial W} = \frac{1}{B}\Bigl( \underbrace{-2\alpha_e\, Y^\top R}_{W \text{ in the encoder}} + \underbrace{2\, D^\top s}_{W \text{ in the decoder}} \Bigr) + \alpha_r \operatorname{sign}(W) $$

The tied $W$ gets one term from each of its two uses; the sparsity term does not involve $W$."""

GRAD_B_FORMULA = r"""**Your derivation, written out** (the loss averaged over a batch):

$$ \frac{\partial L}{\partial b_{\text{enc}}} = \operatorname{mean}_b\bigl(-2\alpha_e R_b\bigr), \qquad \frac{\partial L}{\partial b_{\text{dec}}} = \operatorname{mean}_b\bigl(2 D_b\bigr) $$

Each bias sits in one residual only; at a code that the encoder predicts exactly ($R = 0$), $b_{\text{enc}}$ feels no gradient at all."""


def check_sesm_energy(fn) -> CheckResult:
    """Check the student's ``fn(Y, Z, W, b_enc, b_dec, gain, alpha_e) -> (B,)``, the energy
    of eq. 7 for each sample (values and gradients).

    Examples
    --------
    >>> def E(Y, Z, W, b_enc, b_dec, gain, alpha_e):
    ...     return alpha_e * ((Z - Y @ W - b_enc) ** 2).sum(1) + ((Y - torch.sigmoid(gain * Z) @ W.T - b_dec) ** 2).sum(1)
    >>> _ = check_sesm_energy(E)  # doctest: +ELLIPSIS
    ✅ SESM energy (eq. 7): correct on all 5 inputs (values, shapes, dtypes and gradients checked).
    """
    return run_check(
        "SESM energy (eq. 7)", fn, _ref_energy, _model_cases(False, False), grad=True, check_name="check_sesm_energy",
        hint="with one sample per row, the encoder's prediction W^T Y + b_enc is Y @ W + b_enc (B, M) and the "
             "decoder's W l(Z) + b_dec is l(Z) @ W.T + b_dec (B, N); square the two residuals and sum over dim=1, "
             "one value per sample.",
    )


def check_sesm_sparsity(fn) -> CheckResult:
    """Check the student's ``fn(Z, gain) -> (B,)``: ``h(Z) = sum_i log(1 + l(z_i)^2)``.

    Examples
    --------
    >>> _ = check_sesm_sparsity(lambda Z, gain: torch.log1p(torch.sigmoid(gain * Z) ** 2).sum(-1))  # doctest: +ELLIPSIS
    ✅ sparsity h(Z): correct on all 5 inputs (values, shapes, dtypes and gradients checked).
    """
    cases = [
        Case("Z = 0 (l = 1/2 for both units)", torch.zeros(1, 2), 7.0),
        Case("a batch of 4 codes, M = 5, gain 7", random_tensor((4, 5), low=-1.0, high=1.0, seed=141), 7.0),
        Case("gain 1", random_tensor((3, 6), seed=142), 1.0),
        Case("large |z| (units clearly off or on)", torch.tensor([[-30.0, -5.0, 5.0, 30.0]]), 7.0),
        Case("float64, M = 200", random_tensor((2, 200), low=-1.0, high=1.0, dtype=torch.float64, seed=143), 7.0),
    ]
    return run_check(
        "sparsity h(Z)", fn, _ref_sparsity, cases, grad=True, check_name="check_sesm_sparsity",
        hint="h is on l(z), the unit's output, not on z; sum over the code units (the last dimension), one value "
             "per row. torch.log1p(x) computes log(1 + x).",
    )


def check_sesm_loss(fn) -> CheckResult:
    """Check the student's ``fn(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r) -> (B,)``:
    eq. 8, ``E(Y, Z) + alpha_s h(Z) + alpha_r ||W||_1`` for each sample.

    Examples
    --------
    >>> from sesmlib import sesm
    >>> _ = check_sesm_loss(lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: sesm.loss(
    ...     Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r))  # doctest: +ELLIPSIS
    ✅ SESM loss (eq. 8): correct on all 5 inputs (values, shapes, dtypes and gradients checked).
    """
    return run_check(
        "SESM loss (eq. 8)", fn, _ref_loss, _model_cases(True, True, "loss"), grad=True, check_name="check_sesm_loss",
        hint="eq. 8 has three terms and you have written two of them already; the L1 term is on the filters only "
             "and adds the same number to every sample's loss (one value per row in the end).",
    )


def check_sesm_grad_z(fn) -> CheckResult:
    """Check the student's hand-derived ``fn(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s) -> (B, M)``,
    the gradient of each sample's loss (eq. 8) with respect to its code, against autograd.

    Examples
    --------
    >>> from sesmlib import sesm
    >>> _ = check_sesm_grad_z(lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s: sesm.code_grad(
    ...     Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s))  # doctest: +ELLIPSIS
    ✅ dL/dZ: correct on all 5 inputs (values, shapes and dtypes checked).
    ...
    """
    return run_check(
        "dL/dZ", fn, _ref_grad_z, _model_cases(True, False, "grad_z"), check_name="check_sesm_grad_z",
        rtol=1e-4, atol=1e-5, reveal=GRAD_Z_FORMULA,
        hint="three terms of L contain Z; differentiate each and add. The encoder term is a square of R, whose "
             "derivative in Z is the identity. The other two see Z only through s = l(Z), so each brings the "
             "factor s' (chain rule): the reconstruction error D flows back through W, and d/ds log(1 + s^2) "
             "gives the sparsity's part. Rows are samples, * is elementwise; no autograd.",
    )


def check_sesm_grad_w(fn) -> CheckResult:
    """Check the student's hand-derived
    ``fn(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r) -> (N, M)``, the gradient
    with respect to W of the loss (eq. 8) averaged over the batch, against autograd.

    Examples
    --------
    >>> from sesmlib import sesm
    >>> _ = check_sesm_grad_w(lambda Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r: sesm.loss_grads(
    ...     Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r)["W"])  # doctest: +ELLIPSIS
    ✅ dL/dW: correct on all 5 inputs (values, shapes and dtypes checked).
    ...
    """
    return run_check(
        "dL/dW", fn, _ref_grad_w, _model_cases(True, True, "grad_w"), check_name="check_sesm_grad_w",
        rtol=1e-4, atol=1e-5, reveal=GRAD_W_FORMULA,
        hint="W appears twice (tied weights), in R through the encoder and in D through the decoder: the two "
             "contributions add. For one sample, d(||R||^2)/dW is an outer product of Y with R (mind the sign: "
             "R = Z - (Y W + b_enc)), and d(||D||^2)/dW one of D with s. Sum over the rows (Y.T @ R does it), "
             "divide by B, then add the L1 term's slope alpha_r sign(W).",
    )


def check_sesm_grad_biases(fn) -> CheckResult:
    """Check the student's hand-derived ``fn(Y, Z, W, b_enc, b_dec, gain, alpha_e) -> (db_enc, db_dec)``,
    the gradients of the batch-mean loss (eq. 8) with respect to the two biases, (M,) and (N,).

    Examples
    --------
    >>> from sesmlib.checks.references import sesm_grad_biases
    >>> _ = check_sesm_grad_biases(sesm_grad_biases)  # doctest: +ELLIPSIS
    ✅ dL/db_enc and dL/db_dec: correct on all 5 inputs (values, shapes and dtypes checked).
    ...
    """
    cases = [
        Case(c.label, *c.args, gain=c.kwargs["gain"], alpha_e=c.kwargs["alpha_e"])
        for c in _model_cases(False, False, "grad_biases")
    ]
    return run_check(
        "dL/db_enc and dL/db_dec", fn, _ref_grad_biases, cases, check_name="check_sesm_grad_biases",
        rtol=1e-4, atol=1e-5, reveal=GRAD_B_FORMULA,
        hint="each bias appears in one term only: b_enc inside R (with a minus sign), b_dec inside D. "
             "Differentiate that square and average over the batch (mean over dim 0); return the pair "
             "(db_enc, db_dec).",
    )
