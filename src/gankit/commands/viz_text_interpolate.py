"""`gankit viz text-interpolate`: images along the line between two sentences' embeddings."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "text-interpolate",
        help="text-to-image runs: walk from one sentence to another",
        description="Decode G(z, t) while the sentence embedding t moves in a straight line from "
        "--from's to --to's; each row keeps one noise vector (objective text2image runs).",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--from", dest="start", required=True, help="first sentence")
    p.add_argument("--to", dest="end", required=True, help="last sentence")
    p.add_argument("--rows", type=int, default=4, help="noise vectors, one row each (default 4)")
    p.add_argument("--steps", type=int, default=8, help="images per row, ends included (8)")
    p.add_argument("--out", help="output PNG (default: RUN/text-interpolation.png)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.text import save_text_interpolation

    if args.rows < 1 or args.steps < 2:
        raise GankitError(f"--rows {args.rows} must be >= 1 and --steps {args.steps} >= 2")
    out = Path(args.out) if args.out else Path(args.run) / "text-interpolation.png"
    if out.suffix.lower() != ".png":
        raise GankitError(f"--out {out}: name a .png file")
    loaded = load_run(args.run)
    path = save_text_interpolation(loaded, args.start, args.end, out, args.rows, args.steps,
                                   args.seed)
    print(f"wrote {args.rows} rows from {args.start!r} to {args.end!r} to {path}")
    return 0
