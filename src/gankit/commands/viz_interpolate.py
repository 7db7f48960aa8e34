"""`gankit viz interpolate`: images along straight or spherical paths through the latent space."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "interpolate",
        help="walk between noise vectors: a PNG strip per path, or a GIF",
        description="Decode G(z) along paths through --points random noise vectors (linear, or "
        "spherical with --slerp); one row per path in a PNG, or an animated GIF with --gif.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=8, help="number of paths (default 8)")
    p.add_argument("--points", type=int, default=2, help="noise vectors per path (default 2)")
    p.add_argument("--steps", type=int, default=10, help="images per segment, ends included (10)")
    p.add_argument("--slerp", action="store_true", help="spherical instead of linear paths")
    p.add_argument("--gif", action="store_true", help="write an animated GIF instead of a PNG")
    p.add_argument(
        "--label",
        type=int,
        help="conditional runs: one label for every path "
        "(default: path i gets label i mod classes)",
    )
    p.add_argument("--out", help="output file (default: RUN/interpolation.png or .gif)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.latent import check_image_run, save_interpolation

    if args.n < 1 or args.points < 2 or args.steps < 2:
        raise GankitError("--n must be >= 1, --points >= 2 and --steps >= 2")
    loaded = load_run(args.run)
    check_image_run(loaded)
    suffix = ".gif" if args.gif else ".png"
    out = Path(args.out) if args.out else Path(args.run) / f"interpolation{suffix}"
    path = save_interpolation(
        loaded,
        out,
        n=args.n,
        points=args.points,
        steps=args.steps,
        slerp=args.slerp,
        gif=args.gif,
        seed=args.seed,
        label=args.label,
    )
    kind = "spherical" if args.slerp else "linear"
    print(f"wrote {args.n} {kind} interpolation paths to {path}")
    return 0
