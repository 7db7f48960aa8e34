"""metric_warnings: collapse-like precision/recall splits and a dominant class, and the
`gankit eval` lines that report them on stderr."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SHARED_MNIST
from gankit.cli import main
from gankit.metrics.warnings import metric_warnings

HEALTHY = {"fid": 2.0, "precision": 0.76, "recall": 0.68,
           "class_histogram": [1000, 1100, 990, 1010, 980, 900, 990, 1040, 970, 1020]}
COLLAPSED = {"fid": 310.0, "precision": 1.0, "recall": 0.0, "classes_covered": 1,
             "class_histogram": [0, 10000, 0, 0, 0, 0, 0, 0, 0, 0]}


def test_healthy_metrics_give_no_warning():
    assert metric_warnings(HEALTHY) == []
    assert metric_warnings({}) == []  # e.g. only parzen was computed
    assert metric_warnings({"precision": 0.75, "recall": 0.19}) == []  # weak, not collapsed


def test_collapsed_generator_warns_about_precision_and_the_dominant_class():
    found = metric_warnings(COLLAPSED)
    assert len(found) == 2
    assert "precision 1.00 but recall 0.00" in found[0]
    assert "class 1 takes 100 % of the samples" in found[1]
    assert all("\n" not in line for line in found)


def test_each_check_alone():
    assert "recall 0.95 but precision 0.05" in metric_warnings({"precision": 0.05,
                                                               "recall": 0.95})[0]
    assert metric_warnings({"precision": 0.8, "recall": 0.2}) != []  # thresholds are inclusive
    assert metric_warnings({"class_histogram": [50, 50]}) == []  # exactly half is not "most"
    assert "class 0 takes 51 %" in metric_warnings({"class_histogram": [51, 49]})[0]
    assert metric_warnings({"class_histogram": [0, 0, 0]}) == []


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="real MNIST files not present")
def test_cli_eval_warns_on_stderr_and_keeps_json_stdout_clean(tmp_path, capsys):
    from gankit.data import load_mnist

    images, _ = load_mnist("test", data_dir=SHARED_MNIST)
    collapsed = np.repeat(images[:1].numpy(), 100, axis=0)  # one digit, a hundred times
    np.save(tmp_path / "collapsed.npy", collapsed)
    assert main(["eval", "--samples", str(tmp_path / "collapsed.npy"), "--metrics", "pr,modes",
                 "--n", "100", "--data-dir", str(SHARED_MNIST), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # stdout is exactly one JSON object
    assert result["metrics"]["recall"] <= 0.2
    warnings = [line for line in captured.err.splitlines() if line.startswith("gankit: warning:")]
    assert len(warnings) == 2
    assert "but recall" in warnings[0] and "takes 100 % of the samples" in warnings[1]
