"""Every metric gankit computes, registered once: its name, datasets, default n and protocol.

`gankit eval`, in-training evaluation (train.eval_every) and the benchmarks all go through
`evaluate`, and every list of metric names, every default set and every default sample count
is read from METRICS here, so the three can never drift apart.

A name can be registered for several datasets with different protocols ("modes" is the class
histogram on MNIST and the PacGAN mode count on the 2-D mixtures), so a metric is looked up by
(name, dataset). The compute functions live in gankit.metrics.compute and are imported on
first use: this module imports nothing heavy, so the CLI parser and the config can import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gankit.errors import GankitError


@dataclass(frozen=True)
class Metric:
    name: str  # as written in --metrics and train.eval_metrics
    datasets: tuple[str, ...]  # the data.dataset values it scores
    n: int  # default number of samples scored
    compute: str  # "module:function" taking (EvalInputs, **params), returning (metrics, protocol)
    outputs: tuple[str, ...]  # the keys it writes into result["metrics"]
    protocol: tuple[str, ...]  # the keys it may write into result["protocol"]
    params: Mapping[str, Any] = field(default_factory=dict)  # protocol constants given to compute
    default: bool = True  # in `gankit eval`'s default set for its datasets
    training_default: bool = True  # in train.eval_metrics' default set
    training: bool = True  # False: needs something a training config cannot give
    needs_data: bool = False  # True: needs the training set's description (the 2-D mixture)
    needs_net: str = ""  # scores this network of a run (Run.nets) instead of samples


_SEEDED = ("n", "seed")
_EXTRACTOR = (*_SEEDED, "extractor")
_REFERENCE = (*_EXTRACTOR, "reference_split", "n_reference")
_MNIST = ("mnist",)
_MNIST_N = 10_000  # the size of the MNIST test split, the reference set
_IMPL = "gankit.metrics.compute:"

# The order is the order in which results are computed and keys appear in the result.
METRICS: tuple[Metric, ...] = (
    # Goodfellow et al. (2014): sigma picked on the first 1,000 validation images (the authors'
    # parzen_ll.py limit_size), the full test split scored. Out of the training default: its
    # 10,000 x 10,000 distances cost more than all other MNIST metrics together.
    Metric("parzen", _MNIST, _MNIST_N, _IMPL + "parzen", ("parzen", "parzen_stderr"),
           (*_SEEDED, "parzen_sigma", "parzen_valid", "parzen_test", "parzen_n_test"),
           params={"valid_split": "valid", "valid_points": 1000, "test_split": "test"},
           training_default=False),
    Metric("fid", _MNIST, _MNIST_N, _IMPL + "fid", ("fid",), _REFERENCE),
    # Bińkowski et al. (2018): 100 subsets of 1,000, as in their code.
    Metric("kid", _MNIST, _MNIST_N, _IMPL + "kid", ("kid", "kid_std"),
           (*_REFERENCE, "kid_subset_size"), params={"subsets": 100, "subset_size": 1000},
           training_default=False),
    Metric("pr", _MNIST, _MNIST_N, _IMPL + "precision_recall", ("precision", "recall"),
           (*_REFERENCE, "pr_k"), params={"k": 3}),  # Kynkäänniemi et al. 2019
    Metric("dc", _MNIST, _MNIST_N, _IMPL + "density_coverage", ("density", "coverage"),
           (*_REFERENCE, "dc_k"), params={"k": 5}, training_default=False),  # Naeem et al. 2020
    Metric("is", _MNIST, _MNIST_N, _IMPL + "classifier_score", ("is", "is_std"), _EXTRACTOR,
           training_default=False),
    Metric("modes", _MNIST, _MNIST_N, _IMPL + "mnist_modes",
           ("classes_covered", "kl_to_uniform", "class_histogram"), _EXTRACTOR),
    # Standard FID needs the user's Inception weights (--inception-weights), which a training
    # config cannot name.
    Metric("fid-inception", _MNIST, _MNIST_N, _IMPL + "fid_inception", ("fid_inception",),
           ("fid_inception_extractor",), default=False, training_default=False, training=False),
    # PacGAN (Lin et al. 2018): 2,500 samples, each assigned to its nearest true mode.
    Metric("modes", ("ring", "grid"), 2_500, _IMPL + "modes2d",
           ("modes", "high_quality", "reverse_kl", "reverse_kl_hq", "n"),
           (*_SEEDED, "dataset", "modes_total", "std", "high_quality_within_stds",
            "high_quality_unit", "reference"),
           needs_data=True),
    # VEEGAN (Srivastava et al. 2017) and PacGAN: 26,000 samples, 1,000 three-digit codes.
    Metric("stacked-modes", ("stacked-mnist",), 26_000, _IMPL + "stacked_modes",
           ("modes_covered", "kl_to_uniform"),
           (*_SEEDED, "modes_total", "classifier", "extractor", "reference", "note")),
    # Salimans et al. (2016) §5: a semi-supervised D's K classes on the MNIST test split (the
    # first n images; all 10,000 by default). It scores the run's D, not samples.
    Metric("accuracy", _MNIST, _MNIST_N, _IMPL + "accuracy", ("accuracy", "test_error", "errors"),
           ("accuracy_split", "accuracy_n", "accuracy_net", "accuracy_unit", "test_error_unit"),
           params={"split": "test"}, default=False, training_default=False, training=False,
           needs_net="discriminator"),
)

DATASETS: tuple[str, ...] = tuple(dict.fromkeys(d for m in METRICS for d in m.datasets))


def metrics_for(dataset: str, training: bool = False) -> tuple[Metric, ...]:
    """The metrics that score `dataset` (during training: those a config can ask for)."""
    return tuple(m for m in METRICS if dataset in m.datasets and (m.training or not training))


def metric_names(dataset: str, training: bool = False) -> list[str]:
    return [m.name for m in metrics_for(dataset, training)]


def default_metrics(dataset: str, training: bool = False) -> list[str]:
    """What `gankit eval` (or, with training=True, train.eval_every) computes when not told."""
    _check_dataset(dataset)
    flag = "training_default" if training else "default"
    return [m.name for m in metrics_for(dataset, training) if getattr(m, flag)]


def training_metrics(names: Iterable[str], dataset: str) -> list[str]:
    """train.eval_metrics as given, or the dataset's training default set when it is empty."""
    return list(names) or default_metrics(dataset, training=True)


