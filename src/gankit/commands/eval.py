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
# A metric's unit, when its protocol names one as "<metric>_unit", shown after its value.
UNIT_SYMBOLS = {"percent": " %"}
STACKED_METRICS = ("stacked-modes",)


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
                   "Stacked MNIST: 26,000)")
    p.add_argument("--seed", type=int, default=0, help="sampling and subset seed (default 0)")
    p.add_argument("--data-dir", help="MNIST folder (default: $GANKIT_DATA_DIR, shared, cache)")
    p.add_argument("--classifier-weights", help="weights of the MNIST feature classifier "
                   "(default: the weights shipped with gankit)")
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


def refuse_image_folder(run_dir: str) -> None:
    """gankit's metrics are defined on MNIST and the 2-D mixtures; on the user's own images they
    would score against MNIST (and train its classifier), so say so before anything runs."""
    from gankit.train.run import is_run, read_config

    if not is_run(Path(run_dir)) or read_config(Path(run_dir)).data.dataset != "image-folder":
        return  # not a run folder: evaluate() says so in its own words
    raise GankitError(
        "gankit eval on an image-folder run: MNIST metrics do not apply; every metric here "
        "scores against MNIST or a 2-D mixture (none has features for your images). Look at "
        f"the samples with gankit viz neighbours {run_dir} (each beside its nearest training "
        f"image), or save them with gankit sample {run_dir} --n 10000 --out samples.npy and "
        "score them with an FID tool that knows your images"
    )


def run(args: argparse.Namespace) -> int:
    if args.run:
        refuse_image_folder(args.run)
    # Notices (e.g. the classifier being trained on first use) must not mix with --json output.
    with contextlib.redirect_stdout(sys.stderr):
        result = evaluate(args)
    from gankit.metrics.warnings import metric_warnings

    for warning in metric_warnings(result["metrics"]):  # stderr: --json stdout stays pure JSON
        print(f"gankit: warning: {warning}", file=sys.stderr)
    if args.run:
        from gankit.train.checkpoint import atomic_write_bytes

        atomic_write_bytes(Path(args.run) / "eval.json", json.dumps(result, indent=2).encode())
    if args.json:
        print(json.dumps(result))
        return 0
    for name, value in result["metrics"].items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        unit = UNIT_SYMBOLS.get(result["protocol"].get(f"{name}_unit"), "")  # e.g. high_quality
        print(f"{name:>16}: {shown}{unit}")
    print("protocol: " + ", ".join(f"{k}={v}" for k, v in result["protocol"].items()))
    return 0
