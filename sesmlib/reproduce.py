"""The command line of the paper's experiments::

    python -m sesmlib reproduce figure1 --out DIR [--device D] [--quick] [--search] [--speed]
                                       [--workers N] [--report PATH] [--save-reference]

It checks everything the user typed before any computation (the output folder and the
report's folder can be written, the device exists), then runs
:func:`sesmlib.experiments.figure1`, writes ``figure1.json`` and the panels
(:func:`sesmlib.experiments.write_outputs`), optionally the SESM-against-RBM training
speed (:func:`sesmlib.speed.speed_comparison`, ``speed.json``) and the report
(:func:`sesmlib.report.write_report`), optionally the reference copy shipped with sesmlib
(:func:`sesmlib.store.save_reference`, for the maintainers), and prints a summary table and the wall and CPU
time of the run. A bad argument is one
line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

__all__ = ["main", "summary"]


class _UsageError(Exception):
    """An argument the command cannot use; its message is printed as is."""


def _writable_folder(path: Path, what: str) -> Path:
    """Create ``path`` (a folder) if needed and check that a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{secrets.token_hex(6)}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as exc:
        raise _UsageError(f"{what} {path} cannot be written ({exc.strerror or exc}); choose another folder") from None
    return path


def _device(name: str):
    from ._device import device

    try:
        return device(name)
    except (RuntimeError, ValueError, TypeError) as exc:
        why = str(exc).removeprefix("device: ").replace("device='auto' or 'cpu'", "--device auto or cpu")
        raise _UsageError(f"--device {name}: {why}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sesmlib reproduce figure1",
                                description="Reproduce Figure 1 of Ranzato, Boureau & LeCun (NIPS 2007).")
    p.add_argument("--out", required=True, help="folder for figure1.json and the panels (PNG, SVG)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    p.add_argument("--quick", action="store_true", help="small profile (2000 digits, 1 epoch) for tests")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-cache", action="store_true", help="recompute even when a stored result exists")
    p.add_argument("--search", action="store_true",
                   help="also run the classifier-protocol search on raw pixels and PCA (for the report)")
    p.add_argument("--speed", action="store_true",
                   help="also measure SESM against the RBM: training time, time to the same RMSE and probe error")
    p.add_argument("--workers", type=int, default=None,
                   help="processes that run the tasks (default: SESMLIB_WORKERS, else one per core); "
                        "the numbers do not depend on it")
    p.add_argument("--report", default=None, help="also write the markdown report to this path")
    p.add_argument("--save-reference", action="store_true",
                   help="maintainers: also write the result (and the speed comparison) as the reference run "
                        "shipped with sesmlib (sesmlib/reference/, what notebook 06 shows until a user computes "
                        "their own); full profile only")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m sesmlib reproduce figure1 --out DIR [--device D] [--quick]``; returns
    the exit status (2 for an argument it cannot use, with one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.workers is not None and args.workers < 1:
            raise _UsageError(f"--workers must be at least 1, got {args.workers}")
        if args.save_reference and args.quick:
            raise _UsageError("--save-reference keeps the full profile's run only; drop --quick")
        dev = _device(args.device)
        out = _writable_folder(Path(args.out), "--out")
        if args.report:
            _writable_folder(Path(args.report).resolve().parent, "the folder of --report")
    except _UsageError as exc:
        print(f"sesmlib reproduce figure1: {exc}", file=sys.stderr)
        return 2
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # files only: no display needed
    from .experiments import figure1, write_outputs

    t0, c0 = time.perf_counter(), _cpu_seconds()
    result = figure1(device=dev, quick=args.quick, progress=not args.no_progress, use_cache=not args.no_cache,
                     search=args.search, workers=args.workers)
    written = write_outputs(result, out)
    speed = None
    if args.speed:
        import json

        from ._utils import atomic_write_bytes
        from .speed import speed_comparison

        speed = speed_comparison(quick=args.quick, progress=not args.no_progress, use_cache=not args.no_cache)
        written.append(atomic_write_bytes(out / "speed.json", json.dumps(speed, indent=1, sort_keys=True).encode()))
    if args.report:
        from .report import write_report

        write_report(result, args.report, speed=speed)
    if args.save_reference:
        from . import store
        from .experiments import figure1_config
        from .speed import speed_key

        refs = [store.save_reference("figure1", figure1_config(), result.to_dict())]
        if speed:
            refs.append(store.save_reference("speed", speed_key(), speed))
        print(f"reference run written: {', '.join(str(p) for p in refs)} (commit it with docs/reproduction.md)")
    print(summary(result))
    if speed:
        print(f"SESM against the RBM: {speed['verdict']}")
    print(f"wrote {', '.join(p.name for p in written)} in {out} "
          f"({'stored result' if result.cached else 'computed'}; {time.perf_counter() - t0:.1f} s wall, "
          f"{_cpu_seconds() - c0:.1f} s CPU of this process and its workers)")
    return 0


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished child processes (the workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def summary(result) -> str:
    """A plain-text table of a :class:`sesmlib.results.Figure1Result`: bits per pixel and
    RMSE at 5 and 256 levels (mean over the seeds), test error per protocol and size
    (mean +- spread over draws +- spread over seeds).

    Examples
    --------
    >>> from sesmlib.results import Figure1Result, example_data
    >>> print(summary(Figure1Result.from_dict(example_data())).splitlines()[-2])
    raw pixels                                             paper  10: 30.00+-0.00+-0.00
    """
    lines = [f"{'method':<18} {'bpp@5':>7} {'RMSE@5':>7} {'bpp@256':>8} {'RMSE@256':>9}  protocol test error % per size "
             "(+- draws +- seeds)"]
    for m in result.methods:
        cols = (f"{result.bits(m, 5):7.3f} {result.rmse(m, 5):7.3f} {result.bits(m, 256):8.3f} "
                f"{result.rmse(m, 256):9.3f}") if result.has_code(m) else " " * 34
        for k, p in enumerate(result.protocols):
            errs = "  ".join(f"{s}: {e.mean:.2f}+-{e.draw_std:.2f}+-{e.seed_std:.2f}"
                             for s in result.sizes for e in [result.error_summary(m, s, protocol=p)])
            lines.append(f"{m.label if k == 0 else '':<18} {cols if k == 0 else ' ' * 34}  {p:<6} {errs}")
    return "\n".join(lines)
