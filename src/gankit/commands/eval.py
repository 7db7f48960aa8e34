"""`gankit eval`: sample-quality metrics for a run folder or for samples from any source.

    gankit eval RUN --metrics parzen,fid,kid,is,pr,dc,modes [--json]
    gankit eval --samples FILE.npy --metrics fid,pr        (N x 1 x 28 x 28 or N x 784, in [0, 1])
    gankit eval RUN --metrics modes --json                 (2-D ring/grid runs: the PacGAN protocol)

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

from gankit.errors import GankitError

TOY_METRICS = ("modes",)
STACKED_METRICS = ("stacked-modes",)
MAX_N = 100_000  # ten times the MNIST protocol; more only costs memory and time


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run or a samples file",
                       description="Evaluate a run's samples (or a .npy file of samples) with "
                       "gankit's metrics; each result is reported with its protocol.")
    p.add_argument("run", nargs="?", help="run folder (or use --samples)")
    p.add_argument("--samples", help=".npy file of samples, N x 1 x 28 x 28 or N x 784, in [0, 1]")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: parzen, fid, fid-inception, kid, is, pr, dc, modes, "
                   "stacked-modes (default: the MNIST set; 2-D runs: modes)")
    p.add_argument("--n", type=int, help="number of samples (default 10,000; 2-D runs: 2,500; "
                   f"Stacked MNIST: 26,000; at most {MAX_N:,})")
    p.add_argument("--seed", type=int, default=0, help="sampling and subset seed (default 0)")
    p.add_argument("--data-dir", help="MNIST folder (default: $GANKIT_DATA_DIR, shared, cache)")
    p.add_argument("--classifier-weights", help="weights of the MNIST feature classifier "
                   "(default: gankit's own, trained and cached on first use)")
    p.add_argument("--inception-weights", help="FID Inception weights file (TorchScript) for "
                   "standard FID (metric fid-inception)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def evaluate_run_2d(run: Any, n: int, seed: int) -> dict[str, Any]:
    """PacGAN's protocol: n samples, each assigned to its nearest true mode."""
    from gankit.data.dataset import load_training_data
    from gankit.metrics.modes2d import evaluate_modes2d

    data = load_training_data(run.config.data, run.config.seed)
    return evaluate_modes2d(run.sample(n, seed=seed), data.means, data.std,
                            run.config.data.dataset, seed)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    metrics = args.metrics if args.metrics is not None else "parzen,fid,kid,is,pr,dc,modes"
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise GankitError("--metrics is empty; name at least one, e.g. --metrics fid,pr")
    if bool(args.run) == bool(args.samples):
        raise GankitError("give a run folder or --samples FILE.npy (exactly one of them)")
    run = None
    if args.run:
        from gankit.train.run import load_run

        run = load_run(args.run)
        if run.config.data.dataset in ("ring", "grid"):
            if args.metrics is None:
                names = ["modes"]
            bad = [m for m in names if m not in TOY_METRICS]
            if bad:
                raise GankitError(f"metric {bad[0]} does not apply to 2-D data; use --metrics modes")
            return evaluate_run_2d(run, args.n or 2500, args.seed)
    if "stacked-modes" in names:
        from gankit.metrics.stacked import STACKED_SAMPLES, evaluate_stacked

        if names != ["stacked-modes"]:
            raise GankitError("stacked-modes is evaluated on its own: --metrics stacked-modes")
        samples = run.sample(args.n or STACKED_SAMPLES, seed=args.seed) if run else _load_samples(args.samples)
        return evaluate_stacked(samples, data_dir=args.data_dir, seed=args.seed,
                                classifier_weights=args.classifier_weights)
    if run is not None:
        if run.data_shape != (1, 28, 28):
            raise GankitError(f"MNIST metrics need 1 x 28 x 28 samples; this run makes {run.data_shape}")
        samples = run.sample(args.n or 10000, seed=args.seed)
    else:
        samples = _load_samples(args.samples)
    from gankit.metrics.evaluate import evaluate_samples

    classifier = None
    if args.classifier_weights:
        from gankit.metrics.classifier import load_mnist_classifier

        classifier = load_mnist_classifier(args.classifier_weights, data_dir=args.data_dir)
    inception_names = [m for m in names if m == "fid-inception"]
    other = [m for m in names if m != "fid-inception"]
    result = {"metrics": {}, "protocol": {}}
    if other:
        result = evaluate_samples(samples, other, data_dir=args.data_dir, classifier=classifier,
                                  n=args.n or min(10000, len(samples)), seed=args.seed)
    if inception_names:
        result["metrics"]["fid_inception"] = _fid_inception(samples, args)
        result["protocol"]["fid_inception_extractor"] = "InceptionV3 (pool3, 2048-D), user weights"
    return result


def _fid_inception(samples: Any, args: argparse.Namespace) -> float:
    from gankit.data import load_mnist
    from gankit.metrics.features import extract_features
    from gankit.metrics.frechet import feature_stats, frechet_distance
    from gankit.metrics.inception import load_inception

    if not args.inception_weights:
        raise GankitError("fid-inception needs the FID Inception weights: pass --inception-weights PATH "
                          "(pt_inception-2015-12-05 as TorchScript); without it use --metrics fid "
                          "(Fréchet distance on gankit's MNIST classifier)")
    net = load_inception(args.inception_weights)
    real, _ = load_mnist("test", args.data_dir)
    n = min(len(samples), len(real), args.n or 10000)
    f_fake = extract_features(net, samples[:n], batch_size=100)
    f_real = extract_features(net, real[:n], batch_size=100)
    return frechet_distance(*feature_stats(f_real), *feature_stats(f_fake))


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


def check_args(args: argparse.Namespace) -> None:
    """What can be refused before anything is sampled, scored or written."""
    from gankit.metrics.evaluate import MIN_SAMPLES

    if bool(args.run) == bool(args.samples):
        raise GankitError("give a run folder or --samples FILE.npy (exactly one of them)")
    if args.n is not None and not MIN_SAMPLES <= args.n <= MAX_N:
        raise GankitError(f"--n {args.n}: evaluate {MIN_SAMPLES} to {MAX_N:,} samples (fewer "
                          "make the scores meaningless; the protocols use 10,000 for MNIST and "
                          "2,500 for 2-D runs, the default)")
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
    # Notices (e.g. the classifier being trained on first use) must not mix with --json output.
    with contextlib.redirect_stdout(sys.stderr):
        result = evaluate(args)
    # The scores are shown first: a run folder that cannot be written does not lose them.
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result["metrics"].items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"{name:>16}: {shown}")
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
