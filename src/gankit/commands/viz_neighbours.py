"""`gankit viz neighbours`: the paper's Figure 2, samples beside their nearest training image."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "neighbours",
        help="Figure 2 of the paper: samples and the nearest training image of each row's last",
        description="Draw rows of samples from a run; the last column (outlined) holds the "
        "training image nearest to the sample beside it, to show G has not copied its data.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--out", help="output PNG (default: RUN/neighbours.png)")
    p.add_argument("--rows", type=int, default=6, help="rows (default 6)")
    p.add_argument(
        "--cols", type=int, default=6, help="columns, the neighbour column included (default 6)"
    )
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.neighbours import save_neighbours

    if args.rows < 1 or args.cols < 2:
        raise GankitError("--rows must be >= 1 and --cols >= 2 (cols counts the neighbour column)")
    loaded = load_run(args.run)
    out = Path(args.out) if args.out else Path(args.run) / "neighbours.png"
    path = save_neighbours(loaded, out, rows=args.rows, cols=args.cols, seed=args.seed)
    print(f"wrote {path}")
    return 0
