"""Protocol wiring: each test fails when a published protocol constant or split changes.

PR k=3 (Kynkäänniemi et al. 2019), DC k=5 (Naeem et al. 2020), Parzen's sigma chosen on the
first 1,000 validation images (Goodfellow et al. 2014), KID subsets drawn without replacement
(Bińkowski et al. 2018), PRDC's open balls; and the protocol fields recorded from what was
used. Small inputs with expectations computed here, independently of gankit's implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import gankit.metrics.compute as compute_module
from conftest import SHARED_MNIST
from gankit.data import load_mnist
from gankit.metrics import registry
from gankit.metrics.kid import kid_score, polynomial_mmd2
from gankit.metrics.parzen import parzen_evaluate, parzen_log_likelihood, select_sigma
from gankit.metrics.prdc import prdc

N = 50  # the smallest n evaluate accepts


class PixelFeatures(nn.Module):
    """A stand-in extractor: the features are the first two pixels, so points are placed by hand."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :2]


def _images(points: np.ndarray) -> torch.Tensor:
    images = torch.zeros(len(points), 1, 28, 28)
    images.view(len(points), -1)[:, :2] = torch.as_tensor(points, dtype=torch.float32)
    return images


def _splits(monkeypatch, **splits: torch.Tensor) -> None:
    monkeypatch.setattr(compute_module, "load_mnist",
                        lambda split, data_dir=None: (splits[split], None))


def _brute_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Precision, recall, density, coverage from the papers' definitions, pair by pair."""
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=2)  # real x fake
    real_r = np.sort(np.linalg.norm(real[:, None] - real[None], axis=2), axis=1)[:, k]
    fake_r = np.sort(np.linalg.norm(fake[:, None] - fake[None], axis=2), axis=1)[:, k]
    inside = d_rf < real_r[:, None]  # fake j inside real i's ball
    return {"precision": inside.any(axis=0).mean(),
            "recall": (d_rf < fake_r[None, :]).any(axis=1).mean(),
            "density": inside.sum() / (k * fake.shape[0]),
            "coverage": (d_rf.min(axis=1) < real_r).mean()}


def test_precision_recall_use_k3_and_density_coverage_k5(monkeypatch):
    # Two overlapping squares: both manifolds' edges matter, so precision and recall move with k.
    rng = np.random.default_rng(4)
    real = (0.7 * rng.random((N, 2))).astype(np.float32)
    fake = (0.3 + 0.7 * rng.random((N, 2))).astype(np.float32)
    by_k = {k: _brute_prdc(real.astype(np.float64), fake.astype(np.float64), k)
            for k in range(2, 8)}
    # With these points (seed 4) every k gives other values: a changed k cannot pass.
    for name in ("precision", "recall", "density", "coverage"):
        assert len({round(by_k[k][name], 9) for k in by_k}) == len(by_k), name
    _splits(monkeypatch, test=_images(real))
    result = registry.evaluate(_images(fake), ["pr", "dc"], "mnist", n=N,
                               classifier=PixelFeatures())
    m = result["metrics"]
    assert (m["precision"], m["recall"]) == pytest.approx(
        (by_k[3]["precision"], by_k[3]["recall"]), abs=1e-12)
    assert (m["density"], m["coverage"]) == pytest.approx(
        (by_k[5]["density"], by_k[5]["coverage"]), abs=1e-12)
    assert (result["protocol"]["pr_k"], result["protocol"]["dc_k"]) == (3, 5)


def test_prdc_balls_are_open():
    # Naeem et al.'s reference code counts a point inside a ball only when strictly closer than
    # the radius. On a 1-D lattice with k = 1 the real radii are 1, 1, 2, 3; the fake at 9 lies
    # exactly on the boundary of the ball around 6 and outside every other one.
    real = np.array([[0.0], [1.0], [3.0], [6.0]])
    fake = np.array([[9.0], [20.0]])
    result = prdc(real, fake, k=1)
    assert (result["precision"], result["density"], result["coverage"]) == (0.0, 0.0, 0.0)
    assert result["recall"] == 1.0  # the fake radii are 11: every real point is inside
    # Roles swapped, the boundary case moves to recall: 9 is 3 from the fake 6, whose radius is 3.
    swapped = prdc(fake, real, k=1)
    assert (swapped["recall"], swapped["precision"]) == (0.0, 1.0)


def test_registered_protocol_constants():
    assert registry.find("pr", "mnist").params == {"k": 3}
    assert registry.find("dc", "mnist").params == {"k": 5}
    assert registry.find("kid", "mnist").params == {"subsets": 100, "subset_size": 1000}
    assert registry.find("parzen", "mnist").params == {
        "valid_split": "valid", "valid_points": 1000, "test_split": "test"}


