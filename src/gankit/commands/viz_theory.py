"""`gankit viz theory`: p_data, p_g, D* and C(G) of the paper's section 4 in one picture."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory",
        help="Proposition 1 and Theorem 1 as a picture: D* and C(G) = -log 4 + 2 JSD",
        description="Draw p_data = N(0, 1), p_g = N(MEAN, STD^2) and the optimal discriminator "
        "D*, and C(G) against p_g's mean beside -log 4 + 2 JSD (the numbers gankit theory "
        "checks).",
    )
    p.add_argument("--mean", type=float, default=1.0, help="mean of p_g (default 1)")
    p.add_argument("--std", type=float, default=1.5, help="standard deviation of p_g (1.5)")
    p.add_argument("--points", type=int,
                   help="grid points (default 20,001, or more for a narrow p_g)")
    p.add_argument("--out", default="theory.png", help="output PNG (default: theory.png)")


def run(args: argparse.Namespace) -> int:
    from gankit.viz.theory import draw_theory

    path = draw_theory(args.out, mean=args.mean, std=args.std, points=args.points)
    print(f"wrote {path}")
    return 0
