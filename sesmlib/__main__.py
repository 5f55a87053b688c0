"""Command line: ``python -m sesmlib COMMAND ...`` (also installed as ``sesmlib``).

    python -m sesmlib data [--root DIR] [--no-download] [--mirror URL]   where the MNIST files are; verify; fetch
    python -m sesmlib bench sesm|rbm|probe [options]        speed benchmarks; the probe against scikit-learn
    python -m sesmlib reproduce figure1 --out DIR [--quick] the paper's Figure 1
    python -m sesmlib course build [--check]                notebooks/ from solutions/
    python -m sesmlib course execute [NAMES]                refresh the checked outputs of solutions/
    python -m sesmlib course setup|update                   the students' working copies in work/
    python -m sesmlib course progress|grade ...             exercise verdicts of notebooks / submissions

Each command lives in the module that owns it; this file only dispatches.
"""
from __future__ import annotations

import importlib
import sys

# command -> (module, function taking argv) ; sub-commands as "cmd sub".
_COMMANDS = {
    "data": ("sesmlib.data", "main"),
    "bench sesm": ("sesmlib.bench.sesm", "main"),
    "bench rbm": ("sesmlib.bench.rbm", "main"),
    "bench probe": ("sesmlib.bench.probe", "main"),
    "reproduce figure1": ("sesmlib.reproduce", "main"),
    "course build": ("sesmlib.course", "main"),
    "course execute": ("sesmlib.course", "main"),
    "course setup": ("sesmlib.course", "main"),
    "course update": ("sesmlib.course", "main"),
    "course progress": ("sesmlib.course", "main"),
    "course grade": ("sesmlib.course", "main"),
}


def _usage() -> str:
    lines = ["usage: python -m sesmlib COMMAND [options]", "", "commands:"]
    lines += [f"  {name}" for name in _COMMANDS]
    lines += ["", "Run a command with --help for its options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    for n_words in (2, 1):
        key = " ".join(argv[:n_words])
        if key in _COMMANDS:
            module, func = _COMMANDS[key]
            if key.startswith("course "):  # the course tool parses its own sub-command
                return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
            return int(getattr(importlib.import_module(module), func)(argv[n_words:]) or 0)
    print(f"sesmlib: unknown command {' '.join(argv[:2])!r}\n", file=sys.stderr)
    print(_usage(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
