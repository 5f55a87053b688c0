"""``python -m sesmlib bench sesm``: how fast the SESM engine trains, and (``--quality``)
how good the paper's set-up gets.

Speed, on each device (the cpu, and cuda when present), with 200 code units on 784 pixels
and the default code inference (2 steps, ``--steps`` to change):

- on-line training (batch 1, the paper's algorithm): digits per second of the library's
  kernel, and of a plain per-sample Python loop (``infer_code`` then ``step``, the
  readable methods) timed in the same process; the ratio of the two;
- minibatch training (batch 128): digits per second, achieved GFLOP/s, and the roofline
  ratio: achieved GFLOP/s over the GFLOP/s of the same sequence of plain torch matmuls
  (same shapes, same count, nothing else) timed in the same process, both with contiguous
  operands and with the kernel's own transposed/strided layouts; the ratio uses the faster
  of the two (the timings alternate, best of three each). One training step
  on a batch of B costs (8 + 4 T) B N M flops for T inference steps;
- the 5-model alpha_s sweep: the stacked kernel over K = 5 models at batch 128 (digits per
  second, GFLOP/s, roofline ratio); then ``fit_sweep`` itself, on-line and at batch 128,
  timed against the same 5 models trained by 5 separate ``SESM.fit`` calls in the same
  run, alternately, best of two each ("sweep vs sequential": how many times faster the
  sweep is), with its digits per second (each digit trains all 5 models), the time of a
  20000-digit epoch at that rate and, on-line, the estimated time of the paper's 5-epoch
  sweep. On the cpu the on-line sweep trains each model with its own kernel, in worker
  processes when there are 2 or more cores (see ``sesmlib._engine.sweep_workers``); the
  line says how. The paper's sweep itself, timed on MNIST:
  ``python -m sesmlib bench sesm --no-speed --quality --batch-size 1 --epochs 5``.

Quality (``--quality``, needs MNIST): the paper's set-up (first 20000 training digits,
200 units, g = 7, alpha_s in 1, 0.5, 0.2, 0.1, 0.05) trained as one sweep; on the 10000
test digits: the reconstruction RMSE from the unquantised feed-forward code
``l(W^T y + b_enc) W^T + b_dec``, over all test pixels, divided by the standard deviation
of the test pixels; the same for PCA with 200 components (torch.linalg.svd, computed here)
and the ratio of the two; the mean fraction of code units with l(z) > 0.5; the wall time.
``--filters PATH`` writes the alpha_s = 0.2 model's 200 filters as one PNG.

The machine load (``os.getloadavg``) and thread count are printed beside the figures: on
a shared machine they explain most of the spread.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import torch

from .._device import device as _pick_device

N, M = 784, 200


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def _timeit(fn, dev, min_time: float = 0.5, max_reps: int = 1000) -> float:
    """Seconds per call of fn (after one warm-up call), repeated for at least min_time."""
    fn()
    _sync(dev)
    reps, t0 = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        _sync(dev)
        dt = time.perf_counter() - t0
        if dt >= min_time or reps >= max_reps:
            return dt / reps


def _data(n: int, dev: torch.device, seed: int = 0) -> torch.Tensor:
    """Digit-like data for timing: sparse bright strokes (speed does not depend on content)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, N, generator=g) < 0.19).float().mul_(torch.rand(n, N, generator=g)).to(dev)


def _kernel(K: int, dev: torch.device, momentum: float, X: torch.Tensor, steps: int):
    from .._engine import SESMKernel
    from ..sesm import DEFAULT_INFER_STEP_SIZE, PAPER_ALPHAS, SESM

    m = SESM(N, M, seed=0, device=dev)
    W = m.W.view(N, 1, M).repeat(1, K, 1).contiguous()  # (N, K, M)
    b_enc = torch.zeros(K, M, device=dev)
    b_dec = torch.zeros(K, 1, N, device=dev)
    alphas = list(PAPER_ALPHAS[:K]) if K <= len(PAPER_ALPHAS) else [0.2] * K
    return SESMKernel(W, b_enc, b_dec, alphas, gain=7.0, alpha_e=1.0, alpha_r=4e-4, steps=steps,
                   step_size=DEFAULT_INFER_STEP_SIZE, mu=X.mean(0), momentum=momentum)


