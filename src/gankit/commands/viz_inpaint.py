"""`gankit viz inpaint`: masked held-out digits and several completions of each."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.config.schema import MASK_KINDS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inpaint",
        help="completions of masked digits by an inpainting run (objective inpaint)",
        description="One row per held-out image (MNIST's test split): the masked input (hidden "
        "pixels grey), --k completions from different noise, and the original.",
    )
    p.add_argument("run", help="run folder of objective inpaint")
    p.add_argument("--mask", default="top",
                   help=f"which part is hidden: {', '.join(MASK_KINDS)} (default top)")
    p.add_argument("--rows", type=int, default=8, help="images, one per row (default 8)")
    p.add_argument("--k", type=int, default=6, help="completions per image (default 6)")
    p.add_argument("--out", help="output PNG (default: RUN/inpaint-MASK.png)")
    p.add_argument("--seed", type=int, default=0, help="seed of the masks and noise (default 0)")


def run(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.inpaint import save_inpainting

    if args.mask not in MASK_KINDS:
        raise GankitError(f"--mask {args.mask} is not known; choose one of: {', '.join(MASK_KINDS)}")
    if args.rows < 1 or args.k < 1:
        raise GankitError("--rows and --k must be at least 1")
    loaded = load_run(args.run)
    out = Path(args.out) if args.out else Path(args.run) / f"inpaint-{args.mask}.png"
    path = save_inpainting(loaded, out, args.mask, rows=args.rows, k=args.k, seed=args.seed)
    print(f"wrote {args.rows} masked images ({args.mask}) with {args.k} completions each to {path}")
    return 0
