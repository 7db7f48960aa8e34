"""`gankit viz PICTURE`: pictures that explain a GAN, one module per picture.

Each picture lives in the module PICTURES names, with `add_parser(subparsers)` and
`run(args) -> int`, like the verbs of gankit.cli. Adding a picture is one line in PICTURES.
"""

from __future__ import annotations

import argparse
import importlib

PICTURES: dict[str, str] = {
    "figure1": "gankit.commands.viz_figure1",
    "neighbours": "gankit.commands.viz_neighbours",
    "interpolate": "gankit.commands.viz_interpolate",
    "arithmetic": "gankit.commands.viz_arithmetic",
    "theory": "gankit.commands.viz_theory",
    "inpaint": "gankit.commands.viz_inpaint",
    "reconstruct": "gankit.commands.viz_reconstruct",
}
PICTURES["text-interpolate"] = "gankit.commands.viz_text_interpolate"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "viz",
        help="pictures: " + ", ".join(PICTURES),
        description="Pictures that explain a GAN.",
    )
    pictures = p.add_subparsers(dest="picture", metavar="PICTURE")
    pictures.required = True
    for module in PICTURES.values():
        # A module missing from the package is an ImportError here, never a silent gap.
        importlib.import_module(module).add_parser(pictures)


def run(args: argparse.Namespace) -> int:
    return importlib.import_module(PICTURES[args.picture]).run(args)
