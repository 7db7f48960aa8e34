"""`gankit viz reconstruct`: test digits x above their reconstructions G(E(x))."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="rows of test digits x and their reconstructions G(E(x)) (objective bigan)",
        description="Draw MNIST test digits (odd rows) above the run's reconstructions G(E(x)) "
        "(even rows), for a run with an encoder.",
    )
    p.add_argument("run", help="run folder (objective bigan or autoencoder)")
    p.add_argument("--out", help="output PNG (default: RUN/reconstruct.png)")
    p.add_argument("--n", type=int, default=10, help="digits per row (default 10)")
    p.add_argument("--rows", type=int, default=2, help="pairs of rows (default 2)")
    p.add_argument("--seed", type=int, default=0, help="which test digits (default 0)")


def run(args: argparse.Namespace) -> int:
    from gankit.encode import encoder_of, split_images
    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.reconstruct import save_reconstructions

    if not (1 <= args.n <= 100 and 1 <= args.rows <= 50):
        raise GankitError("--n must be in 1..100 and --rows in 1..50")
    loaded = load_run(args.run)
    encoder_of(loaded)
    x = split_images(loaded, "test")[0]
    out = Path(args.out) if args.out else Path(args.run) / "reconstruct.png"
    path = save_reconstructions(loaded, x, out, n=args.n, rows=args.rows, seed=args.seed)
    print(f"wrote {path}")
    return 0
