"""benchmarks/infogan_mnist.py: how the categories are scored as a digit classifier."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from conftest import REPO
from gankit.nets.mlp import MLPGenerator

sys.path.insert(0, str(REPO / "benchmarks"))
bench = pytest.importorskip("infogan_mnist")


def test_a_permutation_of_the_classes_is_a_perfect_code():
    counts = np.eye(10, dtype=np.int64)[np.random.default_rng(0).permutation(10)] * 100
    s = bench.code_scores(counts)
    assert (s["matched_accuracy"], s["purity"], s["classes_covered"]) == (1.0, 1.0, 10)


def test_matching_is_one_to_one_where_purity_is_not():
    """Two categories that both make 1s: purity counts both as right, the one-to-one matching
    only one of them (the InfoGAN paper's reading of the code as a classifier)."""
    counts = np.eye(10, dtype=np.int64) * 100
    counts[2] = 0
    counts[2, 1] = 100  # category 2 makes 1s as category 1 does; no category makes 2s
    s = bench.code_scores(counts)
    assert s["purity"] == 1.0 and s["classes_covered"] == 9
    assert s["matched_accuracy"] == pytest.approx(0.9)


def test_category_z_sets_only_the_code():
    G = MLPGenerator(z_dim=3, out_shape=(4,), hidden=[8], z_categories=5)
    z = bench.category_z(G, 3, 6, torch.Generator().manual_seed(0))
    ref = G.sample_z(6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z[:, :3], ref[:, :3])
    assert torch.equal(z[:, 3:], torch.eye(5)[[3] * 6])


def test_the_doc_is_rendered_from_its_saved_results():
    import json

    saved = json.loads(bench.RESULTS.read_text())
    assert bench.OUT.read_text() == bench.render(saved)
    for row in saved["rows"]:  # the scores are those of the saved confusion counts
        scores = bench.code_scores(np.array(row["confusion"]))
        assert scores["matched_accuracy"] == row["matched_accuracy"]
        assert (bench.OUT.parent / row["picture"]).exists()
