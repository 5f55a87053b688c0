"""The linear probe: multinomial logistic regression on fixed codes, trained to convergence.

The second classifier protocol of the Figure-1 reproduction, beside the paper's
(:mod:`.classifier`). The paper's classifier (squared error, 100 epochs of stochastic
gradient) stops where its step size and epoch count leave it, so its error mixes what a
code is worth with how fast that classifier fits it. The probe asks only the first
question, the way the field now measures a representation: for each training draw,

    minimise  J(W, b) = (1/n) sum_i CE(x_i W + b, y_i) + (lam / 2) ||W||_F^2     (b free)

(CE: the cross-entropy of the softmax), by L-BFGS until the largest gradient entry is
below ``tol``, with ``lam`` chosen by stratified k-fold cross-validation *inside the
draw* (the test digits are used for the final error only). scikit-learn's
``LogisticRegression(C=...)`` solves the same problem (``lam = 1 / (C n)``); it is used in
the tests as a cross-check, never here.

Two exact reparametrisations make one grid of ``lam`` suit every representation and
speed up L-BFGS; neither changes a prediction:

1. the features of a draw are centred on the draw's mean (b is not penalised, so it
   absorbs the shift);
2. they are divided by one number per draw, ``s = sqrt(mean_i ||x_i||^2)`` (so the mean
   squared norm is 1): the grid ``lam`` is on that scale (``lam`` on the raw features is
   ``lam s^2``).

Many independent problems (D draws times k folds) are solved as ONE L-BFGS run on the sum
of their objectives: the objective is block-separable, so its minimiser is the tuple of
the problems' minimisers, and every product is batched. The cross-validation solves
follow the grid from the strongest ``lam`` down, each started from the previous solution
(a warm-started path, as scikit-learn's ``LogisticRegressionCV`` does) and capped at
``cv_max_iter`` iterations; the final fit on the whole draw runs to ``tol``.

Examples
--------
>>> import torch
>>> from sesmlib.evaluate import sample_draws
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(1000, 4, generator=g); y = (X[:, 0] + X[:, 1] > 0).long()
>>> draws = sample_draws(y, 100, n_draws=2, seed=0)
>>> r = probe_classifiers({"x": (X, X)}, y, y, draws, protocol=ProbeProtocol(lambdas=(1e-3, 1e-1)))
>>> r["x"]["test_error"]["mean"] < 10
True
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from .._engine import cpu_threads
from .._utils import check_nonnegative, check_positive_int
from .classifier import _check_codes, _stats

__all__ = ["ProbeProtocol", "PROBE_PROTOCOL", "fit_logistic", "probe_classifiers"]


@dataclass(frozen=True)
class ProbeProtocol:
    """Settings of the linear probe (see the module docstring).

    Attributes
    ----------
    lambdas : tuple of float
        The L2 strengths cross-validated, on features scaled to mean squared norm 1.
    folds : int
        Stratified folds of the cross-validation inside each draw (at least 2; a class
        with fewer samples than folds leaves some folds without it, which is allowed).
    tol : float
        Convergence: the largest entry of the gradient of J, over all problems.
    cv_max_iter : int
        L-BFGS iterations per grid point of the cross-validation (warm-started path).
    max_iter : int
        L-BFGS iterations of the final fit (it stops earlier at ``tol``).
    history_size : int
        L-BFGS memory.
    large_n : int or None
        Training draws of at least this many samples cross-validate over
        ``large_lambdas`` with ``large_folds`` folds instead (None: never).
    large_lambdas : tuple of float
    large_folds : int
        The cross-validation of large draws. The optimal strength falls like 1/n; on
        draws of 10000 digits (1000 per class) the six-decade grid picked 1e-5 on 198 of
        the 200 draws of the full Figure-1 run (every representation and seed; 1e-4 on the
        other two), and its three strongest points never won. Three decades around it
        and two folds keep a neighbour on each side of the choice and halve the cost of
        the probe, which the 1000-per-class draws dominate (measured on raw pixels, SESM
        alpha_s 0.2 and the RBM, 10 draws each: the same lambda on every draw, test errors
        within 0.005 points, 1.9 to 2.3 times less cpu).

    Examples
    --------
    >>> ProbeProtocol().folds, ProbeProtocol().as_dict()["lambdas"][0]
    (3, 0.1)
    >>> ProbeProtocol().grid(100), ProbeProtocol().grid(10000)
    ((3, (0.1, 0.01, 0.001, 0.0001, 1e-05, 1e-06)), (2, (0.0001, 1e-05, 1e-06)))
    """

    lambdas: tuple = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
    folds: int = 3
    tol: float = 1e-4
    cv_max_iter: int = 50
    max_iter: int = 1000
    history_size: int = 20
    large_n: int | None = 5000
    large_lambdas: tuple = (1e-4, 1e-5, 1e-6)
    large_folds: int = 2

    def __post_init__(self):
        for name in ("lambdas", "large_lambdas"):
            grid = getattr(self, name)
            if not grid or any(check_nonnegative(name, v, positive=True) <= 0 for v in grid):
                raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {grid!r}")
        for name in ("folds", "large_folds"):
            if check_positive_int(name, getattr(self, name)) < 2:
                raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.large_n is not None:
            check_positive_int("large_n", self.large_n)
        check_nonnegative("tol", self.tol, positive=True)
        for name in ("cv_max_iter", "max_iter", "history_size"):
            check_positive_int(name, getattr(self, name))

    def as_dict(self) -> dict:
        """The settings as a JSON-able dict."""
        d = asdict(self)
        for name in ("lambdas", "large_lambdas"):
            d[name] = [float(v) for v in getattr(self, name)]
        return d

    def grid(self, n: int) -> tuple[int, tuple]:
        """The folds and the strengths (strongest first) cross-validated on a draw of n samples."""
        if self.large_n is not None and n >= self.large_n:
            return self.large_folds, tuple(sorted(self.large_lambdas, reverse=True))
        return self.folds, tuple(sorted(self.lambdas, reverse=True))


#: The probe of the Figure-1 reproduction: 3-fold cross-validation over lam in 1e-1 ...
#: 1e-6 (on features of mean squared norm 1; 2 folds over 1e-4 ... 1e-6 for draws of 5000
#: samples or more), 50 L-BFGS iterations per grid point (a warm-started path), final fit
#: to a largest gradient entry of 1e-4. Checked against
#: scikit-learn's LogisticRegression at the chosen lam (tol 1e-8) on raw pixels
#: (``python -m sesmlib bench probe --size 100 --draws 2``): test errors 12.95 / 12.23 %
#: against 12.94 / 12.27 %, at most 4 of the 10000 test predictions differing; the tests
#: run a smaller check. On raw pixels, 10 draws of 100 per class: 12.37 +/- 0.44 %.
PROBE_PROTOCOL = ProbeProtocol()

_CHECK_EVERY = 25  # L-BFGS iterations between convergence checks


def fit_logistic(X: torch.Tensor, Y: torch.Tensor, lam: torch.Tensor, n_classes: int, *, tol: float = 1e-4,
                 max_iter: int = 1000, history_size: int = 20, W0=None, b0=None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """S independent multinomial logistic regressions as one L-BFGS run (see the module).

    Parameters
    ----------
    X : Tensor (S, n, d)
        Features (rows whose label is -1 are padding and ignored).
    Y : Tensor (S, n) int
        Labels 0..n_classes-1, or -1 for padding.
    lam : Tensor (S,)
        The L2 strength of each problem.
    n_classes : int
    tol, max_iter, history_size
        As in :class:`ProbeProtocol`.
    W0, b0 : Tensor (S, d, K) and (S, K), optional
        Starting point (default zero).

    Returns
    -------
    W (S, d, K), b (S, K), info {"iterations", "grad_max", "converged"}

    Examples
    --------
    >>> X = torch.tensor([[[-1.0], [1.0]]]); Y = torch.tensor([[0, 1]])
    >>> W, b, info = fit_logistic(X, Y, torch.tensor([0.1]), 2)
    >>> info["converged"], bool(W[0, 0, 1] > W[0, 0, 0])
    (True, True)
    """
    S, n, d = X.shape
    K = n_classes
    lam = lam.to(X.dtype).view(S, 1, 1)
    real = Y >= 0
    weight = (real.to(X.dtype) / real.sum(1, keepdim=True).clamp_min(1).to(X.dtype)).unsqueeze(2)  # (S, n, 1): 1/n_s per real row
    target = Y.clamp_min(0).unsqueeze(2)  # (S, n, 1)
    onehot = torch.zeros(S, n, K, dtype=X.dtype).scatter_(2, target, 1.0)
    W = torch.zeros(S, d, K, dtype=X.dtype) if W0 is None else W0.clone()
    b = torch.zeros(S, 1, K, dtype=X.dtype) if b0 is None else b0.view(S, 1, K).clone()

    def objective_and_grads():
        """J and its gradient, by hand: dJ/dlogits = (softmax - onehot) / n_s per real row.
        The weight gradient is formed as (G^T X)^T: the product then runs along X's rows,
        twice as fast on the cpu as X^T G (the autograd form), and the softmax is fused."""
        logits = torch.baddbmm(b, X, W)  # (S, n, K)
        top = logits.amax(2, keepdim=True)
        e = torch.exp(logits - top)
        se = e.sum(2, keepdim=True)
        lse = se.log().add_(top)
        J = ((lse - logits.gather(2, target)) * weight).sum() + 0.5 * (lam * W.pow(2)).sum()
        G = e.div_(se).sub_(onehot).mul_(weight)  # (S, n, K)
        gW = torch.bmm(G.transpose(1, 2), X).transpose(1, 2).add(lam * W).contiguous()  # (S, d, K)
        return J, gW, G.sum(1, keepdim=True)

    def closure():
        J, gW, gb = objective_and_grads()
        W.grad, b.grad = gW, gb
        return J

    def grad_max() -> float:
        _, gW, gb = objective_and_grads()
        return max(float(gW.abs().max()), float(gb.abs().max()))

    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=_CHECK_EVERY, max_eval=_CHECK_EVERY * 5 // 4,
                            tolerance_grad=0.0, tolerance_change=0.0, history_size=history_size,
                            line_search_fn="strong_wolfe")
    it, g = 0, grad_max()
    while g > tol and it < max_iter:
        opt.step(closure)
        it += _CHECK_EVERY
        g_new = grad_max()
        if g_new == g:  # no progress left at this precision
            break
        g = g_new
    W.grad = b.grad = None
    return W, b.view(S, K), {"iterations": it, "grad_max": g, "converged": g <= tol}


def _folds(y: torch.Tensor, k: int, n_classes: int) -> torch.Tensor:
    """A stratified fold id (0..k-1) for each row of one draw: each class dealt round-robin
    in the draw's order (draws from :func:`sample_draws` are already shuffled)."""
    fold = torch.empty_like(y)
    for c in range(n_classes):
        idx = (y == c).nonzero().squeeze(1)
        fold[idx] = torch.arange(idx.numel()) % k
    return fold


