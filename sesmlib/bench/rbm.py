"""``python -m sesmlib bench rbm``: our RBM against scikit-learn's BernoulliRBM.

Both train on the same data (the first 20000 MNIST training digits when the loader finds
them), with the same size, learning rate, epochs and batch size (20 and 100), in one run,
with the same number of cpu threads (torch's and numpy's BLAS limited alike). Printed for
each batch size:

- digits per second of each, and the speed ratio ours / scikit-learn;
- the best time of ``--rounds`` interleaved repetitions (load changes hit all contenders);
- the reconstruction error of each on held-out digits, by the same function: the mean
  squared error per pixel of the mean-field reconstruction sigmoid(p(h|v) W^T + b_vis);
- the roofline ratio: the GFLOP/s our training loop achieves (10 B N M flops per update:
  five (B x N x M) products) over the GFLOP/s of one (B, N) @ (N, M) torch matmul timed in
  this process.

Rows per batch size: scikit-learn; "ours, same algorithm" (persistent CD-1 keeping the
chains' hidden states, no momentum, zero initial biases: scikit-learn's algorithm, so the
speed ratio compares implementations); the same with the five products in bfloat16
(``fit(matmul_dtype=torch.bfloat16)``, parameters in float32); "ours, library training"
(CD-1, visible biases from the pixel means, momentum 0.5: what the library recommends, at
the same lr and epochs). ``--sklearn-default-threads`` adds scikit-learn with numpy's
BLAS threads left at their default.

scikit-learn is a benchmark-only dependency, imported here only.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import torch

from .._device import device as _pick_device
from .._utils import atomic_write_bytes


def _load_data(n: int, n_test: int, seed: int):
    """(X_train, X_test, description): real MNIST through the library's loader, or a
    synthetic stand-in (said so) when the loader or the files are missing."""
    try:
        from ..data import load_mnist

        X, _ = load_mnist("train", n)
        Xt, _ = load_mnist("test", n_test)
        return X, Xt, f"MNIST, first {len(X)} training digits; reconstruction on the first {len(Xt)} test digits"
    except Exception as exc:  # the loader is missing, or the files are
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(10, 784, generator=g) < 0.2).float()  # 10 binary prototypes

    def draw(m):
        idx = torch.randint(0, 10, (m,), generator=g)
        flip = torch.rand(m, 784, generator=g) < 0.05
        return (protos[idx] + flip.float()).remainder(2.0)

    desc = (f"SYNTHETIC stand-in data ({n} noisy copies of 10 random binary prototypes): MNIST was not "
            f"found ({reason}); set SESMLIB_DATA_DIR to the MNIST folder for the real benchmark")
    return draw(n), draw(n_test), desc


def _recon_mse(X: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor, b_hid: torch.Tensor) -> float:
    """Mean squared error per pixel of sigmoid(sigmoid(X W + b_hid) W^T + b_vis), float64."""
    X, W, b_vis, b_hid = (t.detach().cpu().double() for t in (X, W, b_vis, b_hid))
    R = torch.sigmoid(torch.sigmoid(X @ W + b_hid) @ W.T + b_vis)
    return float(((R - X) ** 2).mean())


def _matmul_gflops(B: int, N: int, M: int, dev: torch.device, dtype=torch.float32, seconds: float = 0.5) -> float:
    """GFLOP/s of a (B, N) @ (N, M) torch matmul into a preallocated output."""
    a, b = torch.rand(B, N, device=dev, dtype=dtype), torch.rand(N, M, device=dev, dtype=dtype)
    out = torch.empty(B, M, device=dev, dtype=dtype)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(20):
        torch.mm(a, b, out=out)
    sync()
    reps, t = 0, 0.0
    t0 = time.perf_counter()
    while t < seconds:
        for _ in range(50):
            torch.mm(a, b, out=out)
        sync()
        reps += 50
        t = time.perf_counter() - t0
    return 2.0 * B * N * M * reps / t / 1e9


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sesmlib bench rbm", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20000, help="training digits (default 20000, the paper's)")
    p.add_argument("--n-test", type=int, default=10000, help="held-out digits for the reconstruction error")
    p.add_argument("--hidden", type=int, default=200, help="hidden units (default 200, the paper's)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[20, 100])
    p.add_argument("--lr", type=float, default=0.05, help="learning rate, on the batch-mean gradient, for both")
    p.add_argument("--threads", type=int, default=1,
                   help="cpu threads for both torch and numpy's BLAS (default 1: fastest at these batch sizes "
                        "on a shared 2-core machine)")
    p.add_argument("--device", default="cpu", help="device for our RBM (scikit-learn always runs on the cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; each contender keeps its best time")
    p.add_argument("--sklearn-default-threads", action="store_true",
                   help="add a scikit-learn row with its BLAS threads left at their default")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    for name in ("n", "n_test", "hidden", "epochs", "threads", "rounds"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if any(b <= 0 for b in args.batch_sizes):
        p.error("--batch-sizes must be positive")
    if args.lr <= 0:
        p.error("--lr must be positive")
    try:
        from sklearn.neural_network import BernoulliRBM
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("bench rbm needs scikit-learn (a benchmark-only dependency): pip install scikit-learn", file=sys.stderr)
        return 2
    from ..rbm import RBM

    dev = _pick_device(args.device)
    torch.set_num_threads(args.threads)
    X, Xt, desc = _load_data(args.n, args.n_test, args.seed)
    N, M = X.shape[1], args.hidden
    Xn = X.numpy().astype("float32")
    print(f"bench rbm: {desc}")
    print(f"  {M} hidden units, {args.epochs} epochs, lr {args.lr}, threads {args.threads} (torch and BLAS), "
          f"our device {dev}, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    results = {"data": desc, "hidden": M, "epochs": args.epochs, "lr": args.lr, "threads": args.threads,
               "device": str(dev), "torch": torch.__version__, "rows": []}
    header = f"{'batch':>5}  {'model':<29} {'digits/s':>10} {'x sklearn':>9} {'recon MSE':>10} {'GFLOP/s':>8} {'roofline':>8}"
    print(header)
    print("-" * len(header))
    same = dict(persistent=True, momentum=0.0, init_vis_bias=False)
    ours_variants = (
        ("ours, same algorithm (PCD-1)", same),
        ("ours, same, bf16 products", dict(same, matmul_dtype=torch.bfloat16)),
        ("ours, library training", dict(persistent=False, momentum=0.5, init_vis_bias=True)),
    )
    for B in args.batch_sizes:
        if B > args.n:
            print(f"  batch {B} skipped: larger than --n")
            continue
        flops = 10.0 * B * N * M * (args.n // B) * args.epochs
        n_seen = (args.n // B) * B * args.epochs
        best: dict[str, float] = {}  # label -> best seconds over the rounds
        mse: dict[str, float] = {}
        mm = 0.0
        # Rounds interleave the contenders so that a change of machine load hits all of them;
        # each keeps its best time (the usual defence of a benchmark against noise).
        for rnd in range(args.rounds):
            mm = max(mm, _matmul_gflops(B, N, M, dev, seconds=0.3))
            sk = BernoulliRBM(n_components=M, learning_rate=args.lr, batch_size=B, n_iter=args.epochs,
                              random_state=args.seed, verbose=0)
            with threadpool_limits(limits=args.threads):
                t0 = time.perf_counter()
                sk.fit(Xn)
                t = time.perf_counter() - t0
            label = "scikit-learn BernoulliRBM"
            best[label] = min(best.get(label, math.inf), t)
            mse[label] = _recon_mse(Xt, torch.from_numpy(sk.components_.T.copy()),
                                    torch.from_numpy(sk.intercept_visible_), torch.from_numpy(sk.intercept_hidden_))
            if args.sklearn_default_threads and rnd == 0:  # once: it is slow where cores are shared
                sk2 = BernoulliRBM(n_components=M, learning_rate=args.lr, batch_size=B, n_iter=args.epochs,
                                   random_state=args.seed, verbose=0)
                t0 = time.perf_counter()
                sk2.fit(Xn)  # numpy's BLAS threads as they are by default
                label = "scikit-learn, default threads"
                best[label] = time.perf_counter() - t0
                mse[label] = _recon_mse(Xt, torch.from_numpy(sk2.components_.T.copy()),
                                        torch.from_numpy(sk2.intercept_visible_), torch.from_numpy(sk2.intercept_hidden_))
            Xd = X.to(dev)
            for label, kw in ours_variants:
                rbm = RBM(N, M, seed=args.seed, device=dev)
                t0 = time.perf_counter()
                hist = rbm.fit(Xd, epochs=args.epochs, batch_size=B, lr=args.lr, k=1, progress=False,
                               seed=args.seed, num_threads=args.threads, **kw)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                best[label] = min(best.get(label, math.inf), time.perf_counter() - t0)
                assert len(hist["epoch"]) == args.epochs
                mse[label] = _recon_mse(Xt, rbm.W, rbm.b_vis, rbm.b_hid)
        base = best["scikit-learn BernoulliRBM"]
        for label, t in best.items():
            n_digits = args.n * args.epochs if label.startswith("scikit") else n_seen
            dps = n_digits / t
            ratio = dps / (args.n * args.epochs / base)
            gf = flops / t / 1e9
            ours = label.startswith("ours")
            roof = gf / mm if ours else None
            roof_s = f"{roof:>8.2f}" if ours else f"{'':>8}"
            print(f"{B:>5}  {label:<29} {dps:>10.0f} {ratio:>9.2f} {mse[label]:>10.5f} {gf:>8.1f} {roof_s}")
            results["rows"].append({"batch_size": B, "model": label, "seconds": t, "digits_per_s": dps,
                                    "speed_vs_sklearn": ratio, "recon_mse": mse[label], "gflops": gf,
                                    "roofline_ratio": roof, "matmul_gflops": mm})
        print(f"{'':>5}  (a float32 ({B}, {N}) @ ({N}, {M}) matmul alone: {mm:.1f} GFLOP/s; roofline = our "
              f"GFLOP/s / that, so the bf16 row can exceed 1)")
    print(f"times: the best of {args.rounds} interleaved rounds, wall time of fit() (our per-epoch evaluation "
          "included); x sklearn = digits/s over scikit-learn's at the same threads; recon MSE on held-out "
          "digits, the same function for all.")
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=2).encode())
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
