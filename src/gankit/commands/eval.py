"""`gankit eval`: sample-quality metrics for a run folder or for samples from any source.

    gankit eval RUN [--metrics fid,pr,...] [--json]      (default: the run dataset's metrics)
    gankit eval --samples FILE.npy --metrics fid,pr        (N x 1 x 28 x 28 or N x 784, in [0, 1])
    gankit eval RUN --metrics modes --json                 (2-D ring/grid runs: the PacGAN protocol)

Which metrics exist for which dataset, and their defaults, come from gankit.metrics.registry.

Results and their protocol are written to RUN/eval.json; with --json, stdout holds one JSON object
and nothing else (notices go to stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from gankit.commands.sample import add_drs_arguments, add_ema_bn_argument, check_drs_arguments
from gankit.errors import GankitError
from gankit.metrics import registry

# A metric's unit, when its protocol names one as "<metric>_unit", shown after its value.
UNIT_SYMBOLS = {"percent": " %"}
MAX_N = 100_000  # ten times the MNIST protocol; more only costs memory and time


def _metrics_help() -> str:
    per_dataset = "; ".join(f"{d}: {', '.join(registry.metric_names(d))}"
                            for d in registry.DATASETS)
    return f"comma-separated, per dataset ({per_dataset}); default: the dataset's default set"


def _n_help() -> str:
    defaults = ", ".join(f"{d} {registry.default_n(d):,}" for d in registry.DATASETS)
    return (f"number of samples (default: {defaults}; a samples file: at most its size; "
            f"at most {MAX_N:,})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run or a samples file",
                       description="Evaluate a run's samples (or a .npy file of samples) with "
                       "gankit's metrics; each result is reported with its protocol.")
    p.add_argument("run", nargs="?", help="run folder (or use --samples)")
    p.add_argument("--samples", help=".npy file of samples, N x 1 x 28 x 28 or N x 784 "
                   "(Stacked MNIST: N x 3 x 28 x 28), in [0, 1]")
    p.add_argument("--metrics", default=None, help=_metrics_help())
    p.add_argument("--n", type=int, help=_n_help())
    p.add_argument("--seed", type=int, default=0, help="sampling and subset seed (default 0)")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                   help="score a run's samples drawn from PSI * z (the truncation trick, as "
                   "gankit sample --truncation; default 1, G's own noise)")
    add_drs_arguments(p)
    add_ema_bn_argument(p)
    p.add_argument("--data-dir", help="MNIST folder (default: $GANKIT_DATA_DIR, shared, cache)")
    p.add_argument("--classifier-weights", help="weights of the MNIST feature classifier "
                   "(default: the weights shipped with gankit)")
    p.add_argument("--inception-weights", help="FID Inception weights file (TorchScript) for "
                   "standard FID (metric fid-inception)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_dataset(run: Any) -> str:
    """The dataset whose metrics score a run: its data.dataset, or MNIST's for other 28 x 28
    grayscale runs (e.g. an image folder of digits)."""
    dataset = run.config.data.dataset
    if dataset in registry.DATASETS:
        return dataset
    if run.data_shape == (1, 28, 28):
        return "mnist"
    raise GankitError(f"no metrics for data.dataset {dataset} ({run.data_shape} samples); "
                      f"gankit eval scores {', '.join(registry.DATASETS)} runs and "
                      "1 x 28 x 28 samples")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    names = None
    if args.metrics is not None:
        names = [m.strip() for m in args.metrics.split(",") if m.strip()]
        if not names:
            raise GankitError("--metrics is empty; name at least one, e.g. --metrics fid,pr")
    if bool(args.run) == bool(args.samples):
        raise GankitError("give a run folder or --samples FILE.npy (exactly one of them)")
    data, n, nets, drs, labels = None, args.n, None, None, None
    if args.run:
        from gankit.train.run import load_run

        run = load_run(args.run)
        if args.ema_bn == "recompute":
            from gankit.train.standing_stats import recompute_for_run

            recompute_for_run(run)
        dataset = run_dataset(run)
        names = registry.check_metrics(names or registry.default_metrics(dataset), dataset,
                                       where="--metrics")
        if registry.needs_data(names, dataset):
            from gankit.data.dataset import load_training_data

            data = load_training_data(run.config.data, run.config.seed)
        n = n or registry.default_n(dataset)
        nets = run.nets
        # A metric of the run's own networks (accuracy) draws no samples.
        samples = None
        if registry.needs_samples(names, dataset) and run.n_classes and run.config.data.conditional:
            # A conditional G is scored as the mixture it learnt: labels in the training
            # labels' proportions, as the evaluations during training draw them.
            from gankit.data.dataset import load_training_data, marginal_labels

            training = data or load_training_data(run.config.data, run.config.seed)
            labels = marginal_labels(training.y, run.n_classes, n)
        if registry.needs_samples(names, dataset) and args.drs:
            kept = run.sample_drs(n, labels=labels, seed=args.seed, gamma=args.drs_gamma,
                                  refit_steps=args.drs_refit)
            samples = kept.samples
            drs = {"gamma": args.drs_gamma, "refit_steps": args.drs_refit,
                   "acceptance": round(kept.acceptance, 4)}
        elif registry.needs_samples(names, dataset):
            samples = run.sample(n, labels=labels, seed=args.seed, truncation=args.truncation)
    else:
        dataset = registry.samples_dataset(names)
        names = registry.check_metrics(names or registry.default_metrics(dataset), dataset,
                                       where="--metrics")
        samples = _load_samples(args.samples)
    result = registry.evaluate(samples, names, dataset, n=n, seed=args.seed,
                               data_dir=args.data_dir, classifier_weights=args.classifier_weights,
                               inception_weights=args.inception_weights, data=data, nets=nets)
    if labels is not None:
        result["protocol"]["labels"] = "training proportions"
    if args.truncation != 1:
        result["protocol"]["truncation"] = args.truncation
    if drs:
        result["protocol"]["drs"] = drs
    if args.run and args.ema_bn == "recompute":
        result["protocol"]["ema_bn"] = "recompute"
    return result


def _load_samples(path: str) -> Any:
    import numpy as np

    file = Path(path)
    if not file.exists():
        raise GankitError(f"samples file {file} not found")
    try:
        array = np.load(file, allow_pickle=False)
    except Exception as exc:
        raise GankitError(f"cannot read {file} as a .npy array ({type(exc).__name__}); "
                          "save samples with numpy.save") from None
    return array


def refuse_image_folder(run_dir: str) -> None:
    """gankit's metrics are defined on MNIST and the 2-D mixtures; on the user's own images they
    would score against MNIST (and train its classifier), so say so before anything runs."""
    from gankit.train.run import is_run, read_config

    if not is_run(Path(run_dir)):
        return  # not a run folder: evaluate() says so in its own words
    dataset = read_config(Path(run_dir)).data.dataset
    if dataset not in ("image-folder", "captioned-folder"):
        return
    raise GankitError(
        f"gankit eval on an {dataset} run: MNIST metrics do not apply; every metric here "
        "scores against MNIST or a 2-D mixture (none has features for your images). Look at "
        f"the samples with gankit viz neighbours {run_dir} (each beside its nearest training "
        f"image), or save them with gankit sample {run_dir} --n 10000 --out samples.npy and "
        "score them with an FID tool that knows your images"
    )


def check_args(args: argparse.Namespace) -> None:
    """What can be refused before anything is sampled, scored or written."""
    from gankit.metrics.evaluate import MIN_SAMPLES

    if bool(args.run) == bool(args.samples):
        raise GankitError("give a run folder or --samples FILE.npy (exactly one of them)")
    if args.n is not None and not MIN_SAMPLES <= args.n <= MAX_N:
        raise GankitError(f"--n {args.n}: evaluate {MIN_SAMPLES} to {MAX_N:,} samples (fewer "
                          "make the scores meaningless; the protocols use 10,000 for MNIST and "
                          "2,500 for 2-D runs, the default)")
    if args.truncation != 1:
        from gankit.train.run import check_truncation

        check_truncation(args.truncation, "--truncation")
        if args.samples:
            raise GankitError("--truncation changes how a run's noise is drawn; it has no "
                              "meaning for --samples FILE.npy: drop it or give a run folder")
    check_drs_arguments(args)
    if args.samples and args.ema_bn != "saved":
        raise GankitError("--ema-bn recomputes a run's generator statistics; it has no meaning "
                          "for --samples FILE.npy: drop it or give a run folder")
    if args.samples and not Path(args.samples).is_file():
        raise GankitError(f"samples file {args.samples} not found; give a .npy file written "
                          "with numpy.save")
    if args.samples:
        import numpy as np

        try:
            array = np.load(args.samples, mmap_mode="r", allow_pickle=False)
        except Exception:  # not a plain .npy: evaluate() says so in its own words
            return
        if getattr(array, "size", 1) == 0:
            raise GankitError(f"samples file {args.samples} holds no samples (shape "
                              f"{tuple(array.shape)}); save at least {MIN_SAMPLES} with numpy.save")


def run(args: argparse.Namespace) -> int:
    check_args(args)
    if args.run:
        refuse_image_folder(args.run)
    # Notices (e.g. the classifier being trained on first use) must not mix with --json output.
    with contextlib.redirect_stdout(sys.stderr):
        result = evaluate(args)
    from gankit.metrics.warnings import metric_warnings

    for warning in metric_warnings(result["metrics"]):  # stderr: --json stdout stays pure JSON
        print(f"gankit: warning: {warning}", file=sys.stderr)
    # The scores are shown first: a run folder that cannot be written does not lose them.
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result["metrics"].items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            unit = UNIT_SYMBOLS.get(result["protocol"].get(f"{name}_unit"), "")  # high_quality
            print(f"{name:>16}: {shown}{unit}")
        print("protocol: " + ", ".join(f"{k}={v}" for k, v in result["protocol"].items()))
    if args.run:
        from gankit.train.checkpoint import atomic_write_bytes

        path = Path(args.run) / "eval.json"
        try:
            atomic_write_bytes(path, json.dumps(result, indent=2).encode())
        except OSError as exc:
            raise GankitError(f"could not write {path} ({exc.strerror}); the scores above were "
                              "not saved: make the run folder writable and run gankit eval "
                              "again") from None
    return 0
