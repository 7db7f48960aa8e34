"""`gankit viz theory`: p_data, p_g, D* and C(G) of the paper's section 4 in one picture."""

from __future__ import annotations

import argparse

from gankit.commands.theory import add_gaussian_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory",
        help="Proposition 1 and Theorem 1 as a picture: D* and C(G) = -log 4 + 2 JSD",
        description="Draw p_data = N(0, 1), p_g = N(MEAN, STD^2) and the optimal discriminator "
        "D*, and C(G) against p_g's mean beside -log 4 + 2 JSD (the numbers gankit theory "
        "checks).",
    )
    add_gaussian_arguments(p)
    p.add_argument("--out", default="theory.png", help="output PNG (default: theory.png)")


def run(args: argparse.Namespace) -> int:
    from gankit.viz.theory import draw_theory

    path = draw_theory(args.out, mean=args.mean, std=args.std, points=args.points)
    print(f"wrote {path}")
    return 0
