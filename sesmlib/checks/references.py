"""Reference solutions of exercises that have no counterpart in the models.

The checks compare a student's function with the library's; most exercises re-derive a
function of :mod:`sesmlib.energy`, :mod:`sesmlib.rbm` or :mod:`sesmlib.sesm`. The few
below are teaching steps the models do not need as separate functions (they fuse them
into faster code), so their references live here, written for reading, and the cells
after those exercises use them through ``checks.prefer(mine, checks.references.<name>)``.
Nothing here is re-exported at ``sesmlib.checks`` level.

Conventions as in the rest of the library: samples are **rows** (``V`` is (B, N), ``Y``
is (B, N)), ``W`` is (N, M), and a binary unit is on exactly when its uniform random
number is strictly below its probability.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__: list[str] = []


# ------------------------------------------------------------------ notebook 01: free energy


def mean_energy_and_entropy(energies: torch.Tensor, beta: float, dz: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The two parts of the free energy, ``F_beta = <E> - H / beta``, over a latent grid.

    With ``p_k = exp(-beta E_k) / sum_j exp(-beta E_j)`` the posterior of the latent given
    the input (the last dimension holds the K grid cells of width ``dz``)::

        <E> = sum_k p_k E_k                       the average energy under p(z | Y)
        H   = - sum_k p_k log(p_k / dz)           the entropy of p(z | Y) as a density (nats)

    ``exp(H)`` is the width of latent values that explain the input about equally well
    (for a uniform p over a width w, H = log w). Computed with ``log_softmax``, so that
    energies of 1000 at beta = 50 give no 0 * log 0 = NaN.

    Examples
    --------
    >>> E = torch.zeros(1, 4)                       # four equally good latents
    >>> U, H = mean_energy_and_entropy(E, beta=1.0, dz=0.5)
    >>> float(U), round(float(H), 4)                # a uniform p over a width 4 * 0.5 = 2
    (0.0, 0.6931)
    >>> from sesmlib.energy import free_energy
    >>> E = torch.tensor([[0.0, 1.0, 4.0]])
    >>> U, H = mean_energy_and_entropy(E, 2.0, 0.1)
    >>> torch.allclose(U - H / 2.0, free_energy(E, 2.0, dz=0.1))
    True
    """
    log_p = torch.log_softmax(-beta * energies, dim=-1)  # (..., K)
    p = log_p.exp()
    mean_energy = (p * energies).sum(-1)
    entropy = -(p * (log_p - torch.log(torch.as_tensor(dz, dtype=energies.dtype, device=energies.device)))).sum(-1)
    return mean_energy, entropy


# ------------------------------------------------------------------- notebook 02: the RBM


def p_h_given_v(V: torch.Tensor, W: torch.Tensor, b_hid: torch.Tensor) -> torch.Tensor:
    """``p(h_j = 1 | v) = sigmoid(b_hid_j + v . W[:, j])`` for every row of V: (B, M).

    Examples
    --------
    >>> p_h_given_v(torch.zeros(2, 3), torch.ones(3, 4), torch.zeros(4))
    tensor([[0.5000, 0.5000, 0.5000, 0.5000],
            [0.5000, 0.5000, 0.5000, 0.5000]])
    """
    return torch.sigmoid(V @ W + b_hid)  # (B, M)


def p_v_given_h(H: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor) -> torch.Tensor:
    """``p(v_i = 1 | h) = sigmoid(b_vis_i + W[i, :] . h)`` for every row of H: (B, N).

    Examples
    --------
    >>> p_v_given_h(torch.zeros(1, 4), torch.ones(3, 4), torch.zeros(3))
    tensor([[0.5000, 0.5000, 0.5000]])
    """
    return torch.sigmoid(H @ W.T + b_vis)  # (B, N)


