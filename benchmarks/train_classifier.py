"""Train gankit's MNIST classifier with its fixed recipe, report accuracy and real-vs-real floors.

Trains exactly what load_mnist_classifier() builds on first use, stores it in the user cache
(so later evaluations skip training), measures MNIST test accuracy, and scores 10,000 MNIST
training images against the test split with the evaluation protocol: the values a perfect
generator would get (the floor for FD and KID, the ceiling for the others).

    python benchmarks/train_classifier.py [--weights PATH] [--out docs/results/classifier.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import torch

from gankit.data import load_mnist
from gankit.metrics.classifier import (
    TRAIN_BATCH,
    TRAIN_EPOCHS,
    TRAIN_LR,
    TRAIN_SEED,
    TRAIN_SPLIT,
    accuracy,
    default_weights_path,
    save_weights,
    train_mnist_classifier,
)
from gankit.metrics.evaluate import evaluate_samples
from gankit.metrics.registry import default_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="where to save (default: user cache)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="docs/results/classifier.md")
    args = parser.parse_args()
    weights = Path(args.weights) if args.weights else default_weights_path()

    images, labels = load_mnist(TRAIN_SPLIT, args.data_dir)
    test_images, test_labels = load_mnist("test", args.data_dir)
    start = time.perf_counter()
    model = train_mnist_classifier(images, labels, verbose=True)
    train_s = time.perf_counter() - start
    save_weights(model, weights)
    test_acc = accuracy(model, test_images, test_labels)
    print(f"trained in {train_s:.0f} s, test accuracy {test_acc:.4f}, saved to {weights}")

    # Real vs real: 10,000 training images scored like generated samples.
    generator = torch.Generator().manual_seed(0)
    real = images[torch.randperm(len(images), generator=generator)[:10000]]
    # Parzen left out: its floor is not a property of the classifier.
    names = [m for m in default_metrics("mnist") if m != "parzen"]
    floor = evaluate_samples(real, names, data_dir=args.data_dir, classifier=model, n=10000,
                             seed=0)
    m = floor["metrics"]
    print({k: v for k, v in m.items() if k != "class_histogram"})

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    text = f"""# gankit MNIST classifier

Command: `python {" ".join(sys.argv)}`
Date: {datetime.datetime.now().isoformat(timespec="seconds")}
Machine: {platform.platform()}, {platform.processor() or platform.machine()}, \
{os.cpu_count()} CPU cores, torch {torch.__version__} with {torch.get_num_threads()} threads, \
load average at the end {load[0]:.2f} (well above 0 means other jobs shared the cores and the
training time is inflated)

Recipe (`gankit.metrics.classifier`): conv 5x5 16 -> max-pool -> conv 5x5 32 -> max-pool ->
128-unit feature layer (the features FD/KID/PRDC use) -> dropout 0.3 -> 10 logits; Adam, lr
{TRAIN_LR} decayed linearly to 0, batch {TRAIN_BATCH}, {TRAIN_EPOCHS} epochs on MNIST
{TRAIN_SPLIT} ({len(images):,} images), seed {TRAIN_SEED}.

| what | value |
|---|---|
| MNIST test accuracy (10,000 images) | **{100 * test_acc:.2f} %** |
| training wall time | {train_s:.0f} s |
| weights | `{weights.name}` in the user cache, SHA-256 sidecar `{weights.name}.sha256` |

## Real-vs-real floor (what a perfect generator scores)

10,000 random MNIST training images (seed 0) as the "samples", scored with
`evaluate_samples` against the 10,000 test images, classifier features (128-D):

| metric | value |
|---|---|
| Fréchet distance (classifier features) | {m["fid"]:.4f} |
| KID (100 subsets of 1,000) | {m["kid"]:.5f} +- {m["kid_std"]:.5f} |
| precision / recall (k=3) | {m["precision"]:.4f} / {m["recall"]:.4f} |
| density / coverage (k=5) | {m["density"]:.4f} / {m["coverage"]:.4f} |
| classifier score (IS formula, 10 splits) | {m["is"]:.3f} +- {m["is_std"]:.3f} |
| classes covered, KL(p_hat \\|\\| uniform) | {m["classes_covered"]}, {m["kl_to_uniform"]:.5f} |

These numbers use gankit's classifier, not InceptionV3: they are comparable between gankit
runs, not with published FID/IS values.
"""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
