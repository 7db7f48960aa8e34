"""Stacked MNIST mode coverage (Metz et al. 2017; VEEGAN and PacGAN's 1,000-mode protocol).

Each sample is three 28 x 28 channels; gankit's MNIST classifier reads one digit per channel, the
triple is a code 0..999 (100 d0 + 10 d1 + d2), and the score is the number of codes hit at least
once among 26,000 samples and KL(code histogram || uniform over 1,000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gankit.data.stacked import STACKED_SAMPLES, stacked_code
from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.features import extractor_name
from gankit.metrics.modes import stacked_modes
from gankit.metrics.samples import check_mnist_samples

STACKED_MODES = 1000  # three digits per sample: codes 0..999


@torch.no_grad()
def classify_digits(classifier: MnistClassifier, images: torch.Tensor,
                    batch: int = 1000) -> torch.Tensor:
    """The classifier's digit for each N x 1 x 28 x 28 image (eval mode, batched)."""
    classifier.eval()
    return torch.cat([classifier(images[i:i + batch]).argmax(1)
                      for i in range(0, len(images), batch)])


def stacked_mode_metrics(samples: torch.Tensor, classifier: MnistClassifier) -> dict:
    """Modes covered and KL to uniform of N x 3 x 28 x 28 samples in [0, 1]."""
    digits = [classify_digits(classifier, samples[:, c:c + 1].contiguous()) for c in range(3)]
    return stacked_modes(stacked_code(*digits), n_modes=STACKED_MODES)


def evaluate_stacked(samples: torch.Tensor | np.ndarray, data_dir: str | Path | None = None,
                     seed: int = 0, classifier_weights: str | Path | None = None,
                     n: int | None = None, classifier: MnistClassifier | None = None) -> dict:
    """`gankit eval --metrics stacked-modes`: {"metrics": ..., "protocol": ...}.

    The classifier is `classifier` when given, else loaded from `classifier_weights` (default:
    gankit's cached one).
    """
    n = len(samples) if n is None else n
    images = check_mnist_samples(samples, n, channels=3)[:n]
    if classifier is None:
        classifier = load_mnist_classifier(classifier_weights, data_dir=data_dir)
    metrics = stacked_mode_metrics(images, classifier)
    protocol = {"n": len(images), "seed": seed, "modes_total": STACKED_MODES,
                "classifier": "gankit MNIST classifier, one digit per channel",
                "extractor": extractor_name(classifier),
                "reference": "Stacked MNIST (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. "
                             f"2018): {STACKED_SAMPLES:,} samples"}
    if len(images) != STACKED_SAMPLES:
        protocol["note"] = f"the published protocol uses {STACKED_SAMPLES} samples"
    return {"metrics": metrics, "protocol": protocol}