def _probe(X: torch.Tensor, y: torch.Tensor, n_classes: int, p: ProbeProtocol) -> tuple:
    """Cross-validate lam and fit, for D draws at once. X (D, n, d) scaled features, y
    (D, n). Returns W (D, d, K), b (D, K) on X centred by mu (D, 1, d), mu, the chosen
    lambdas, the CV errors (D, L) and the solver's info."""
    D, n, d = X.shape
    c0 = time.process_time()
    k, lams = p.grid(n)
    folds = torch.stack([_folds(y[j], k, n_classes) for j in range(D)])  # (D, n)
    m_max = int(max(int((folds[j] != f).sum()) for j in range(D) for f in range(k)))
    Xf = torch.zeros(D * k, m_max, d, dtype=X.dtype)  # the training part of every (draw, fold)
    Yf = torch.full((D * k, m_max), -1, dtype=torch.long)
    mus = torch.zeros(D * k, 1, d, dtype=X.dtype)
    for j in range(D):
        for f in range(k):
            sel = folds[j] != f
            m = int(sel.sum())
            mus[j * k + f, 0] = X[j][sel].mean(0)
            Xf[j * k + f, :m] = X[j][sel] - mus[j * k + f, 0]
            Yf[j * k + f, :m] = y[j][sel]
    cv_wrong = torch.zeros(D, len(lams), dtype=torch.float64)
    W = b = None
    cv_iters, path = [], []
    for li, lam in enumerate(lams):
        W, b, info = fit_logistic(Xf, Yf, torch.full((D * k,), lam), n_classes, tol=p.tol, max_iter=p.cv_max_iter,
                                  history_size=p.history_size, W0=W, b0=b)
        cv_iters.append(info["iterations"])
        path.append((W, b))
        for j in range(D):
            for f in range(k):
                sel = folds[j] == f
                logits = (X[j][sel] - mus[j * k + f, 0]) @ W[j * k + f] + b[j * k + f]
                cv_wrong[j, li] += float((logits.argmax(-1) != y[j][sel]).sum())
    cv_err = 100.0 * cv_wrong / n
    t_cv = time.process_time()
    # the lowest CV error; on a tie the strongest regularisation
    best = [min(range(len(lams)), key=lambda i: (float(cv_err[j, i]), -lams[i])) for j in range(D)]
    lam_best = torch.tensor([lams[i] for i in best], dtype=X.dtype)
    mu = X.mean(1, keepdim=True)  # (D, 1, d)
    # start the final fit from the mean of the draw's fold solutions at its lambda (a
    # starting point only: the problem is strictly convex, the fit runs to tol)
    W0 = torch.stack([path[best[j]][0][j * k:(j + 1) * k].mean(0) for j in range(D)])  # (D, d, K)
    b0 = torch.stack([(path[best[j]][1][j * k:(j + 1) * k]
                       - torch.bmm(mus[j * k:(j + 1) * k] - mu[j], path[best[j]][0][j * k:(j + 1) * k]).squeeze(1)
                       ).mean(0) for j in range(D)])  # (D, K)
    W, b, info = fit_logistic(X - mu, y, lam_best, n_classes, tol=p.tol, max_iter=p.max_iter,
                              history_size=p.history_size, W0=W0, b0=b0)
    return W, b, mu, lam_best, cv_err, {**info, "cv_iterations": cv_iters, "cpu_cv": t_cv - c0,
                                        "cpu_fit": time.process_time() - t_cv}


