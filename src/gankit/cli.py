"""The `gankit` command: a thin layer over the Python API.

    gankit train CONFIG [--set key=value ...] [--run-dir DIR] [--dry-run] [--resume [--force]]
    gankit sample RUN --n 64 --out grid.png [--format png|npy] [--labels 7] [--seed 0]
    gankit info RUN [--json]
    gankit eval RUN|--samples FILE.npy --metrics parzen,fid,... [--json]
    gankit viz figure1|neighbours|interpolate|arithmetic ...
    gankit report RUN [--out FILE]
    gankit theory [--mean 1 --std 1.5] [--json]
    gankit bench speed CONFIG [--set key=value ...] [--json]
    gankit upscale RUN --images DIR|FILE --out DIR
    gankit translate RUN --images DIR|FILE --out DIR [--sketch]

Each verb is one module, `gankit/commands/<verb>.py`, with `add_parser(subparsers)` and
`run(args) -> int`; VERBS below lists them, so adding a verb is one line there. A module that
VERBS names but that cannot be imported is an ImportError when the parser is built.

Errors in the user's input print one line, `gankit: error: ...`, and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

from gankit.errors import GankitError

# Verb -> module, in the order `gankit --help` lists them.
VERBS: dict[str, str] = {
    "train": "gankit.commands.train",
    "sample": "gankit.commands.sample",
    "info": "gankit.commands.info",
    "eval": "gankit.commands.eval",
    "viz": "gankit.commands.viz",
    "report": "gankit.commands.report",
    "theory": "gankit.commands.theory",
    "bench": "gankit.commands.bench",
    "translate": "gankit.commands.translate",
}
VERBS["upscale"] = "gankit.commands.upscale"

# The status of a process that a closed pipe ended (128 + SIGPIPE), as the shell reports it.
EXIT_BROKEN_PIPE = 141


def verb_module(verb: str) -> ModuleType:
    return importlib.import_module(VERBS[verb])


def build_parser() -> argparse.ArgumentParser:
    from gankit import __version__

    parser = argparse.ArgumentParser(prog="gankit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for verb in VERBS:
        verb_module(verb).add_parser(sub)
    return parser


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return verb_module(args.command).run(args)
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # 130 for Ctrl-C, 143 for SIGTERM (training saved first and says so).
        return getattr(exc, "exit_status", 130)


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _run(argv)
        finally:
            # Flush here, so a reader that went away (`gankit info RUN | head`) is noticed
            # now, not as an error printed when the interpreter exits.
            sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:  # Ctrl-C while the parser imports the verbs, or at the end
        return getattr(exc, "exit_status", 130)


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at /dev/null, so what is still buffered goes nowhere quietly."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (e.g. captured by a test): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    raise SystemExit(main())