def _near_and_far(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Samples, validation images close to them (best sigma small) and test images far away
    (best sigma large), so choosing sigma on the wrong split changes it."""
    generator = torch.Generator().manual_seed(seed)
    samples = torch.rand(N, 1, 28, 28, generator=generator)
    valid = (samples[:30] + 0.01 * torch.randn(30, 1, 28, 28, generator=generator)).clamp(0, 1)
    test = torch.rand(40, 1, 28, 28, generator=generator)
    return samples, valid, test


def test_parzen_evaluate_chooses_sigma_on_valid_and_scores_test():
    samples, valid, test = _near_and_far()
    on_valid, valid_ll = select_sigma(samples, valid)
    on_test, _ = select_sigma(samples, test)
    assert on_valid != on_test  # the two splits disagree, so the test can tell them apart
    result = parzen_evaluate(samples, valid, test)
    assert result["sigma"] == on_valid
    np.testing.assert_array_equal(result["valid_mean_ll"], valid_ll)
    assert result["mean"] == pytest.approx(parzen_log_likelihood(samples, test, on_valid).mean())
    assert (result["n_valid"], result["n_test"]) == (30, 40)


def test_evaluate_picks_parzen_sigma_on_the_validation_split(monkeypatch):
    samples, valid, test = _near_and_far(1)
    assert select_sigma(samples, valid)[0] != select_sigma(samples, test[:1000])[0]
    _splits(monkeypatch, valid=valid, test=test)
    result = registry.evaluate(samples, ["parzen"], "mnist", n=N)
    sigma = select_sigma(samples, valid[:1000])[0]
    assert result["protocol"]["parzen_sigma"] == sigma
    assert result["metrics"]["parzen"] == pytest.approx(
        parzen_log_likelihood(samples, test, sigma).mean())
    # Recorded from what was loaded and counted: only 30 validation images exist here.
    assert result["protocol"]["parzen_valid"] == "valid[:30]"
    assert (result["protocol"]["parzen_test"], result["protocol"]["parzen_n_test"]) == ("test", 40)


def test_kid_subsets_are_drawn_without_replacement():
    # With subsets as large as both sets, each subset without replacement is a permutation of
    # the whole set, and the unbiased MMD^2 does not depend on the order: every subset gives the
    # full-set value. Drawn with replacement, repeated points make the subsets differ.
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((12, 3)), rng.standard_normal((12, 3)) + 0.5
    mean, std = kid_score(real, fake, n_subsets=20, subset_size=12, seed=0)
    assert mean == pytest.approx(polynomial_mmd2(real, fake), rel=1e-9)
    assert std < 1e-9 * abs(mean)


def test_evaluate_kid_records_the_subset_size_it_drew(monkeypatch):
    generator = torch.Generator().manual_seed(2)
    _splits(monkeypatch, test=torch.rand(60, 1, 28, 28, generator=generator))
    samples = torch.rand(N, 1, 28, 28, generator=generator)
    result = registry.evaluate(samples, ["kid"], "mnist", n=N, classifier=PixelFeatures())
    # 50 points a side: the 1,000-point subsets are clipped to 50, that is, the whole set.
    assert result["protocol"]["kid_subset_size"] == N
    assert result["metrics"]["kid_std"] < 1e-9 * abs(result["metrics"]["kid"])


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="shared MNIST not available")
def test_real_mnist_validation_split_and_what_parzen_uses(monkeypatch):
    full, _ = load_mnist("train-full", data_dir=SHARED_MNIST)
    valid, _ = load_mnist("valid", data_dir=SHARED_MNIST)
    assert len(full) == 60_000 and torch.equal(valid, full[50_000:60_000])
    seen = {}

    def spy(samples, valid, test, *args, **kwargs):
        seen.update(valid=valid, test=test)
        return parzen_evaluate(samples, valid, test, *args, **kwargs)

    monkeypatch.setattr(compute_module, "parzen_evaluate", spy)
    result = registry.evaluate(full[:N], ["parzen"], "mnist", n=N, data_dir=SHARED_MNIST)
    assert torch.equal(seen["valid"], full[50_000:51_000])
    test, _ = load_mnist("test", data_dir=SHARED_MNIST)
    assert torch.equal(seen["test"], test)
    protocol = result["protocol"]
    assert protocol["parzen_valid"] == "valid[:1000]" and protocol["parzen_n_test"] == 10_000


def test_prdc_keeps_its_precision_far_from_the_origin():
    # Features offset by 3000 in every coordinate: in float32, ||a||^2 + ||b||^2 - 2 a.b then
    # cancels to noise unless the features are centred first. The offset must change nothing.
    rng = np.random.default_rng(7)
    real = rng.normal(size=(300, 16)).astype(np.float32)
    fake = (0.3 + rng.normal(size=(300, 16))).astype(np.float32)
    expected = _brute_prdc(real.astype(np.float64), fake.astype(np.float64), 3)
    got = prdc(real + 3000.0, fake + 3000.0, k=3)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=2 / 300), name


def test_pr_and_dc_share_one_pass_over_the_distances(monkeypatch):
    from gankit.metrics import prdc as prdc_module

    rng = np.random.default_rng(4)
    real = (0.7 * rng.random((N, 2))).astype(np.float32)
    fake = (0.3 + 0.7 * rng.random((N, 2))).astype(np.float32)
    _splits(monkeypatch, test=_images(real))
    passes = []
    original = prdc_module._neighbour_sq_distances
    monkeypatch.setattr(prdc_module, "_neighbour_sq_distances",
                        lambda f, k, chunk: passes.append(k) or original(f, k, chunk))
    together = registry.evaluate(_images(fake), ["pr", "dc"], "mnist", n=N,
                                 classifier=PixelFeatures())["metrics"]
    assert passes == [5, 5]  # the real and the fake self-distances, once each, up to k = 5
    alone = {**registry.evaluate(_images(fake), ["pr"], "mnist", n=N,
                                 classifier=PixelFeatures())["metrics"],
             **registry.evaluate(_images(fake), ["dc"], "mnist", n=N,
                                 classifier=PixelFeatures())["metrics"]}
    assert together == alone
