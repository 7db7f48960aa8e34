"""The `gankit` command: a thin layer over the Python API.

    gankit train CONFIG [--set key=value ...] [--run-dir DIR] [--dry-run] [--resume [--force]]
    gankit sample RUN --n 64 --out grid.png [--format png|npy] [--label 7] [--seed 0]
    gankit info RUN [--json]
    gankit eval RUN|--samples FILE.npy --metrics parzen,fid,... [--json]
    gankit viz figure1|neighbours|interpolate|arithmetic ...
    gankit report RUN

Errors in the user's input print one line, `gankit: error: ...`, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gankit.errors import GankitError


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN from a YAML config",
        description="Train a GAN as a YAML config says (see configs/).",
    )
    p.add_argument(
        "config",
        nargs="?",
        help="YAML config file, e.g. configs/mnist-paper.yaml "
        "(optional with --resume: the run folder's own config is used)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.k=2 --set loss=wgan-gp (repeatable)",
    )
    p.add_argument("--run-dir", help="run folder (default: runs/<config name>)")
    p.add_argument(
        "--data-dir",
        help="MNIST folder (the four .gz files) or image folder; "
        "same as --set data.dir=DIR (default: $GANKIT_DATA_DIR, then a download)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoint"
    )
    p.add_argument("--force", action="store_true", help="with --resume: accept a changed config")


def _add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained run",
        description="Draw samples from a run's generator (works on CPU for any checkpoint).",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="output file (.png grid or .npy array)")
    p.add_argument("--format", choices=["png", "npy"], help="default: from --out's suffix")
    p.add_argument("--label", type=int, help="class label for a conditional run")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row of the grid")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show a run's config and progress")
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description=__doc__.split("\n\n")[0])
    from gankit import __version__

    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub)
    _add_sample(sub)
    _add_info(sub)
    from gankit import cli_extra

    cli_extra.add_parsers(sub)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from gankit.config import config_to_yaml, load_config
    from gankit.train.loop import train
    from gankit.train.run import default_run_dir, read_config

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    if args.config is None:
        if not (args.resume and args.run_dir):
            raise GankitError("gankit train needs a CONFIG file (or --resume --run-dir RUN)")
        from gankit.config import apply_overrides, config_from_dict, config_to_dict

        cfg = config_from_dict(
            apply_overrides(config_to_dict(read_config(Path(args.run_dir))), overrides)
        )
    else:
        cfg = load_config(args.config, overrides)
    if args.dry_run:
        sys.stdout.write(config_to_yaml(cfg))
        return 0
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(cfg)
    out = train(cfg, run_dir, resume=args.resume, force=args.force)
    print(f"run finished: {out}  (samples in {out / 'samples'}; try: gankit info {out})")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.train.run import load_run
    from gankit.viz.grid import save_grid, save_points

    if args.n < 1:
        raise GankitError(f"--n {args.n}: ask for at least one sample")
    run = load_run(args.run)
    fmt = args.format or ("npy" if args.out.endswith(".npy") else "png")
    samples = run.sample(args.n, labels=args.label, seed=args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        np.save(out, samples.numpy())
    elif samples.dim() == 4:
        save_grid(samples, out, nrow=args.nrow)
    else:
        from gankit.data.dataset import load_training_data

        means = None
        if run.config.data.dataset in ("ring", "grid"):
            means = load_training_data(run.config.data, run.config.seed).means
        save_points(samples, out, means=means, title=f"{run.config.name}: {args.n} samples")
    print(f"wrote {args.n} samples to {out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from gankit.config import config_to_dict, config_to_yaml
    from gankit.train.run import epochs_text, read_config, read_metrics, read_status

    run = Path(args.run)
    cfg = read_config(run)
    status, metrics = read_status(run), read_metrics(run)
    logs = [r for r in metrics if "eval" not in r]
    evals = [r for r in metrics if "eval" in r]
    last = logs[-1] if logs else {}
    last_eval = evals[-1] if evals else None
    if args.json:
        print(
            json.dumps(
                {
                    "run": str(run),
                    "config": config_to_dict(cfg),
                    "status": status,
                    "last_metrics": last,
                    "last_eval": last_eval,
                }
            )
        )
        return 0
    print(f"run: {run}")
    print(
        f"progress: {epochs_text(status)}, generator step {status.get('step', 0)}, "
        f"{'finished' if status.get('finished') else 'not finished'} (last saved {status.get('time', '-')})"
    )
    if last:
        shown = ", ".join(
            f"{k}={v:.4g}"
            for k, v in last.items()
            if isinstance(v, float) and k in ("d_loss", "g_loss", "d_x", "d_gz", "images_per_s")
        )
        print(f"last log (step {last.get('step')}): {shown}")
    if last_eval:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last_eval["eval"].items())
        print(f"last evaluation (epoch {last_eval['epoch']}, step {last_eval['step']}): {shown}")
    print("config:")
    for line in config_to_yaml(cfg).splitlines():
        print(f"  {line}")
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "info": cmd_info}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from gankit import cli_extra

    handler = COMMANDS.get(args.command) or cli_extra.COMMANDS[args.command]
    try:
        return handler(args)
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
