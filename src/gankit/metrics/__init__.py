"""Sample-quality metrics: Parzen log-likelihood, Fréchet distance, KID, PRDC, mode coverage.

`evaluate_samples` runs any of them on MNIST-shaped samples under one recorded protocol.
"""

from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.evaluate import METRICS, evaluate_samples
from gankit.metrics.features import clear_feature_cache, extract_features
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.metrics.inception import load_inception
from gankit.metrics.kid import kid_score
from gankit.metrics.modes import classifier_score, mnist_modes, stacked_modes
from gankit.metrics.parzen import parzen_evaluate, parzen_log_likelihood, select_sigma
from gankit.metrics.prdc import prdc

__all__ = [
    "METRICS",
    "MnistClassifier",
    "classifier_score",
    "clear_feature_cache",
    "evaluate_samples",
    "extract_features",
    "feature_stats",
    "frechet_distance",
    "kid_score",
    "load_inception",
    "load_mnist_classifier",
    "mnist_modes",
    "parzen_evaluate",
    "parzen_log_likelihood",
    "prdc",
    "select_sigma",
    "stacked_modes",
]
