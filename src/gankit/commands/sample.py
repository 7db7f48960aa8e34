"""`gankit sample`: draw samples from a run's generator as a PNG grid (or plot) or a .npy array."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError

MAX_SAMPLES = 100_000  # 100,000 MNIST images are 300 MB of floats
FORMATS = {".png": "png", ".npy": "npy"}  # --out's suffix -> what is written


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained run",
        description="Draw samples from a run's generator (works on CPU for any checkpoint).",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="output file (.png grid or .npy array)")
    p.add_argument("--format", choices=["png", "npy"],
                   help="must agree with --out's suffix, which decides by default")
    # --labels, as the Python API's keyword (Run.sample(labels=...)); --label is kept as before.
    p.add_argument("--labels", "--label", dest="labels", type=int, metavar="LABEL",
                   help="class label of every sample, for a conditional run (default: 0, 1, 2, "
                   "... in turn; gankit eval RUN draws labels in the training set's class "
                   "proportions instead, the mixture G learnt)")
    p.add_argument("--text", help="a sentence every sample shows, for a text-to-image run "
                   "(objective text2image), e.g. 'a thin three leaning left'")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                   help="draw z, then use PSI * z (0 to 2): below 1, fewer unusual samples "
                   "and less variety (the truncation trick), above 1 the reverse; default 1, "
                   "G's own noise")
    add_drs_arguments(p)
    add_ema_bn_argument(p)
    p.add_argument("--nrow", type=int, help="images per row of the grid")


def add_ema_bn_argument(p: argparse.ArgumentParser) -> None:
    """--ema-bn, as `gankit sample` and `gankit eval` take it."""
    p.add_argument("--ema-bn", choices=["saved", "recompute"], default="saved",
                   help="batch-norm statistics of the run's EMA generator: saved (default) or "
                   "recompute (its own, from fresh noise, as train.ema_bn=recompute saves them; "
                   "for a run trained with the default copy, which borrowed the live G's)")


def add_drs_arguments(p: argparse.ArgumentParser) -> None:
    """--drs and its options, as `gankit sample` and `gankit eval` take them."""
    p.add_argument("--drs", action="store_true",
                   help="discriminator rejection sampling (Azadi et al. 2019): keep each sample "
                   "of G with a probability from D's logit, for runs trained with the minimax or "
                   "non-saturating loss; the share of draws kept is reported")
    p.add_argument("--drs-gamma", type=float, default=0.0, metavar="GAMMA",
                   help="with --drs: shift of every acceptance, 0 the paper's form (default); "
                   "positive keeps fewer, more typical samples, negative more")
    p.add_argument("--drs-refit", type=int, default=0, metavar="STEPS",
                   help="with --drs: first train a copy of D this many more minibatches against "
                   "the finished G (default 0: D as trained; the grid candidate uses 6000)")


def check_drs_arguments(args: argparse.Namespace) -> None:
    """Refuse DRS options without --drs, and --drs beside another way of drawing."""
    drs = getattr(args, "drs", False)
    for option in ("drs_gamma", "drs_refit"):
        if getattr(args, option, 0) != 0 and not drs:
            flag = "--" + option.replace("_", "-")
            raise GankitError(f"{flag} only applies with --drs; add --drs or drop {flag}")
    others = [flag for flag, on in (("--truncation", getattr(args, "truncation", 1) != 1),
                                    ("--text", getattr(args, "text", None) is not None),
                                    ("--samples", getattr(args, "samples", None))) if on]
    if drs and others:
        raise GankitError(f"--drs draws G's own noise and keeps what D accepts; drop --drs or "
                          f"drop {others[0]}")


def check_args(args: argparse.Namespace) -> tuple[Path, str]:
    """--out and its format, once --n, --nrow and --out are known to make sense."""
    if not 1 <= args.n <= MAX_SAMPLES:
        raise GankitError(f"--n {args.n}: ask for 1 to {MAX_SAMPLES:,} samples")
    if args.nrow is not None and args.nrow < 1:
        raise GankitError(f"--nrow {args.nrow}: give at least 1 image per row of the grid")
    from gankit.train.run import check_truncation

    check_truncation(args.truncation, "--truncation")
    if args.truncation != 1 and getattr(args, "text", None) is not None:
        raise GankitError("--truncation is not available with --text; drop one of them")
    check_drs_arguments(args)
    out = Path(args.out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise GankitError(f"--out {out}: name a .png file (a grid or plot) or a .npy file "
                          "(the array)")
    if args.format and args.format != fmt:
        raise GankitError(f"--format {args.format} but --out {out} ends in {out.suffix}; name "
                          f"the file {out.with_suffix('.' + args.format).name} or drop --format")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise GankitError(f"--out {out}: {parent} is a file, not a folder; choose another path")
    return out, fmt


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.train.run import load_run
    from gankit.viz.grid import save_grid, save_points

    out, fmt = check_args(args)
    text = getattr(args, "text", None)
    if text is not None and args.labels is not None:
        raise GankitError("--labels and --text both say what to draw; give one of them (a "
                          "text-to-image run takes --text, a conditional run --labels)")
    loaded = load_run(args.run)
    if args.ema_bn == "recompute":
        from gankit.train.standing_stats import recompute_for_run

        recompute_for_run(loaded)
    if text is not None:
        from gankit.viz.text import sample_text

        samples = sample_text(loaded, text, args.n, seed=args.seed)
    elif args.drs:
        kept = loaded.sample_drs(args.n, labels=args.labels, seed=args.seed,
                                 gamma=args.drs_gamma, refit_steps=args.drs_refit)
        samples = kept.samples
        print(f"DRS kept {args.n} of {kept.draws:,} draws ({kept.acceptance:.1%})")
    else:
        samples = loaded.sample(args.n, labels=args.labels, seed=args.seed,
                                 truncation=args.truncation)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "npy":
            np.save(out, samples.numpy())  # the suffix is .npy, so exactly `out` is written
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
    except OSError as exc:
        raise GankitError(f"cannot write --out {out} ({exc.strerror}); choose another path") from None
    print(f"wrote {args.n} samples to {out}")
    return 0
