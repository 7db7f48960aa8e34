"""`gankit viz figure1`: the paper's Figure 1 drawn from a live 1-D GAN run."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figure1", help="Figure 1 of the paper, live: p_data, p_g, D and x = G(z)",
                       description="Train a 1-D GAN on a Gaussian and draw the paper's Figure 1 "
                       "over time (PNG frames and an animated GIF).")
    p.add_argument("--out", default="figure1", help="output folder (default: figure1/)")
    p.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    p.add_argument("--frames", type=int, default=9, help="number of frames (default 9)")
    p.add_argument("--k", type=int, default=3, help="D steps per G step (default 3)")
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError
    from gankit.viz.figure1 import train_figure1

    if args.steps < 1 or args.frames < 1 or args.k < 1:
        raise GankitError("--steps, --frames and --k must be positive")
    paths = train_figure1(Path(args.out), steps=args.steps, seed=args.seed, frames=args.frames, k=args.k)
    print(f"wrote {len(paths) - 1} frames and {paths[-1]}")
    return 0