def default_n(dataset: str) -> int:
    """Samples scored by default: the n of the dataset's default metrics (they agree)."""
    _check_dataset(dataset)
    return max(m.n for m in metrics_for(dataset) if m.default)


def find(name: str, dataset: str) -> Metric:
    for metric in METRICS:
        if metric.name == name and dataset in metric.datasets:
            return metric
    raise GankitError(f"unknown metric {name!r} for {dataset}; choose from "
                      f"{', '.join(metric_names(dataset))}")


def check_metrics(names: str | Iterable[str], dataset: str, training: bool = False,
                  where: str = "") -> list[str]:
    """The names lower-cased, without repeats, after checking each applies to `dataset`.

    Raises one line naming the valid choices; `where` (e.g. "--metrics") prefixes it.
    """
    _check_dataset(dataset)
    prefix = f"{where}: " if where else ""
    valid = metric_names(dataset, training)
    names = [names] if isinstance(names, str) else list(names)
    names = list(dict.fromkeys(str(m).strip().lower() for m in names))
    if not names:
        raise GankitError(f"{prefix}no metric given; choose from {', '.join(valid)}")
    known = {m.name for m in METRICS}
    unknown = [m for m in names if m not in known]
    if unknown:
        raise GankitError(f"{prefix}unknown metric(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(valid)}")
    for name in names:
        if name not in valid:
            when = " during training" if training and name in metric_names(dataset) else ""
            raise GankitError(f"{prefix}{name!r} is not a metric for {dataset}{when}; choose "
                              f"from {', '.join(valid)}")
    return names


def needs_data(names: Iterable[str], dataset: str) -> bool:
    """Whether any of the metrics needs the training set's description (`data=` of evaluate)."""
    return any(find(name, dataset).needs_data for name in names)


def needs_samples(names: Iterable[str], dataset: str) -> bool:
    """Whether any of the metrics scores samples (the others score a run's network)."""
    return any(not find(name, dataset).needs_net for name in names)


def samples_dataset(names: Iterable[str] | None) -> str:
    """The dataset a bare samples file is scored as: the first dataset, among those scorable
    without training data, that the first name applies to (mnist when there is none)."""
    scorable = [d for d in DATASETS if not any(m.needs_data for m in metrics_for(d))]
    first = next(iter(names or []), "")
    first = str(first).strip().lower()
    return next((d for d in scorable if first in metric_names(d)), scorable[0])


# Metrics computed from one PRDC pass (compute.EvalInputs.prdc): asked for together, they share
# their distance matrices.
PRDC_FUNCTIONS = (":precision_recall", ":density_coverage")


def evaluate(samples: Any, names: str | Iterable[str], dataset: str = "mnist", *,
             n: int | None = None, seed: int = 0, data_dir: Any = None, classifier: Any = None,
             classifier_weights: Any = None, inception_weights: Any = None,
             data: Any = None, nets: Any = None) -> dict[str, dict[str, Any]]:
    """Score `samples` of `dataset` with the named metrics: {"metrics": ..., "protocol": ...}.

    n: samples scored (default: the dataset's protocol n, or all samples when fewer); seed: the
    subset and sampling seed; data_dir: the MNIST folder; classifier or classifier_weights: the
    MNIST feature classifier (default: gankit's cached one); inception_weights: for
    fid-inception; data: the training set's description, for metrics with needs_data (the 2-D
    mixture's means and std); nets: a run's networks (Run.nets), for metrics with needs_net
    (samples may then be None).
    """
    names = check_metrics(names, dataset)
    for name in names:
        net = find(name, dataset).needs_net
        if net and net not in (nets or {}):
            raise GankitError(f"metric {name} scores a run's {net}, not samples: give a run "
                              f"folder (gankit eval RUN --metrics {name})")
    if needs_data(names, dataset) and data is None:
        raise GankitError(f"metric(s) {', '.join(names)} on {dataset} need the training data "
                          "(its mode means and std); evaluate a run folder")
    if n is None:
        n = default_n(dataset) if samples is None else min(default_n(dataset), len(samples))
    from gankit.metrics.compute import EvalInputs

    inputs = EvalInputs(samples, dataset, n=n, seed=seed, data_dir=data_dir,
                        classifier=classifier, classifier_weights=classifier_weights,
                        inception_weights=inception_weights, data=data, nets=nets)
    inputs.prdc_ks = tuple(m.params["k"] for m in METRICS
                           if m.name in names and m.compute.endswith(PRDC_FUNCTIONS))
    metrics: dict[str, Any] = {}
    protocol: dict[str, Any] = {}
    for metric in METRICS:
        if metric.name in names and dataset in metric.datasets:
            values, used = compute_function(metric)(inputs, **metric.params)
            metrics.update(values)
            protocol.update(used)
    return {"metrics": metrics, "protocol": protocol}


def compute_function(metric: Metric) -> Callable[..., tuple[dict, dict]]:
    module, function = metric.compute.split(":")
    return getattr(importlib.import_module(module), function)


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise GankitError(f"no metrics for data.dataset {dataset}; gankit scores "
                          f"{', '.join(DATASETS)}")
