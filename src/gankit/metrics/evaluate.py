"""Score MNIST-shaped samples with any of gankit's metrics under one recorded protocol.

Reference set: the MNIST test split (10,000 images; a seeded subset when n is smaller), so
generated and real sets have equal size. Parzen follows Goodfellow et al. (2014): the samples
are the kernel centres, sigma is chosen on the first 1,000 validation images, and the full
test split is scored. The feature metrics use gankit's own MNIST classifier (128-D features),
so their values are comparable across gankit runs but not to Inception-based numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.metrics.registry import default_metrics, evaluate, find
from gankit.metrics.samples import MIN_SAMPLES, check_mnist_samples

__all__ = ["METRICS", "MIN_SAMPLES", "PARZEN_VALID_POINTS", "check_mnist_samples",
           "evaluate_samples"]
# The authors' parzen_ll.py default (limit_size), as the registry's Parzen protocol holds it.
PARZEN_VALID_POINTS = find("parzen", "mnist").params["valid_points"]

METRICS = tuple(default_metrics("mnist"))  # the classifier-feature metrics and Parzen


def evaluate_samples(samples: torch.Tensor | np.ndarray, metrics: list[str],
                     data_dir: str | Path | None = None, classifier: Any = None,
                     n: int = 10000, seed: int = 0) -> dict:
    """Compute the requested MNIST metrics on N x 1 x 28 x 28 samples in [0, 1].

    Returns {"metrics": {name: value}, "protocol": {...}}; the protocol records n, the
    reference split and its size, the feature extractor, the Parzen sigma and the seed.
    The same as gankit.metrics.registry.evaluate(samples, metrics, "mnist", ...).
    """
    return evaluate(samples, metrics, "mnist", n=n, seed=seed, data_dir=data_dir,
                    classifier=classifier)
