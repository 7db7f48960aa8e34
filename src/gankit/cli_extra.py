"""The evaluation and picture verbs of the `gankit` command (eval, viz, report, bench)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Added as the modules behind them land."""
