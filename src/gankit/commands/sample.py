"""`gankit sample`: draw samples from a run's generator as a PNG grid (or plot) or a .npy array."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained run",
        description="Draw samples from a run's generator (works on CPU for any checkpoint).",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="output file (.png grid or .npy array)")
    p.add_argument("--format", choices=["png", "npy"], help="default: from --out's suffix")
    # --labels, as the Python API's keyword (Run.sample(labels=...)); --label is kept as before.
    p.add_argument("--labels", "--label", dest="labels", type=int, metavar="LABEL",
                   help="class label of every sample, for a conditional run (default: 0, 1, 2, "
                   "... in turn)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row of the grid")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.train.run import load_run
    from gankit.viz.grid import save_grid, save_points

    if args.n < 1:
        raise GankitError(f"--n {args.n}: ask for at least one sample")
    loaded = load_run(args.run)
    fmt = args.format or ("npy" if args.out.endswith(".npy") else "png")
    samples = loaded.sample(args.n, labels=args.labels, seed=args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        np.save(out, samples.numpy())
    elif samples.dim() == 4:
        save_grid(samples, out, nrow=args.nrow)
    else:
        # 2-D points: ring and grid runs draw their true modes beneath the samples.
        from gankit.data.dataset import load_training_data

        cfg = loaded.config
        means = None
        if cfg.data.dataset in ("ring", "grid"):
            means = load_training_data(cfg.data, cfg.seed).means
        save_points(samples, out, means=means, title=f"{cfg.name}: {args.n} samples")
    print(f"wrote {args.n} samples to {out}")
    return 0