def gibbs_step(V, W, b_vis, b_hid, u_h, u_v) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of block Gibbs sampling, with the uniform numbers passed in::

        H  = 1[u_h < p(h = 1 | V)]       (B, M)   sample every hidden unit at once
        V1 = 1[u_v < p(v = 1 | H)]       (B, N)   then every visible unit at once

    Returns ``(H, V1)``, both of V's dtype.

    Examples
    --------
    >>> H, V1 = gibbs_step(torch.ones(1, 2), torch.zeros(2, 3), torch.zeros(2), torch.zeros(3),
    ...                    torch.tensor([[0.2, 0.6, 0.5]]), torch.tensor([[0.4, 0.9]]))
    >>> H, V1                                        # every probability is 1/2
    (tensor([[1., 0., 0.]]), tensor([[1., 0.]]))
    """
    H = (u_h < p_h_given_v(V, W, b_hid)).to(V.dtype)  # (B, M)
    V1 = (u_v < p_v_given_h(H, W, b_vis)).to(V.dtype)  # (B, N)
    return H, V1


def ais_log_f(V, beta, W, b_vis, b_hid, b_A) -> torch.Tensor:
    """``log f_beta(v)``, the unnormalised log-probability of AIS's intermediate model at
    inverse temperature beta (hidden units summed out), for every row of V: (B,)::

        log f_beta(v) = (1 - beta) b_A . v + beta b_vis . v + sum_j softplus(beta (b_hid_j + v . W[:, j]))

    ``f_0`` is the base model (visible biases ``b_A``, no weights), ``f_1 = exp(-F(v))``.
    """
    return (1 - beta) * (V @ b_A) + beta * (V @ b_vis) + F.softplus(beta * (V @ W + b_hid)).sum(-1)


def ais_log_weight(V, beta_prev, beta_next, W, b_vis, b_hid, b_A) -> torch.Tensor:
    """One step's contribution to the log importance weight of each AIS chain: (B,)::

        log f_{beta_next}(v) - log f_{beta_prev}(v)

    evaluated at the chain's current state v (the rows of V).

    Examples
    --------
    >>> V = torch.tensor([[1.0, 0.0, 1.0]])
    >>> W, b = torch.zeros(3, 2), torch.zeros(3)
    >>> ais_log_weight(V, 0.3, 0.3, W, b, torch.zeros(2), b)     # no step, no weight
    tensor([0.])
    """
    return ais_log_f(V, beta_next, W, b_vis, b_hid, b_A) - ais_log_f(V, beta_prev, W, b_vis, b_hid, b_A)


# -------------------------------------------------------------- notebook 03: SESM's gradients


def sesm_grad_w(Y, Z, W, b_enc, b_dec, gain, alpha_e, alpha_s, alpha_r) -> torch.Tensor:
    """dL/dW of the batch-mean loss (eq. 8), both uses of the tied W and the L1 term: (N, M)::

        dL/dW = (1/B) (-2 alpha_e Y^T R + 2 D^T s) + alpha_r sign(W)

    with ``s = l(Z)``, ``R = Z - (Y W + b_enc)``, ``D = s W^T + b_dec - Y``. ``alpha_s``
    is accepted for a uniform signature: the sparsity term does not involve W.
    """
    s = torch.sigmoid(gain * Z)  # (B, M)
    R = Z - (Y @ W + b_enc)  # (B, M)
    D = s @ W.T + b_dec - Y  # (B, N)
    return (-2 * alpha_e * Y.T @ R + 2 * D.T @ s) / Y.shape[0] + alpha_r * torch.sign(W)


def sesm_grad_biases(Y, Z, W, b_enc, b_dec, gain, alpha_e) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dL/db_enc, dL/db_dec)`` of the batch-mean loss (eq. 8): (M,), (N,)::

        dL/db_enc = mean over the batch of -2 alpha_e R,    dL/db_dec = mean over the batch of 2 D

    Examples
    --------
    >>> g_enc, g_dec = sesm_grad_biases(torch.ones(2, 3), torch.zeros(2, 1), torch.zeros(3, 1),
    ...                                 torch.zeros(1), torch.zeros(3), 7.0, 1.0)
    >>> g_enc, g_dec                                  # R = 0; D = -Y
    (tensor([-0.]), tensor([-2., -2., -2.]))
    """
    s = torch.sigmoid(gain * Z)  # (B, M)
    R = Z - (Y @ W + b_enc)  # (B, M)
    D = s @ W.T + b_dec - Y  # (B, N)
    return -2 * alpha_e * R.mean(0), 2 * D.mean(0)


# ------------------------------------------------------ notebook 06: panel C and the probe


def pareto_front(bits: torch.Tensor, rmse: torch.Tensor) -> torch.Tensor:
    """The points of panel C that no other point beats: (P,) bool.

    Point j beats point i when it costs no more bits and has no higher RMSE, and is
    strictly better on at least one of the two (Pareto dominance); identical points do
    not beat each other. ``bits`` and ``rmse`` are (P,) tensors, one entry per point.

    Examples
    --------
    >>> pareto_front(torch.tensor([0.1, 0.3, 0.5]), torch.tensor([0.3, 0.35, 0.1]))
    tensor([ True, False,  True])
    """
    no_worse = (bits[None, :] <= bits[:, None]) & (rmse[None, :] <= rmse[:, None])  # (P, P): j no worse than i
    better = (bits[None, :] < bits[:, None]) | (rmse[None, :] < rmse[:, None])  # (P, P): j strictly better somewhere
    return ~(no_worse & better).any(dim=1)


def probe_loss_grads(X: torch.Tensor, y: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                     ridge: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression (the linear probe): the loss and its gradients.

    For features X (B, D), integer labels y (B,) in 0..K-1, weights W (D, K), biases b (K,)::

        A = X W + b                         (B, K) the scores
        P = softmax(A)  (row by row)        (B, K) the predicted class probabilities
        L = - (1/B) sum_n log P[n, y_n] + (ridge / 2) ||W||^2
        dL/dW = X^T (P - T) / B + ridge W,   dL/db = mean over the batch of (P - T)

    with T the one-hot targets. ``log_softmax`` keeps the loss finite for large scores.
    Returns ``(L, dL/dW, dL/db)``: a 0-dim tensor, (D, K), (K,).

    Examples
    --------
    >>> L, dW, db = probe_loss_grads(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(3, 2), torch.zeros(2), 0.0)
    >>> round(float(L), 4), db                      # P = 1/2 everywhere: log 2, and P - T averages to 0
    (0.6931, tensor([0., 0.]))
    """
    A = X @ W + b  # (B, K)
    log_p = torch.log_softmax(A, dim=1)  # (B, K)
    T = F.one_hot(y.long(), W.shape[1]).to(X.dtype)  # (B, K)
    B = X.shape[0]
    loss = -(T * log_p).sum() / B + 0.5 * ridge * (W * W).sum()
    G = log_p.exp() - T  # (B, K): P - T
    return loss, X.T @ G / B + ridge * W, G.mean(0)
