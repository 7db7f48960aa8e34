"""Score MNIST-shaped samples with any of gankit's metrics under one recorded protocol.

Reference set: the MNIST test split (10,000 images; a seeded subset when n is smaller), so
generated and real sets have equal size. Parzen follows Goodfellow et al. (2014): the samples
are the kernel centres, sigma is chosen on the first 1,000 validation images, and the full
test split is scored. The feature metrics use gankit's own MNIST classifier (128-D features),
so their values are comparable across gankit runs but not to Inception-based numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gankit.data import load_mnist
from gankit.errors import GankitError
from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.features import extract_features, extractor_name
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.metrics.kid import kid_score
from gankit.metrics.modes import classifier_score, mnist_modes
from gankit.metrics.parzen import parzen_evaluate
from gankit.metrics.prdc import prdc

METRICS = ("parzen", "fid", "kid", "is", "pr", "dc", "modes")
PARZEN_VALID_POINTS = 1000  # the authors' parzen_ll.py default (limit_size)
PR_K = 3  # Kynkäänniemi et al. 2019
DC_K = 5  # Naeem et al. 2020
MIN_SAMPLES = 50  # below this the k-NN and subset estimates are meaningless


def check_mnist_samples(samples: object, n: int, channels: int = 1) -> torch.Tensor:
    """The samples as a CPU float32 tensor after checking shape, dtype, range and count.

    `channels` is 1 for MNIST and 3 for Stacked MNIST.
    """
    if isinstance(samples, np.ndarray):
        samples = torch.from_numpy(samples)
    if not isinstance(samples, torch.Tensor):
        raise GankitError(f"samples must be a torch tensor or numpy array, got "
                          f"{type(samples).__name__}")
    if samples.ndim == 2 and samples.shape[1] == channels * 784:
        samples = samples.reshape(-1, channels, 28, 28)  # flat N x 784 rows, as the MLP makes
    if samples.ndim != 4 or tuple(samples.shape[1:]) != (channels, 28, 28):
        what = "MNIST-shaped" if channels == 1 else "Stacked-MNIST-shaped"
        raise GankitError(f"samples must be {what} N x {channels} x 28 x 28, got "
                          f"{tuple(samples.shape)}; reshape the generator output")
    if not samples.is_floating_point():
        raise GankitError(f"samples must be floating point in [0, 1], got {samples.dtype}; "
                          "for 0-255 integers use samples.float() / 255")
    samples = samples.detach().cpu().float()
    if not torch.isfinite(samples).all():
        raise GankitError("samples contain NaN or infinite values; the generator has diverged, "
                          "check training before evaluating")
    low, high = float(samples.min()), float(samples.max())
    if high > 1.0 + 1e-6:
        hint = " (they look like 0-255 pixels: divide by 255)" if high > 2.0 else ""
        raise GankitError(f"samples must lie in [0, 1], max is {high:.4g}{hint}")
    if low < -1e-6:
        hint = " (they look like tanh outputs in [-1, 1]: use (x + 1) / 2)" if low >= -1.0 else ""
        raise GankitError(f"samples must lie in [0, 1], min is {low:.4g}{hint}")
    if n < MIN_SAMPLES:
        raise GankitError(f"n must be at least {MIN_SAMPLES}, got {n}; the protocol uses 10000")
    if len(samples) < n:
        raise GankitError(f"got {len(samples)} samples but the evaluation uses n={n}; generate "
                          f"at least {n} samples or pass a smaller n")
    return samples.clamp(0.0, 1.0)


def _check_metric_names(metrics: list[str]) -> list[str]:
    if isinstance(metrics, str):
        metrics = [metrics]
    names = [str(m).lower() for m in metrics]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        what = f"unknown metric(s) {', '.join(unknown)}" if unknown else "no metric given"
        raise GankitError(f"{what}; choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))  # drop repeats, keep order


def _subset(x: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    if len(x) <= n:
        return x
    return x[torch.randperm(len(x), generator=generator)[:n]]


def evaluate_samples(samples: torch.Tensor | np.ndarray, metrics: list[str],
                     data_dir: str | Path | None = None,
                     classifier: MnistClassifier | None = None,
                     n: int = 10000, seed: int = 0) -> dict:
    """Compute the requested metrics on N x 1 x 28 x 28 samples in [0, 1].

    Returns {"metrics": {name: value}, "protocol": {...}}; the protocol records n, the
    reference split and its size, the feature extractor, the Parzen sigma and the seed.
    """
    names = _check_metric_names(metrics)
    samples = check_mnist_samples(samples, n)
    generator = torch.Generator().manual_seed(seed)
    fake = _subset(samples, n, generator)
    out: dict = {}
    protocol: dict = {"n": len(fake), "seed": seed}

    if "parzen" in names:
        valid, _ = load_mnist("valid", data_dir=data_dir)
        test, _ = load_mnist("test", data_dir=data_dir)
        result = parzen_evaluate(fake, valid[:PARZEN_VALID_POINTS], test)
        out["parzen"], out["parzen_stderr"] = result["mean"], result["stderr"]
        protocol.update(parzen_sigma=result["sigma"], parzen_valid="valid[:1000]",
                        parzen_test="test", parzen_n_test=result["n_test"])

    feature_metrics = [m for m in names if m != "parzen"]
    if not feature_metrics:
        return {"metrics": out, "protocol": protocol}

    if classifier is None:
        classifier = load_mnist_classifier(data_dir=data_dir)
    fake_feats = extract_features(classifier, fake)
    protocol["extractor"] = extractor_name(classifier)

    if {"fid", "kid", "pr", "dc"} & set(names):
        reference, _ = load_mnist("test", data_dir=data_dir)
        real_feats = extract_features(classifier, _subset(reference, n, generator))
        protocol.update(reference_split="test", n_reference=len(real_feats))
    if "fid" in names:
        out["fid"] = frechet_distance(*feature_stats(real_feats), *feature_stats(fake_feats))
    if "kid" in names:
        out["kid"], out["kid_std"] = kid_score(real_feats, fake_feats, seed=seed)
        protocol["kid_subset_size"] = min(1000, len(real_feats), len(fake_feats))
    if "pr" in names:
        result = prdc(real_feats, fake_feats, k=PR_K)
        out["precision"], out["recall"] = result["precision"], result["recall"]
        protocol["pr_k"] = PR_K
    if "dc" in names:
        result = prdc(real_feats, fake_feats, k=DC_K)
        out["density"], out["coverage"] = result["density"], result["coverage"]
        protocol["dc_k"] = DC_K
    if {"is", "modes"} & set(names):
        device = next(classifier.parameters()).device
        with torch.no_grad():
            logits = classifier.logits_from_features(fake_feats.to(device)).cpu()
        if "is" in names:
            out["is"], out["is_std"] = classifier_score(torch.softmax(logits.double(), dim=1))
        if "modes" in names:
            modes = mnist_modes(logits.argmax(dim=1))
            out["classes_covered"] = modes["classes_covered"]
            out["kl_to_uniform"] = modes["kl_to_uniform"]
            out["class_histogram"] = modes["histogram"]
    return {"metrics": out, "protocol": protocol}
