"""Train gankit's MNIST classifier with its fixed recipe, report accuracy and real-vs-real floors.

Trains exactly what load_mnist_classifier() would build, stores it in the user cache and (unless
--no-ship) as the package's shipped weights, src/gankit/metrics/weights/, beside a JSON manifest
with their SHA-256, this command, the date, the torch version and the measured test accuracy.
Then it scores 10,000 MNIST training images against the test split with the evaluation
protocol: the values a perfect generator would get (the floor for FD and KID, the ceiling for
the others).

    python benchmarks/train_classifier.py [--weights PATH] [--no-ship]
                                          [--out docs/results/classifier.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import time
from pathlib import Path

import torch

from common import header, load_average, machine, table, write_doc
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
    shipped_weights_path,
    train_mnist_classifier,
)
from gankit.metrics.evaluate import evaluate_samples
from gankit.metrics.registry import default_metrics
from gankit.metrics.shipped_weights import write_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="where to save (default: user cache)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ship", action=argparse.BooleanOptionalAction, default=True,
                        help="also write the package's shipped weights and their manifest")
    parser.add_argument("--out", default="docs/results/classifier.md")
    args = parser.parse_args()
    weights = Path(args.weights) if args.weights else default_weights_path()
    command = f"python {' '.join(sys.argv)}"
    date = datetime.datetime.now().isoformat(timespec="seconds")

    images, labels = load_mnist(TRAIN_SPLIT, args.data_dir)
    test_images, test_labels = load_mnist("test", args.data_dir)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = time.perf_counter()
    model = train_mnist_classifier(images, labels, verbose=True)
    train_s = time.perf_counter() - start
    save_weights(model, weights)
    test_acc = accuracy(model, test_images, test_labels)
    print(f"trained in {train_s:.0f} s, test accuracy {test_acc:.4f}, saved to {weights}")
    manifest = None
    if args.ship:
        shipped = shipped_weights_path()
        shutil.copyfile(weights, shipped)  # the same bytes as the cache copy
        manifest = write_manifest(
            shipped, command=command, date=date, torch=torch.__version__,
            recipe={"split": TRAIN_SPLIT, "epochs": TRAIN_EPOCHS, "batch": TRAIN_BATCH,
                    "lr": TRAIN_LR, "seed": TRAIN_SEED},
            test_accuracy=round(test_acc, 6), test_images=len(test_images),
            train_seconds=round(train_s, 1))
        print(f"shipped {shipped} ({manifest['bytes']:,} bytes, sha256 {manifest['sha256']})")

    # Real vs real: 10,000 training images scored like generated samples.
    generator = torch.Generator().manual_seed(0)
    real = images[torch.randperm(len(images), generator=generator)[:10000]]
    # Parzen left out: its floor is not a property of the classifier.
    names = [m for m in default_metrics("mnist") if m != "parzen"]
    floor = evaluate_samples(real, names, data_dir=args.data_dir, classifier=model, n=10000,
                             seed=0)
    m = floor["metrics"]
    print({k: v for k, v in m.items() if k != "class_histogram"})

    if manifest is None:
        weights_row = f"`{weights}`, SHA-256 sidecar `{weights.name}.sha256` (not shipped)"
    else:
        weights_row = (f"shipped as `src/gankit/metrics/weights/{manifest['file']}`, "
                       f"{manifest['bytes']:,} bytes, SHA-256 `{manifest['sha256']}` (also in "
                       f"`{manifest['file'].removesuffix('.pt')}.json`, checked on every load)")
    top = header("gankit MNIST classifier", command, date,
                 f"{machine()}; load average {load_start:.2f} when training started; at the end "
                 + load_average("well above 0 means other jobs shared the cores and the "
                                "training time is inflated"))
    result = table(["what", "value"], [
        ["MNIST test accuracy (10,000 images)", f"**{100 * test_acc:.2f} %**"],
        ["training wall time", f"{train_s:.0f} s"],
        ["weights", weights_row],
    ])
    floor_table = table(["metric", "value"], [
        ["Fréchet distance (classifier features)", f"{m['fid']:.4f}"],
        ["KID (100 subsets of 1,000)", f"{m['kid']:.5f} +- {m['kid_std']:.5f}"],
        ["precision / recall (k=3)", f"{m['precision']:.4f} / {m['recall']:.4f}"],
        ["density / coverage (k=5)", f"{m['density']:.4f} / {m['coverage']:.4f}"],
        ["classifier score (IS formula, 10 splits)", f"{m['is']:.3f} +- {m['is_std']:.3f}"],
        ["classes covered, KL(p_hat \\|\\| uniform)",
         f"{m['classes_covered']}, {m['kl_to_uniform']:.5f}"],
    ])
    nl = "\n"
    text = f"""{nl.join(top)}

Recipe (`gankit.metrics.classifier`): conv 5x5 16 -> max-pool -> conv 5x5 32 -> max-pool ->
128-unit feature layer (the features FD/KID/PRDC use) -> dropout 0.3 -> 10 logits; Adam, lr
{TRAIN_LR} decayed linearly to 0, batch {TRAIN_BATCH}, {TRAIN_EPOCHS} epochs on MNIST
{TRAIN_SPLIT} ({len(images):,} images), seed {TRAIN_SEED}.

{nl.join(result)}

## Real-vs-real floor (what a perfect generator scores)

10,000 random MNIST training images (seed 0) as the "samples", scored with
`evaluate_samples` against the 10,000 test images, classifier features (128-D):

{nl.join(floor_table)}

These numbers use gankit's classifier, not InceptionV3: they are comparable between gankit
runs, not with published FID/IS values.
"""
    write_doc(args.out, text)


if __name__ == "__main__":
    main()
