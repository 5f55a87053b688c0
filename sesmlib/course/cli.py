"""``python -m sesmlib.course COMMAND``: the command line of the course tool."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._files import REPO, WORK_DIRNAME, AuthoringError, CourseError, show
from ._profile import PROFILES

_USAGE = """\
students:
  setup                         copy the course notebooks missing from work/ (make lab runs it)
  update                        bring new and updated notebooks into work/, keeping your answers (make update)
  progress [NOTEBOOK ...]       run your notebooks (default: work/) and list each exercise's verdict (make progress)
instructors:
  grade DIR --out grades.csv    the same over a folder of submitted notebooks, as a CSV (make grade)
authors:
  build [NAMES] [--check]       notebooks/ from solutions/, and tidy solutions/ (make notebooks)
  execute [NAMES]               run solutions, store the outputs of # NBVAL_CHECK_OUTPUT cells (make execute)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sesmlib.course", description="The course tool.",
                                     epilog=_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write notebooks/ from solutions/ (and tidy solutions/)")
    b.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    b.add_argument("--check", action="store_true", help="change nothing; exit 1 listing what is stale and the fix")
    b.add_argument("--force", action="store_true",
                   help=f"also replace files in notebooks/ that the tool did not write (moved to {WORK_DIRNAME}/backups/ first)")
    e = sub.add_parser("execute", help="run solutions and store the outputs of # NBVAL_CHECK_OUTPUT cells")
    e.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    e.add_argument("--profile", default="quick", choices=PROFILES, help="notebook profile (default quick)")
    e.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    s = sub.add_parser("setup", help=f"copy the course notebooks missing from {WORK_DIRNAME}/ (never overwrites)")
    u = sub.add_parser("update", help=f"bring new and updated notebooks into {WORK_DIRNAME}/, keeping your answers")
    p = sub.add_parser("progress", help="run student notebooks headless and list each exercise's verdict")
    p.add_argument("notebooks", nargs="*", type=Path, help=f"notebooks to run (default: your copies in {WORK_DIRNAME}/)")
    p.add_argument("--json", action="store_true", help="print JSON (rows and summary) instead of a table")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    g.add_argument("folder", type=Path, help="folder of submitted notebooks (searched recursively)")
    g.add_argument("--out", type=Path, required=True, help="the CSV to write (one row per submission and exercise)")
    for q in (p, g):
        q.add_argument("--time-limit", type=float, default=300, help="seconds per notebook (default 300)")
        q.add_argument("--jobs", type=int, default=None, help="notebooks run at once (default: CPU cores, at most 4)")
        q.add_argument("--profile", default="quick", choices=PROFILES, help="notebook profile (default quick)")
    for q in (b, e, s, u, p, g):
        q.add_argument("--root", type=Path, default=REPO, help="repository root (default: this checkout)")
    for q in (b, s, u, p):
        q.add_argument("--work", type=Path, default=None, help=f"the students' folder (default: ROOT/{WORK_DIRNAME})")
    return parser


def _check(args) -> int:
    from .generator import fix_command, plan

    steps = plan(args.root / "solutions", args.root / "notebooks")
    if not steps:
        print("notebooks/ is up to date with solutions/")
        return 0
    print("notebooks/ is not what solutions/ gives:", file=sys.stderr)
    for step in steps:
        print(f"  - {step.text}", file=sys.stderr)
    print(f"Fix: {fix_command(steps, args.root)}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """``python -m sesmlib.course build|execute|setup|update|progress|grade ...``; returns the exit status."""
    args = _parser().parse_args(argv)
    work = getattr(args, "work", None) or args.root / WORK_DIRNAME
    try:
        if args.command == "build" and args.check:
            return _check(args)
        if args.command == "build":
            from .generator import RefusedError, build

            try:
                changed = build(args.root / "solutions", args.root / "notebooks", args.names,
                                force=args.force, work=work)
            except RefusedError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for path in changed:
                print(f"wrote {show(path, args.root)}")
            if not changed:
                print("notebooks/ already up to date")
            return 0
        if args.command == "execute":
            from .generator import build
            from .running import execute

            failures = execute(args.root / "solutions", args.names, profile_name=args.profile, timeout=args.timeout)
            if not failures:
                build(args.root / "solutions", args.root / "notebooks", args.names, work=work)
            return 1 if failures else 0
        if args.command in ("setup", "update"):
            from . import working

            report = getattr(working, args.command)(args.root / "notebooks", work)
            print("\n".join(report.lines))
            return 0
        from . import grading as prog

        t0 = time.perf_counter()
        if args.command == "progress":
            rows = prog.progress(args.notebooks, root=args.root, work=work, time_limit=args.time_limit,
                                 jobs=args.jobs, profile_name=args.profile)
            print(prog.to_json(rows, time.perf_counter() - t0) if args.json else prog.table(rows))
            return 0
        rows = prog.grade(args.folder, args.out, root=args.root, time_limit=args.time_limit, jobs=args.jobs,
                          profile_name=args.profile)
        s = prog.summary(rows)
        print(f"wrote {args.out}: {s['exercises']} rows, {s[prog.PASSED]} passed, "
              f"in {time.perf_counter() - t0:.0f} s")
        return 0
    except (AuthoringError, CourseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
