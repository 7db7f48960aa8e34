"""The evaluation and picture verbs of the `gankit` command (eval, viz, report, bench).

Each verb lives in `gankit/commands/<verb>.py` with `add_parser(subparsers)` and `run(args)`;
each `gankit viz` picture in `gankit/commands/viz_<name>.py` with the same two functions.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

VERBS = ("eval", "viz", "report", "bench")
VIZ = ("figure1", "neighbours", "interpolate", "arithmetic")

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _module(name: str):  # noqa: ANN202
    try:
        return importlib.import_module(f"gankit.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"gankit.commands.{name}":
            return None  # not built yet
        raise


def add_parsers(sub: argparse._SubParsersAction) -> None:
    for verb in VERBS:
        if verb == "viz":
            _add_viz(sub)
            continue
        module = _module(verb)
        if module is not None:
            module.add_parser(sub)
            COMMANDS[verb] = module.run


def _add_viz(sub: argparse._SubParsersAction) -> None:
    modules = {name: _module(f"viz_{name}") for name in VIZ}
    modules = {k: m for k, m in modules.items() if m is not None}
    if not modules:
        return
    p = sub.add_parser("viz", help="pictures: " + ", ".join(modules),
                       description="Pictures that explain a GAN.")
    viz_sub = p.add_subparsers(dest="picture", metavar="PICTURE")
    viz_sub.required = True
    for module in modules.values():
        module.add_parser(viz_sub)
    COMMANDS["viz"] = lambda args: modules[args.picture].run(args)
