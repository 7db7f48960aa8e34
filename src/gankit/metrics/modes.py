"""Mode coverage from classifier predictions: MNIST classes, Stacked-MNIST codes, and the
Inception-Score formula applied to a classifier's softmax.

KL(p_hat || uniform) needs no epsilon: empty bins contribute 0 * log 0 = 0, so a generator
that collapses onto one class scores the finite log K.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gankit.errors import GankitError


def _as_labels(pred_labels: np.ndarray | torch.Tensor, n_classes: int) -> np.ndarray:
    if isinstance(pred_labels, torch.Tensor):
        pred_labels = pred_labels.detach().cpu().numpy()
    labels = np.asarray(pred_labels)
    if labels.ndim != 1 or len(labels) == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise GankitError(f"expected a non-empty 1-D array of integer labels, got "
                          f"{labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise GankitError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}.."
                          f"{labels.max()}")
    return labels


def kl_to_uniform(histogram: np.ndarray) -> float:
    """KL(p || uniform) in nats for a histogram p over K bins (counts or probabilities)."""
    p = np.asarray(histogram, dtype=np.float64)
    p = p / p.sum()
    occupied = p > 0
    # max(.., 0) clips -1e-17 rounding noise at a perfectly flat histogram.
    return max(float(np.sum(p[occupied] * np.log(p[occupied] * len(p)))), 0.0)


def mnist_modes(pred_labels: np.ndarray | torch.Tensor, n_classes: int = 10) -> dict:
    """Classes predicted at least once, KL(p_hat || uniform), and the class histogram (counts)."""
    labels = _as_labels(pred_labels, n_classes)
    histogram = np.bincount(labels, minlength=n_classes)
    return {
        "classes_covered": int((histogram > 0).sum()),
        "kl_to_uniform": kl_to_uniform(histogram),
        "histogram": [int(c) for c in histogram],
    }


def stacked_modes(codes: np.ndarray | torch.Tensor, n_modes: int = 1000) -> dict:
    """Stacked-MNIST modes (3-digit codes 0..999) hit at least once, and KL(p_hat || uniform)."""
    labels = _as_labels(codes, n_modes)
    histogram = np.bincount(labels, minlength=n_modes)
    return {"modes_covered": int((histogram > 0).sum()), "kl_to_uniform": kl_to_uniform(histogram)}


def classifier_score(probs: np.ndarray | torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) over `splits` equal parts: mean and std (Salimans et al. 2016).

    The Inception Score formula, here with gankit's MNIST classifier in place of Inception, so
    values range from 1 to 10 and are not comparable to published Inception Scores.
    """
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise GankitError(f"classifier_score needs an N x K probability matrix with N >= splits "
                          f"({splits}), got shape {p.shape}")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4) or (p < 0).any():
        raise GankitError("classifier_score needs probabilities (rows summing to 1); apply "
                          "softmax to the logits first")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0)
        # xlogy-style guard: 0 * log 0 = 0 for classes with zero probability.
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
