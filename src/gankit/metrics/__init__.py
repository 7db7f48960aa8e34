"""Sample-quality metrics: Parzen log-likelihood, Fréchet distance, KID, PRDC, mode coverage.

`gankit.metrics.registry.evaluate` runs any of them under one recorded protocol. The names
below are imported on first use, so `import gankit.metrics.registry` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "METRICS": "evaluate",
    "MnistClassifier": "classifier",
    "classifier_score": "modes",
    "clear_feature_cache": "features",
    "evaluate": "registry",
    "evaluate_samples": "evaluate",
    "extract_features": "features",
    "feature_stats": "frechet",
    "frechet_distance": "frechet",
    "kid_score": "kid",
    "load_inception": "inception",
    "load_mnist_classifier": "classifier",
    "mnist_modes": "modes",
    "parzen_evaluate": "parzen",
    "parzen_log_likelihood": "parzen",
    "prdc": "prdc",
    "select_sigma": "parzen",
    "stacked_modes": "modes",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gankit.metrics' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gankit.metrics.{_WHERE[name]}"), name)
