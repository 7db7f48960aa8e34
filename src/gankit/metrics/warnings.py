"""One-line warnings for metric results whose numbers each look fine but together mean trouble.

A fully collapsed generator scores precision 1.0 (every sample sits on the data) beside recall
0.0 (it covers none of it); read alone, the precision looks perfect. These checks say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Precision/recall "tell opposite stories" when one is >= HIGH and the other <= LOW. Real MNIST
# against itself scores about 0.88 / 0.88 (docs/results/classifier.md) and the paper's MLP GAN
# 0.75 / 0.19 (docs/results/dcgan.md), so 0.8 / 0.2 flags collapse-like splits, not weak models.
PR_HIGH = 0.8
PR_LOW = 0.2
# MNIST's 10 classes hold about 10 % each; one class above half the samples is mode collapse.
DOMINANT_CLASS_SHARE = 0.5


def metric_warnings(metrics: Mapping[str, Any]) -> list[str]:
    """Warnings (one line each, no prefix) about `metrics` as `evaluate_samples` returns them.

    Looks at `precision`/`recall` and at `class_histogram` (counts per predicted class, from the
    modes metric); absent keys are skipped, so any subset of metrics can be passed.
    """
    found = []
    precision, recall = metrics.get("precision"), metrics.get("recall")
    if precision is not None and recall is not None:
        if precision >= PR_HIGH and recall <= PR_LOW:
            found.append(f"precision {precision:.2f} but recall {recall:.2f}: the samples look "
                         "real but cover little of the data (mode collapse?); do not read "
                         "precision alone")
        elif recall >= PR_HIGH and precision <= PR_LOW:
            found.append(f"recall {recall:.2f} but precision {precision:.2f}: the samples spread "
                         "over the data but few look real; do not read recall alone")
    histogram = metrics.get("class_histogram")
    if histogram:
        total = sum(histogram)
        top = max(range(len(histogram)), key=lambda c: histogram[c])
        share = histogram[top] / total if total else 0.0
        if share > DOMINANT_CLASS_SHARE:
            found.append(f"class {top} takes {100 * share:.0f} % of the samples (a balanced "
                         f"generator gives each of the {len(histogram)} classes about "
                         f"{100 / len(histogram):.0f} %): mode collapse")
    return found
