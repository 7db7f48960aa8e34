"""The metric registry: one source for names, datasets, defaults and result keys."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import gankit.metrics.compute as compute_module
from conftest import REPO
from gankit.errors import GankitError
from gankit.metrics import registry
from gankit.metrics.classifier import MnistClassifier


def test_defaults_per_dataset():
    assert registry.DATASETS == ("mnist", "ring", "grid", "stacked-mnist")
    assert registry.default_metrics("mnist") == ["parzen", "fid", "kid", "pr", "dc", "is", "modes"]
    assert registry.default_metrics("mnist", training=True) == ["fid", "pr", "modes"]
    assert registry.default_metrics("ring") == registry.default_metrics("grid") == ["modes"]
    assert registry.default_metrics("stacked-mnist", training=True) == ["stacked-modes"]
    assert [registry.default_n(d) for d in registry.DATASETS] == [10_000, 2_500, 2_500, 26_000]
    assert "fid-inception" in registry.metric_names("mnist")
    assert "fid-inception" not in registry.metric_names("mnist", training=True)


def test_each_dataset_scores_its_default_metrics_with_one_n():
    # default_n is read from the default metrics, so they must agree on it.
    for dataset in registry.DATASETS:
        assert len({m.n for m in registry.metrics_for(dataset) if m.default}) == 1, dataset


def test_every_entry_names_an_existing_compute_function():
    for metric in registry.METRICS:
        assert callable(registry.compute_function(metric)), metric.compute
    # A (name, dataset) pair is registered once.
    pairs = [(m.name, d) for m in registry.METRICS for d in m.datasets]
    assert len(pairs) == len(set(pairs))


def test_registry_imports_nothing_heavy():
    # The config and the CLI parser import the registry: it must not pull in torch-heavy
    # modules, metric implementations, gankit.config or gankit.train (import circles).
    tree = ast.parse((REPO / "src/gankit/metrics/registry.py").read_text())
    top = {node.module if isinstance(node, ast.ImportFrom) else alias.name
           for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
           for alias in node.names}
    assert top <= {"__future__", "importlib", "collections.abc", "dataclasses", "typing",
                   "gankit.errors"}, top
    code = ("import json, sys, gankit.metrics.registry; print(json.dumps(sorted("
            "m for m in sys.modules if m.startswith('gankit.metrics') or m == 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == ["gankit.metrics", "gankit.metrics.registry"]


@pytest.mark.parametrize("names, dataset, training, message", [
    (["fid", "fdi"], "mnist", False, "unknown metric(s) fdi; choose from parzen, fid,"),
    (["fid"], "ring", False, "'fid' is not a metric for ring; choose from modes"),
    (["stacked-modes"], "mnist", False, "'stacked-modes' is not a metric for mnist; choose"),
    (["fid-inception"], "mnist", True, "'fid-inception' is not a metric for mnist during "
                                       "training; choose from parzen"),
    ([], "grid", False, "no metric given; choose from modes"),
    (["modes"], "gauss1d", False, "no metrics for data.dataset gauss1d"),
])
def test_check_metrics_errors_are_one_line_naming_the_choices(names, dataset, training, message):
    with pytest.raises(GankitError) as info:
        registry.check_metrics(names, dataset, training=training, where="--metrics")
    text = str(info.value)
    assert "\n" not in text and message in text


def test_check_metrics_normalises_and_drops_repeats():
    assert registry.check_metrics([" FID", "pr", "fid"], "mnist") == ["fid", "pr"]
    assert registry.check_metrics("modes", "ring") == ["modes"]


def test_a_samples_file_is_scored_as_the_dataset_of_its_first_metric():
    assert registry.samples_dataset(None) == "mnist"
    assert registry.samples_dataset(["modes", "fid"]) == "mnist"
    assert registry.samples_dataset(["stacked-modes"]) == "stacked-mnist"


@pytest.fixture
def mnist_splits(monkeypatch):
    generator = torch.Generator().manual_seed(0)
    splits = {name: torch.rand(n, 1, 28, 28, generator=generator)
              for name, n in (("valid", 30), ("test", 80))}
    monkeypatch.setattr(compute_module, "load_mnist",
                        lambda split, data_dir=None: (splits[split], None))
    return splits


def _mixture():
    means = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    return SimpleNamespace(means=means, std=0.05)


def _case(metric: registry.Metric, dataset: str):
    """Samples and settings for scoring `metric` on `dataset` at a small n."""
    if dataset == "stacked-mnist":
        return torch.rand(60, 3, 28, 28), {"classifier": MnistClassifier()}
    if dataset in ("ring", "grid"):
        return _mixture().means.repeat(15, 1) + 0.01, {"data": _mixture()}
    if metric.name == "fid-inception" or metric.needs_net:
        return None, {}  # Inception weights / a run's network: their own tests cover them
    return torch.rand(60, 1, 28, 28), {"classifier": MnistClassifier()}


def test_each_metric_writes_exactly_its_registered_keys(mnist_splits):
    for metric in registry.METRICS:
        dataset = metric.datasets[0]
        samples, extra = _case(metric, dataset)
        if samples is None:
            continue  # tests/test_metrics.py covers fid-inception, tests/test_semi.py accuracy
        result = registry.evaluate(samples, [metric.name], dataset, n=60, seed=1, **extra)
        assert tuple(result["metrics"]) == metric.outputs, metric.name
        assert set(result["protocol"]) <= set(metric.protocol), metric.name
        assert result["protocol"]["n"] == 60 and result["protocol"]["seed"] == 1, metric.name


def test_two_d_metrics_need_the_training_data():
    with pytest.raises(GankitError, match="need the training data"):
        registry.evaluate(torch.zeros(60, 2), ["modes"], "ring")


def test_cli_scores_a_samples_file_with_the_registry_defaults(tmp_path, mnist_splits, capsys):
    from gankit.cli import main

    weights = tmp_path / "classifier.pt"
    torch.manual_seed(0)
    torch.save(MnistClassifier().state_dict(), weights)
    samples = tmp_path / "samples.npy"
    np.save(samples, torch.rand(70, 1, 28, 28).numpy())
    argv = ["eval", "--samples", str(samples), "--classifier-weights", str(weights), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["protocol"]["n"] == 70  # all 70 samples: fewer than the protocol's 10,000
    assert list(result["metrics"])[:4] == ["parzen", "parzen_stderr", "fid", "kid"]
    assert main([*argv, "--metrics", "stacked-modes,fid"]) == 2
    err = capsys.readouterr().err
    assert "'fid' is not a metric for stacked-mnist; choose from stacked-modes" in err


def test_the_stacked_protocol_size_is_one_number():
    # The registry holds its default n as a literal (it imports no implementation); the data
    # module's constant, which the Stacked MNIST report and metric use, must agree with it.
    from gankit.data.stacked import STACKED_SAMPLES
    from gankit.metrics.registry import default_n

    assert default_n("stacked-mnist") == STACKED_SAMPLES == 26_000
