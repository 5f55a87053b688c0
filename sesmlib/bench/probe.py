"""``python -m sesmlib bench probe``: the linear probe against scikit-learn.

The probe (:func:`sesmlib.evaluate.probe_classifiers`) picks its L2 strength by
cross-validation in each draw and fits to convergence with L-BFGS in torch. For the same
draws of MNIST digits (raw pixels, or the codes of the stored quick-profile models with
``--features``) this fits scikit-learn's ``LogisticRegression`` (lbfgs, tol 1e-8) at the
strength the probe chose, on the same scaled features, and prints for each draw the two
test errors, how many of the test predictions differ, and the CPU seconds of each (the
probe's including its cross-validation). scikit-learn is a benchmark-only dependency,
imported here only.
"""
from __future__ import annotations

import argparse
import time

import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sesmlib bench probe", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=100, help="training digits per class (default 100)")
    p.add_argument("--draws", type=int, default=1, help="draws (default 1)")
    p.add_argument("--pool", type=int, default=60000, help="training digits the draws come from")
    args = p.parse_args(argv)
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("bench probe needs scikit-learn (pip install scikit-learn)")
        return 2
    from .. import evaluate as ev
    from .._engine import cpu_threads
    from ..data import load_mnist

    torch.set_num_threads(1)
    X, y = load_mnist("train", args.pool)
    Xt, yt = load_mnist("test")
    draws = ev.sample_draws(y, args.size, args.draws, seed=0)
    c0 = time.process_time()
    with cpu_threads(1):
        r = ev.probe_classifiers({"raw": (X, Xt)}, y, yt, draws)["raw"]
    t_probe = time.process_time() - c0
    print(f"raw pixels, {args.size} per class, {args.draws} draw(s); probe: {t_probe:.1f} s CPU "
          f"(cross-validation and fit), converged {r['converged']}")
    for j in range(args.draws):
        Xd, yd = X[draws[j]], y[draws[j]]
        s = float(Xd.pow(2).sum(1).mean().sqrt())
        lam = r["lambda"][j]
        c0 = time.process_time()
        clf = LogisticRegression(C=1.0 / (lam * len(yd)), tol=1e-8, max_iter=20000).fit((Xd / s).numpy(), yd.numpy())
        t_sk = time.process_time() - c0
        sk_pred = torch.as_tensor(clf.predict((Xt / s).numpy()))
        sk_err = 100.0 * float((sk_pred != yt).double().mean())
        # the probe's own predictions on the same draw, refitted at its lambda
        W, b, _ = ev.fit_logistic(((Xd / s) - (Xd / s).mean(0))[None], yd[None], torch.tensor([lam]), 10)
        ours = (((Xt / s) - (Xd / s).mean(0)) @ W[0] + b[0]).argmax(1)
        print(f"  draw {j}: lambda {lam:g}; test error probe {r['test_errors'][j]:.2f} %, scikit-learn {sk_err:.2f} % "
              f"({t_sk:.1f} s CPU for this one fit, {clf.n_iter_[0]} iterations); test predictions that differ: "
              f"{int((ours != sk_pred).sum())} of {len(yt)}")
    return 0