def _online_rate(K: int, dev: torch.device, n: int, steps: int) -> float:
    """Digits per second of on-line training (batch 1) through the same path as fit()."""
    from .._engine import CudaGraphOnline, cpu_threads

    X = _data(n, dev, seed=1)
    k = _kernel(K, dev, 0.0, X, steps)
    with torch.no_grad(), cpu_threads(1, dev):
        if dev.type == "cuda":
            runner = CudaGraphOnline(k)
            run = lambda: runner.run(X, 1e-3)  # noqa: E731
        else:
            def run():
                for i in range(n):
                    k.train_batch(X[i : i + 1], 1e-3)
        return n / _timeit(run, dev, min_time=1.0, max_reps=5)


def _naive_online_rate(dev: torch.device, n: int, steps: int) -> float:
    """Digits per second of the plain per-sample loop: infer_code then step (readable methods)."""
    from .._engine import cpu_threads
    from ..sesm import DEFAULT_INFER_STEP_SIZE, SESM

    X = _data(n, dev, seed=2)
    m = SESM(N, M, seed=0, device=dev)

    def run():
        for i in range(n):
            Y = X[i : i + 1]
            m.step(Y, m.infer_code(Y, steps=steps, step_size=DEFAULT_INFER_STEP_SIZE), 1e-3)

    with cpu_threads(1, dev):  # the same thread count as the kernel's on-line path
        return n / _timeit(run, dev, min_time=1.0, max_reps=3)


def _minibatch(K: int, B: int, dev: torch.device, steps: int) -> dict:
    """Digits/s, GFLOP/s and the roofline ratio for minibatch training of K models."""
    X = _data(8 * B, dev, seed=3)
    k = _kernel(K, dev, 0.9, X, steps)
    batches = [X[i : i + B] for i in range(0, X.shape[0], B)]

    def train():
        for Y in batches:
            k.train_batch(Y, 1e-3)

    rounds = []  # alternate the two timings, best of 3 each: fairer on a shared machine
    flops = (8 + 4 * steps) * B * N * K * M * len(batches)
    # the same products, plain: encoder (B,N)@(N,KM); per step and once more the decoder
    # (K,B,M)@(K,M,N) and per step (K,B,N)@(K,N,M); the W gradient (N,B)@(B,KM) and (K,N,B)@(K,B,M)
    a_enc, w2 = torch.rand(B, N, device=dev), torch.rand(N, K * M, device=dev)
    s, wt = torch.rand(K, B, M, device=dev), torch.rand(K, M, N, device=dev)
    d, w = torch.rand(K, B, N, device=dev), torch.rand(K, N, M, device=dev)
    yt, r = torch.rand(N, B, device=dev), torch.rand(B, K * M, device=dev)
    dt_, sk = torch.rand(K, N, B, device=dev), torch.rand(K, B, M, device=dev)
    o1, o2, o3 = torch.empty(B, K * M, device=dev), torch.empty(K, B, N, device=dev), torch.empty(K, B, M, device=dev)
    o4, o5 = torch.empty(N, K * M, device=dev), torch.empty(K, N, M, device=dev)

    def plain():
        for _ in batches:
            torch.mm(a_enc, w2, out=o1)
            for _ in range(steps):
                torch.bmm(s, wt, out=o2)
                torch.bmm(d, w, out=o3)
            torch.bmm(s, wt, out=o2)
            torch.mm(yt, r, out=o4)
            torch.bmm(dt_, sk, out=o5)

    # the same products with the kernel's own memory layouts (transposed/strided views)
    Wl = torch.rand(N, K, M, device=dev)
    sl, Dl = torch.rand(B, K, M, device=dev), torch.rand(K, B, N, device=dev)
    W2l, Wkl, Wktl = Wl.view(N, K * M), Wl.permute(1, 0, 2), Wl.permute(1, 2, 0)
    o5l = torch.empty(N, K, M, device=dev)

    def same_layout():
        for _ in batches:
            torch.mm(a_enc, W2l, out=o1)
            for _ in range(steps):
                torch.bmm(sl.permute(1, 0, 2), Wktl, out=o2)
                torch.bmm(Dl, Wkl, out=o3)
            torch.bmm(sl.permute(1, 0, 2), Wktl, out=o2)
            o4.addmm_(a_enc.T, r)
            o5l.permute(1, 0, 2).baddbmm_(Dl.transpose(1, 2), sl.permute(1, 0, 2))

    with torch.no_grad():
        for _ in range(3):
            rounds.append([_timeit(f, dev, min_time=0.5) for f in (train, plain, same_layout)])
    t_train, t_plain, t_same = (min(r[i] for r in rounds) for i in range(3))
    n = B * len(batches)
    return {"digits_s": n / t_train, "gflops": flops / t_train / 1e9, "plain_gflops": flops / t_plain / 1e9,
            "same_gflops": flops / t_same / 1e9, "roofline": min(t_plain, t_same) / t_train}