def probe_classifiers(
    codes: dict,
    train_labels: torch.Tensor,
    test_labels: torch.Tensor,
    draws: torch.Tensor,
    *,
    protocol: ProbeProtocol = PROBE_PROTOCOL,
    n_classes: int | None = None,
    num_threads: int | None = 1,
) -> dict:
    """The probe on several representations over shared draws (same arguments and
    results as :func:`sesmlib.evaluate.linear_classifiers`, plus the chosen L2 strengths).

    Parameters
    ----------
    codes : dict name -> (train_codes (P_train, d), test_codes (P_test, d))
    train_labels, test_labels : Tensor of int
    draws : Tensor (D, n) int, from :func:`sample_draws`
    protocol : ProbeProtocol
    n_classes : int, optional
    num_threads : int or None
        CPU threads (default 1: the result then does not depend on the machine's setting;
        None keeps torch's).

    Returns
    -------
    dict name -> {"train_error", "test_error" (mean and std over draws, %), "train_errors",
    "test_errors" (per draw), "n_train", "seconds", "lambda" (chosen per draw, on the
    scaled features), "converged" (every final fit reached ``tol``), "iterations" (of the
    final fit), "cpu_seconds" ({"cv", "fit"}: process CPU time of each part)}.

    Examples
    --------
    >>> import torch
    >>> from sesmlib.evaluate import sample_draws
    >>> g = torch.Generator().manual_seed(1)
    >>> X = torch.randn(200, 3, generator=g); y = (X[:, 0] > 0).long()
    >>> r = probe_classifiers({"a": (X, X)}, y, y, sample_draws(y, 15, n_draws=2, seed=0))
    >>> r["a"]["converged"], len(r["a"]["lambda"]), r["a"]["n_train"]
    (True, 2, 30)
    """
    if not isinstance(protocol, ProbeProtocol):
        raise TypeError(f"protocol must be a ProbeProtocol, got {type(protocol).__name__}")
    checked, train_labels, test_labels, draws, K = _check_codes(codes, train_labels, test_labels, draws, n_classes)
    D, n = draws.shape
    out = {}
    with torch.no_grad(), cpu_threads(num_threads):
        for name, (tr, te) in checked.items():
            t0 = time.perf_counter()
            dr = draws.to(tr.device)
            X = tr[dr].cpu()  # (D, n, d)
            y = train_labels.to(tr.device)[dr].cpu()  # (D, n)
            s = X.pow(2).sum(-1).mean(-1).sqrt().clamp_min(1e-12).view(D, 1, 1)  # (D, 1, 1)
            W, b, mu, lam, _, info = _probe(X / s, y, K, protocol)
            # back to the raw features: logits = ((x / s) - mu) W + b = x (W / s) + (b - mu W)
            W_raw = W / s  # (D, d, K)
            b_raw = b - torch.bmm(mu, W).squeeze(1)  # (D, K)
            train_err = torch.stack([_error(X[j], y[j], W_raw[j], b_raw[j]) for j in range(D)])
            te_cpu, yt = te.cpu(), test_labels.cpu()
            test_err = torch.stack([_error(te_cpu, yt, W_raw[j], b_raw[j]) for j in range(D)])
            out[name] = {
                "train_error": _stats(train_err),
                "test_error": _stats(test_err),
                "train_errors": [float(v) for v in train_err],
                "test_errors": [float(v) for v in test_err],
                "n_train": int(n),
                "seconds": time.perf_counter() - t0,
                "lambda": [float(v) for v in lam],
                "converged": bool(info["converged"]),
                "iterations": int(info["iterations"]),
                "cpu_seconds": {"cv": info["cpu_cv"], "fit": info["cpu_fit"]},
            }
    return out


def _error(X: torch.Tensor, y: torch.Tensor, W: torch.Tensor, b: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Error rate in % of one classifier on (X, y)."""
    wrong = sum(int(((X[s:s + chunk] @ W + b).argmax(-1) != y[s:s + chunk]).sum()) for s in range(0, X.shape[0], chunk))
    return torch.tensor(100.0 * wrong / X.shape[0], dtype=torch.float64)
