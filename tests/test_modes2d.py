"""The VEEGAN / PacGAN 2-D mode metrics on true-mixture, collapsed and far-away samples."""

import math

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.modes2d import mode_metrics, nearest_mode

RING_STD = 0.01
GRID_STD = 0.05


def ring_means(k: int = 8) -> np.ndarray:
    # Ring protocol: K modes at angles 2*pi*i/K on the unit circle (Srivastava et al. 2017).
    angles = 2.0 * math.pi * np.arange(k) / k
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_means() -> np.ndarray:
    # Grid protocol: 25 modes at (2i - 4, 2j - 4), i, j in 0..4.
    i, j = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    return np.stack([2.0 * i.ravel() - 4.0, 2.0 * j.ravel() - 4.0], axis=1)


def sample_mixture(means: np.ndarray, std: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    which = rng.integers(len(means), size=n)
    return means[which] + std * rng.standard_normal((n, 2))


@pytest.mark.parametrize(
    "means,std", [(ring_means(), RING_STD), (grid_means(), GRID_STD)], ids=["ring", "grid"]
)
def test_true_mixture_samples_score_well(means, std):
    k = len(means)
    samples = sample_mixture(means, std, 2500, seed=0)
    m = mode_metrics(samples, means, std)
    assert m["n"] == 2500
    assert m["modes"] == k
    # P(|N(0, I_2)| <= 3) = 1 - exp(-4.5) = 98.9 %; 2,500 draws put it within about +-0.7 %.
    assert 97.0 < m["high_quality"] < 100.0
    # A multinomial histogram of n draws over K bins has E[KL] ~ (K - 1) / (2n): 0.0014 / 0.0048.
    assert 0.0 < m["reverse_kl"] < 4 * (k - 1) / (2 * 2500)


@pytest.mark.parametrize("means,std", [(ring_means(), RING_STD), (grid_means(), GRID_STD)])
def test_collapsed_samples_find_one_mode_and_kl_log_k(means, std):
    samples = sample_mixture(means[3:4], std, 500, seed=1)
    m = mode_metrics(samples, means, std)
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(len(means)), abs=1e-12)
    assert m["high_quality"] > 95.0


def test_half_the_modes_evenly_gives_kl_log_2():
    means = ring_means(8)
    samples = np.repeat(means[::2], 25, axis=0)  # modes 0, 2, 4, 6, 25 points each
    m = mode_metrics(samples, means, RING_STD)
    assert m == {"modes": 4, "high_quality": 100.0, "reverse_kl": pytest.approx(math.log(2.0)),
                 "reverse_kl_hq": pytest.approx(math.log(2.0)), "n": 100}


def test_far_away_samples_are_not_high_quality():
    means = grid_means()
    samples = np.full((200, 2), 100.0) + np.random.default_rng(2).standard_normal((200, 2))
    m = mode_metrics(samples, means, GRID_STD)
    assert m["high_quality"] == 0.0
    assert m["modes"] == 0  # no high-quality sample, so no mode counts as captured
    # Every sample is still assigned to its nearest mode (the (4, 4) corner) for the histogram.
    assert m["reverse_kl"] == pytest.approx(math.log(25.0))


def test_high_quality_threshold_is_three_std():
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[2.9 * 0.1, 0.0], [0.0, -3.1 * 0.1], [10.0, 0.29]])
    index, distance = nearest_mode(samples, means)
    np.testing.assert_array_equal(index, [0, 0, 1])
    np.testing.assert_allclose(distance, [0.29, 0.31, 0.29])
    m = mode_metrics(samples, means, 0.1)
    assert m["high_quality"] == pytest.approx(200.0 / 3.0)
    assert m["modes"] == 2


def test_samples_in_between_modes_are_low_quality_but_still_binned():
    means = ring_means(8)
    midpoints = 0.5 * (means + np.roll(means, -1, axis=0))  # between neighbouring ring modes
    m = mode_metrics(midpoints, means, RING_STD)
    assert m["high_quality"] == 0.0 and m["modes"] == 0
    assert m["reverse_kl"] < math.log(8.0)  # spread over several bins, not collapsed


def test_accepts_torch_tensors_with_grad():
    means = ring_means(8)
    samples = torch.tensor(sample_mixture(means, RING_STD, 400, seed=3), requires_grad=True)
    assert mode_metrics(samples, torch.tensor(means), RING_STD)["modes"] == 8


@pytest.mark.parametrize(
    "samples,means,std,match",
    [
        (np.zeros((5, 3)), ring_means(), 0.01, "N x 2"),
        (np.zeros((0, 2)), ring_means(), 0.01, "N x 2"),
        (np.zeros((5, 2)), np.zeros(2), 0.01, "K x 2"),
        (np.full((5, 2), np.nan), ring_means(), 0.01, "finite"),
        (np.zeros((5, 2)), ring_means(), 0.0, "positive finite std"),
        (np.zeros((5, 2)), ring_means(), "wide", "positive finite std"),
    ],
)
def test_bad_input_raises_gankit_error(samples, means, std, match):
    with pytest.raises(GankitError, match=match):
        mode_metrics(samples, means, std)


def test_pacgan_reverse_kl_bins_only_the_high_quality_samples():
    # 8 ring modes, 10 high-quality samples on each, plus 80 off-mode samples that all fall
    # nearest mode 0: over all samples the histogram is lopsided, over the high-quality ones it
    # is uniform. The two definitions must come apart here.
    means = ring_means(8)
    on_modes = np.repeat(means, 10, axis=0)
    off_mode = np.repeat(means[:1] * 1.5, 80, axis=0)  # far outside 3 std of mode 0
    m = mode_metrics(np.concatenate([on_modes, off_mode]), means, RING_STD)
    assert m["high_quality"] == pytest.approx(50.0)
    assert m["reverse_kl_hq"] == pytest.approx(0.0, abs=1e-12)
    p = np.array([90] + [10] * 7) / 160  # all samples' histogram
    assert m["reverse_kl"] == pytest.approx(float(np.sum(p * np.log(p * 8))))
    far = mode_metrics(np.full((5, 2), 50.0), means, RING_STD)  # none high quality
    assert far["reverse_kl_hq"] == pytest.approx(math.log(8.0))
