"""`gankit train`: train a GAN as a YAML config says, or resume a run folder."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.config import Config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN from a YAML config",
        description="Train a GAN as a YAML config says (see configs/, shipped with gankit: "
        "gankit train mnist-paper works from any directory).",
    )
    p.add_argument(
        "config",
        nargs="?",
        help="YAML config file, e.g. configs/mnist-paper.yaml, or a shipped config's name "
        "(mnist-paper, image-folder, ...); optional with --resume: the run's own config is used",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.k=2 --set loss=wgan-gp (repeatable); "
        "train.max_steps=N alone bounds the run by N steps (train.epochs is set to 0)",
    )
    p.add_argument("--run-dir", help="run folder (default: runs/<config name>)")
    p.add_argument(
        "--data-dir",
        help="MNIST folder (the four .gz files), or your image folder with the image-folder "
        "config; same as --set data.dir=DIR (default: $GANKIT_DATA_DIR, then a download)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoint"
    )
    p.add_argument("--force", action="store_true", help="with --resume: accept a changed config")


def _config(args: argparse.Namespace) -> Config:
    """The config file with --set/--data-dir applied; with --resume and no file, the run's own."""
    from gankit.config import apply_overrides, config_from_dict, config_to_dict, load_config
    from gankit.train.run import read_config

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    if args.config is not None:
        return load_config(args.config, overrides)
    if not (args.resume and args.run_dir):
        raise GankitError("gankit train needs a CONFIG file (or --resume --run-dir RUN)")
    saved = config_to_dict(read_config(Path(args.run_dir)))
    return config_from_dict(apply_overrides(saved, overrides))


def run(args: argparse.Namespace) -> int:
    from gankit.config import config_to_yaml
    from gankit.train.loop import train
    from gankit.train.run import default_run_dir

    if args.force and not args.resume:
        raise GankitError("--force only applies to --resume (it accepts a changed config); "
                          "drop --force, or add --resume --run-dir RUN")
    cfg = _config(args)
    if args.dry_run:
        sys.stdout.write(config_to_yaml(cfg))
        return 0
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(cfg)
    out = train(cfg, run_dir, resume=args.resume, force=args.force)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
        print(f"run finished: {out}  (samples in {out / 'samples'}; try: gankit info {out})")
    return 0