def _speed(dev: torch.device, quick: bool, steps: int) -> list[tuple[str, str]]:
    rows = []
    n_on = 300 if quick else 2000
    n_naive = 100 if quick else 300
    on = _online_rate(1, dev, n_on, steps)
    naive = _naive_online_rate(dev, n_naive, steps)
    rows.append(("on-line (batch 1), 1 model", f"{on:,.0f} digits/s; one 20000-digit epoch {20000 / on:.1f} s"))
    rows.append(("  plain per-sample loop (infer_code + step)", f"{naive:,.0f} digits/s; kernel / plain = {on / naive:.1f}x"))
    mb = _minibatch(1, 128, dev, steps)
    rows.append(("minibatch (batch 128), 1 model", f"{mb['digits_s']:,.0f} digits/s, {mb['gflops']:.1f} GFLOP/s"))
    rows.append(("  plain matmuls, same shapes", f"{mb['plain_gflops']:.1f} GFLOP/s contiguous, {mb['same_gflops']:.1f} GFLOP/s "
                 f"in the kernel's layouts; roofline ratio {mb['roofline']:.2f} (against the faster)"))
    sw = _minibatch(5, 128, dev, steps)
    rows.append(("5-model sweep, minibatch 128", f"{sw['digits_s']:,.0f} digits/s ({5 * sw['digits_s']:,.0f} model-digits/s), "
                 f"{sw['gflops']:.1f} GFLOP/s, roofline {sw['roofline']:.2f}; 20000-digit epoch {20000 / sw['digits_s']:.1f} s"))
    if dev.type == "cuda":  # the sweep runs the stacked 5-model kernel there
        on5 = _online_rate(5, dev, max(n_on // 2, 100), steps)
        rows.append(("5-model sweep, on-line (batch 1)", f"{on5:,.0f} digits/s; 20000-digit epoch {20000 / on5:.1f} s"))
    for batch_size, label in ((1, "on-line"), (128, "minibatch 128")):
        r = _sweep_vs_sequential(dev, 1000 if quick else 4000, batch_size, steps, rounds=1 if quick else 2)
        rate = r["n"] / r["sweep"]
        rows.append((f"5-model sweep, {label} (fit_sweep)", f"{rate:,.0f} digits/s; 20000-digit epoch {20000 / rate:.1f} s"
                     + (f"; the paper's 5-epoch sweep ~{5 * 20000 / rate:.0f} s" if batch_size == 1 else "")
                     + f" ({r['how']})"))
        rows.append((f"  sweep vs sequential, {label}", f"5 separate fits {r['sequential']:.2f} s, fit_sweep "
                     f"{r['sweep']:.2f} s: the sweep is {r['sequential'] / r['sweep']:.2f}x faster"))
    return rows


def _sweep_vs_sequential(dev: torch.device, n: int, batch_size: int, steps: int, rounds: int) -> dict:
    """Seconds of one epoch on n digits: fit_sweep of the paper's 5 alpha_s, and the same 5
    models trained by 5 separate SESM.fit calls, timed alternately (best of ``rounds``)."""
    from .. import _engine
    from ..sesm import PAPER_ALPHAS, SESM, fit_sweep

    X = _data(n, dev, seed=4)
    kw = dict(epochs=1, batch_size=batch_size, seed=0, progress=False, infer_steps=steps)

    def sweep():
        fit_sweep(X, PAPER_ALPHAS, n_code=M, device=dev, **kw)

    def sequential():
        for a in PAPER_ALPHAS:
            SESM(N, M, alpha_s=a, seed=0, device=dev).fit(X, **kw)

    times: dict = {"sweep": [], "sequential": []}
    for _ in range(rounds):
        for name, fn in (("sweep", sweep), ("sequential", sequential)):
            t0 = time.perf_counter()
            fn()
            _sync(dev)
            times[name].append(time.perf_counter() - t0)
    workers = _engine.sweep_workers(len(PAPER_ALPHAS), X, batch_size, N, M)
    how = {0: "one stacked kernel", 1: "one model after the other"}.get(workers, f"{workers} worker processes")
    return {"n": n, "sweep": min(times["sweep"]), "sequential": min(times["sequential"]), "how": how}


def _quality(args, dev: torch.device) -> int:
    from ..data import load_mnist
    from ..plotting import save_image_grid
    from ..sesm import PAPER_ALPHAS, fit_sweep

    X, _ = load_mnist("train", 20000)
    Xt, _ = load_mnist("test")
    X, Xt = X.to(dev), Xt.to(dev)
    sd = float(Xt.std())

    def rmse(rec):
        return float((rec - Xt).pow(2).mean().sqrt()) / sd

    mu = X.mean(0)
    _, _, Vh = torch.linalg.svd(X - mu, full_matrices=False)
    V = Vh[:M].T  # (N, 200) principal directions
    pca = rmse((Xt - mu) @ V @ V.T + mu)
    print(f"\nquality on the paper's set-up ({dev}; 20000 train digits, 10000 test digits, 200 units, g = 7)")
    print(f"  PCA-200: RMSE / std(test pixels) = {pca:.4f}")
    print(f"  training the 5-model sweep: batch {args.batch_size}, {args.epochs} epochs ...", flush=True)
    t0 = time.perf_counter()
    models, hists = fit_sweep(X, PAPER_ALPHAS, n_code=M, seed=args.seed, device=dev, epochs=args.epochs,
                              batch_size=args.batch_size, progress=not args.no_progress)
    _sync(dev)
    wall = time.perf_counter() - t0
    print(f"  sweep wall time {wall:.1f} s ({wall / 60:.2f} min); {_load()}")
    print(f"  {'alpha_s':>8} {'RMSE/std':>9} {'SESM/PCA':>9} {'active':>7} {'loss':>8}")
    ok = True
    for a, m, h in zip(PAPER_ALPHAS, models, hists):
        with torch.no_grad():
            c = m.code(Xt)
            r = rmse(c @ m.W.T + m.b_dec)
        active = float((c > 0.5).float().mean())
        print(f"  {a:8.2f} {r:9.4f} {r / pca:9.2f} {active:7.3f} {h['loss'][-1]:8.2f}")
        if a == 0.2:
            ok = r <= 0.35
            if args.filters:
                path = save_image_grid(args.filters, m.W, filters=True, ncols=20)
                print(f"  filters (alpha_s = 0.2) written to {path}")
    print(f"  target RMSE/std <= 0.35 at alpha_s = 0.2: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def _load() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load average n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sesmlib bench sesm", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="all", choices=["all", "auto", "cpu", "cuda"],
                   help="all: the cpu, and cuda when present (default)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a rough figure in seconds)")
    p.add_argument("--threads", type=int, default=None, help="torch cpu threads for the minibatch runs")
    p.add_argument("--steps", type=int, default=None, help="code inference steps (default: the library's)")
    p.add_argument("--quality", action="store_true", help="also train the paper's sweep on MNIST and measure it")
    p.add_argument("--no-speed", action="store_true", help="skip the speed figures")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the quality sweep")
    p.add_argument("--batch-size", type=int, default=128, help="batch size of the quality sweep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--filters", default=None, help="write the alpha_s = 0.2 filters to this PNG (with --quality)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    from ..sesm import DEFAULT_INFER_STEPS

    steps = DEFAULT_INFER_STEPS if args.steps is None else args.steps
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "all":
        devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    else:
        devices = [_pick_device(args.device)]
    print(f"SESM benchmark: N = {N}, M = {M}, {steps} inference steps; torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}, {_load()}")
    if not args.no_speed:
        for dev in devices:
            name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
            print(f"\n[{dev.type}: {name}]", flush=True)
            with torch.no_grad():
                for label, value in _speed(dev, args.quick, steps):
                    print(f"  {label:<44} {value}", flush=True)
            print(f"  ({_load()})")
    if args.quality:
        return _quality(args, devices[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
