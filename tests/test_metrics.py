"""Metrics against brute force, closed forms and the reference prdc package."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from torch import nn

import gankit.metrics.compute as compute_module
from gankit.errors import GankitError
from gankit.metrics.classifier import MnistClassifier
from gankit.metrics.evaluate import METRICS, evaluate_samples
from gankit.metrics.features import clear_feature_cache, extract_features
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.metrics.inception import load_inception
from gankit.metrics.kid import kid_score, polynomial_mmd2
from gankit.metrics.modes import classifier_score, kl_to_uniform, mnist_modes, stacked_modes
from gankit.metrics.parzen import _kernel_sums, parzen_evaluate, parzen_log_likelihood, select_sigma
from gankit.metrics.prdc import kth_neighbour_distances, prdc

# ---------------------------------------------------------------- Parzen


def _brute_force_parzen(centres: np.ndarray, points: np.ndarray, sigma: float) -> list[float]:
    """Each point's log-density under the equal mixture of N(mu, sigma^2 I), by scipy."""
    cov = sigma**2 * np.eye(centres.shape[1])
    return [logsumexp([multivariate_normal(mu, cov).logpdf(x) for mu in centres])
            - math.log(len(centres)) for x in points]


def test_parzen_matches_brute_force_mixture_of_gaussians():
    rng = np.random.default_rng(0)
    centres, points, sigma = rng.random((7, 3)), rng.random((5, 3)), 0.3
    got = parzen_log_likelihood(centres, points, sigma)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _brute_force_parzen(centres, points, sigma), rtol=1e-10)


def test_parzen_single_centre_matches_closed_form_mean():
    # One centre mu0, points x ~ N(mu, s^2 I) in D dims:
    # E log p(x) = -(||mu - mu0||^2 + D s^2) / (2 sigma^2) - D/2 log(2 pi sigma^2).
    rng = np.random.default_rng(1)
    dim, s, sigma = 6, 0.2, 0.3
    mu0, mu = np.full(dim, 0.5), np.full(dim, 0.6)
    points = mu + s * rng.standard_normal((20000, dim))
    ll = parzen_log_likelihood(mu0[None, :], points, sigma)
    expected = (-(np.sum((mu - mu0) ** 2) + dim * s**2) / (2 * sigma**2)
                - dim / 2 * math.log(2 * math.pi * sigma**2))
    assert abs(ll.mean() - expected) < 4 * ll.std() / math.sqrt(len(ll))


def test_select_sigma_finds_the_true_width():
    # For one centre at the data mean, the mean log-likelihood peaks at sigma = s.
    rng = np.random.default_rng(2)
    s = 0.2
    points = s * rng.standard_normal((5000, 8))
    sigmas = np.array([0.05, 0.1, 0.2, 0.4, 0.8])
    best, mean_ll = select_sigma(np.zeros((1, 8)), points, sigmas)
    assert best == 0.2
    assert mean_ll.shape == (5,) and np.argmax(mean_ll) == 2


def test_parzen_batch_size_and_input_type_do_not_change_results():
    rng = np.random.default_rng(3)
    samples = rng.random((50, 1, 4, 4)).astype(np.float32)
    points = rng.random((23, 16))
    a = parzen_log_likelihood(samples, points, 0.2, batch_size=1000)
    b = parzen_log_likelihood(torch.from_numpy(samples), torch.from_numpy(points), 0.2,
                              batch_size=4)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_parzen_evaluate_reports_test_mean_and_stderr_at_selected_sigma():
    rng = np.random.default_rng(4)
    samples, valid, test = rng.random((40, 10)), rng.random((15, 10)), rng.random((30, 10))
    result = parzen_evaluate(samples, valid, test)
    ll = parzen_log_likelihood(samples, test, result["sigma"])
    assert result["sigma"] == select_sigma(samples, valid)[0]
    assert result["mean"] == pytest.approx(ll.mean())
    assert result["stderr"] == pytest.approx(ll.std() / math.sqrt(30))
    assert (result["n_samples"], result["n_valid"], result["n_test"]) == (40, 15, 30)


def test_parzen_kernel_sums_are_the_plain_sums_bit_for_bit_across_the_underflow_range():
    # _kernel_sums raises every term below exp(-708) (subnormal or 0, a slow path in the math
    # library) to exp(-708). Each row holds exp(0) = 1, as Parzen's shifted rows do; the sums
    # must not move by one bit. Rows mix normal terms (exponents 0..60, where a floor set too
    # high, at -30 say, changes them), the subnormal band and zeros (700..800) and +inf.
    rng = np.random.default_rng(12)
    rows = []
    for i in range(64):
        parts = [np.zeros(1), rng.uniform(0.0, 60.0, 3000 + 37 * i),
                 rng.uniform(700.0, 800.0, 5000), np.linspace(708.0, 746.0, 500)]
        if i % 8 == 0:
            parts.append(np.full(3, np.inf))
        row = np.concatenate(parts)
        rows.append(rng.permutation(np.pad(row, (0, 12_000 - len(row)), constant_values=750.0)))
    d2 = torch.from_numpy(np.stack(rows))
    for c in (1.0, 0.5, 2.0):
        expected = torch.exp(-c * d2).sum(dim=1)
        got = _kernel_sums(d2, c, torch.empty_like(d2))
        assert torch.equal(got.view(torch.int64), expected.view(torch.int64))
    assert (torch.exp(-d2) == 0).any() and ((torch.exp(-d2) > 0) & (d2 > 708.4)).any()
    nan_row = d2[:2].clone()
    nan_row[1, 5] = math.nan
    sums = _kernel_sums(nan_row, 1.0, torch.empty_like(nan_row))
    assert torch.isfinite(sums[0]) and torch.isnan(sums[1])  # a NaN distance is not hidden


def test_parzen_at_a_tiny_sigma_matches_brute_force():
    # At sigma = 0.02 nearly every kernel term underflows to 0; only the nearest centres count.
    rng = np.random.default_rng(6)
    centres, points, sigma = rng.random((30, 6)), rng.random((8, 6)), 0.02
    np.testing.assert_allclose(parzen_log_likelihood(centres, points, sigma),
                               _brute_force_parzen(centres, points, sigma), rtol=1e-10)


def test_parzen_evaluate_equals_select_sigma_then_log_likelihood_exactly():
    # parzen_evaluate shares its checked inputs between the two steps; same numbers, bit for bit.
    rng = np.random.default_rng(7)
    samples, valid, test = rng.random((60, 12)), rng.random((25, 12)), rng.random((35, 12))
    result = parzen_evaluate(samples, valid, test, batch_size=7)
    sigma, valid_ll = select_sigma(samples, valid, batch_size=7)
    ll = parzen_log_likelihood(samples, test, sigma, batch_size=7)
    assert result["sigma"] == sigma and result["valid_mean_ll"] == [float(v) for v in valid_ll]
    assert result["mean"] == float(ll.mean())


def test_classifier_fast_pooling_gives_max_pool2d_values():
    from gankit.metrics.classifier import max_pool_2x2
    x = torch.randn(3, 4, 24, 24)
    assert torch.equal(max_pool_2x2(x), torch.nn.functional.max_pool2d(x, 2))
    net = MnistClassifier()
    images = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        fast = net.features(images)
    assert torch.equal(fast, net.body(images).detach())


def test_parzen_rejects_bad_input():
    with pytest.raises(GankitError, match="values per point"):
        parzen_log_likelihood(np.zeros((3, 4)), np.zeros((2, 5)), 0.1)
    with pytest.raises(GankitError, match="NaN"):
        parzen_log_likelihood(np.full((3, 4), np.nan), np.zeros((2, 4)), 0.1)
    with pytest.raises(GankitError, match="positive"):
        parzen_log_likelihood(np.zeros((3, 4)), np.zeros((2, 4)), 0.0)


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_matches_closed_form_for_diagonal_and_rotated_gaussians():
    rng = np.random.default_rng(5)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    a, b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    # Diagonal covariances: d^2 = ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    # Rotating both Gaussians by one orthogonal Q leaves the distance unchanged, but makes
    # the covariances dense, so sqrtm does real work.
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    got = frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_singular_case_is_finite():
    feats = np.random.default_rng(6).standard_normal((500, 8))
    mu, sigma = feature_stats(feats)
    np.testing.assert_allclose(sigma, np.cov(feats, rowvar=False))
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    few = feats[:4]  # 4 points in 8 dims: rank-deficient covariances
    d = frechet_distance(*feature_stats(few), *feature_stats(few + 1.0))
    assert d == pytest.approx(8.0, abs=1e-3)  # the mean shift; the covariances are equal


def test_frechet_distance_rejects_non_covariances_and_bad_shapes():
    with pytest.raises(GankitError, match="imaginary"):
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
    with pytest.raises(GankitError, match="matching shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# ---------------------------------------------------------------- KID


def test_cubic_kernel_is_the_plain_formula_bit_for_bit():
    # The within-set kernel powers only the upper blocks and mirrors them; 130 rows leave a
    # partial last block. Any difference in one element would change KID's goldens.
    from gankit.metrics.kid import _cubic_kernel
    rng = np.random.default_rng(11)
    x, y = rng.random((130, 17)), rng.random((130, 17))
    for a, b in ((x, x), (y, y), (x, y)):
        plain = (a @ b.T / a.shape[1] + 1.0) ** 3
        assert np.array_equal(_cubic_kernel(a, b), plain)


def test_polynomial_mmd2_matches_brute_force_unbiased_estimator():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.5

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert polynomial_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_kid_near_zero_for_one_distribution_and_positive_for_shifted():
    rng = np.random.default_rng(8)
    real = rng.standard_normal((1500, 16))
    same = rng.standard_normal((1500, 16))
    shifted = rng.standard_normal((1500, 16)) + 0.3
    same_mean, same_std = kid_score(real, same, n_subsets=10, subset_size=500)
    shift_mean, _ = kid_score(real, shifted, n_subsets=10, subset_size=500)
    assert abs(same_mean) < 3 * same_std
    assert shift_mean > 10 * same_std
    assert kid_score(real, shifted, n_subsets=5, subset_size=500, seed=1) == \
        kid_score(torch.from_numpy(real), shifted, n_subsets=5, subset_size=500, seed=1)


# ---------------------------------------------------------------- PRDC


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_matches_reference_package(k):
    reference = pytest.importorskip("prdc")
    rng = np.random.default_rng(9)
    real = rng.standard_normal((300, 20)).astype(np.float32)
    fake = (rng.standard_normal((250, 20)) * 1.2 + 0.2).astype(np.float32)
    expected = reference.compute_prdc(real, fake, nearest_k=k)
    for chunk in (64, 1000):  # chunking must not change anything
        got = prdc(real, fake, k=k, chunk=chunk)
        for name in ("precision", "recall", "density", "coverage"):
            assert got[name] == pytest.approx(float(expected[name]), abs=1e-9), name


def test_kth_neighbour_distances_excludes_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(kth_neighbour_distances(points, 1).numpy(), [1, 1, 2, 3])
    np.testing.assert_allclose(kth_neighbour_distances(points, 2, chunk=3).numpy(), [3, 2, 3, 5])


def test_prdc_published_sanity_values_for_identical_1000d_normals():
    # prdc's README: real and fake 10,000 x 1,000 standard normals, k=5 give precision 0.4772,
    # recall 0.4705, density 1.0555, coverage 0.9735 for one unseeded draw. Over seeds 0-3 we
    # measured precision 0.456-0.497, recall 0.474-0.486, density 0.912-1.070 and coverage
    # 0.956-0.974 (the package agrees with us on each draw), so the tolerances follow that
    # draw-to-draw spread; density is heavy-tailed in 1,000-D (hub points).
    rng = np.random.default_rng(0)
    real = rng.standard_normal((10000, 1000), dtype=np.float32)
    fake = rng.standard_normal((10000, 1000), dtype=np.float32)
    got = prdc(real, fake, k=5)
    assert got["precision"] == pytest.approx(0.4772, abs=0.03)
    assert got["recall"] == pytest.approx(0.4705, abs=0.03)
    assert got["density"] == pytest.approx(1.0555, abs=0.16)
    assert got["coverage"] == pytest.approx(0.9735, abs=0.02)


def test_prdc_rejects_bad_k():
    with pytest.raises(GankitError, match="k="):
        prdc(np.zeros((4, 2)), np.zeros((4, 2)), k=4)


# ---------------------------------------------------------------- features


class _NoisyNet(nn.Module):
    """Batch norm and dropout: both change outputs with batch size unless in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8),
                                 nn.Dropout(0.5))

    def forward(self, x):
        return self.net(x)


def test_extract_features_uses_eval_mode_and_is_batch_size_independent():
    clear_feature_cache()
    net = _NoisyNet().train()
    images = torch.rand(37, 1, 4, 4)
    a = extract_features(net, images, batch_size=5)
    assert not net.training
    clear_feature_cache()
    b = extract_features(net, images, batch_size=37)
    torch.testing.assert_close(a, b)
    assert a.shape == (37, 8) and not a.requires_grad


def test_extract_features_cache_hits_and_misses():
    clear_feature_cache()
    net = _NoisyNet()
    images = torch.rand(10, 1, 4, 4)
    first = extract_features(net, images)
    assert extract_features(net, images.clone()) is first  # same bytes: cached
    with torch.no_grad():
        net.net[1].weight.add_(1.0)  # changed weights must not reuse stale features
    assert not torch.equal(extract_features(net, images), first)


def test_extract_features_uses_features_method_of_classifier():
    clear_feature_cache()
    model = MnistClassifier()
    feats = extract_features(model, torch.rand(6, 1, 28, 28))
    assert feats.shape == (6, MnistClassifier.feature_dim)


# ---------------------------------------------------------------- modes and classifier score


def test_mnist_modes_histogram_and_kl():
    collapsed = mnist_modes(np.full(100, 3))
    assert collapsed["classes_covered"] == 1
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(10))
    assert collapsed["histogram"][3] == 100
    balanced = mnist_modes(torch.arange(1000) % 10)
    assert balanced["classes_covered"] == 10 and balanced["kl_to_uniform"] == 0.0
    assert kl_to_uniform([1, 1, 2, 0]) == pytest.approx(
        0.25 * math.log(1) + 0.25 * math.log(1) + 0.5 * math.log(2))
    with pytest.raises(GankitError, match="0..9"):
        mnist_modes(np.array([0, 10]))


def test_stacked_modes_counts_codes():
    result = stacked_modes(np.array([0, 999, 999, 5]))
    assert result["modes_covered"] == 3
    assert result["kl_to_uniform"] > 0


def test_classifier_score_bounds():
    confident_all_classes = np.eye(10)[np.arange(1000) % 10]
    mean, std = classifier_score(confident_all_classes)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    assert classifier_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)
    with pytest.raises(GankitError, match="softmax"):
        classifier_score(np.ones((100, 10)))


# ---------------------------------------------------------------- Inception


def test_load_inception_error_paths(tmp_path):
    with pytest.raises(GankitError, match="--inception-weights"):
        load_inception(None)
    with pytest.raises(GankitError, match="does not exist"):
        load_inception(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    with pytest.raises(GankitError, match="TorchScript"):
        load_inception(garbage)


class _FakeInception(nn.Module):
    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        return torch.stack([x.shape[1] * torch.ones(len(x)), x.shape[2] * torch.ones(len(x)),
                            x.amax(dim=(1, 2, 3))], dim=1)


def test_inception_wrapper_resizes_repeats_and_scales(tmp_path):
    path = tmp_path / "fake.pt"
    torch.jit.script(_FakeInception()).save(str(path))
    model = load_inception(path)
    out = model(torch.ones(2, 1, 28, 28))
    torch.testing.assert_close(out, torch.tensor([[3.0, 299.0, 255.0]] * 2))


# ---------------------------------------------------------------- evaluate_samples


@pytest.fixture
def fake_mnist(monkeypatch):
    """Small random 'MNIST' splits, so evaluate_samples runs without the real files."""
    generator = torch.Generator().manual_seed(0)
    splits = {name: torch.rand(n, 1, 28, 28, generator=generator)
              for name, n in (("valid", 30), ("test", 120))}

    def load(split, data_dir=None):
        return splits[split], torch.zeros(len(splits[split]), dtype=torch.long)

    monkeypatch.setattr(compute_module, "load_mnist", load)
    return splits


@pytest.mark.parametrize("samples, message", [
    (torch.rand(100, 785), "N x 1 x 28 x 28"),
    (torch.rand(100, 3, 28, 28), "N x 1 x 28 x 28"),
    ((torch.rand(100, 1, 28, 28) * 255).to(torch.uint8), "floating point"),
    (torch.rand(100, 1, 28, 28) * 255, "divide by 255"),
    (torch.rand(100, 1, 28, 28) * 2 - 1, r"\(x \+ 1\) / 2"),
    (torch.full((100, 1, 28, 28), float("nan")), "NaN"),
    (torch.rand(60, 1, 28, 28), "got 60 samples"),
    ([[0.5]], "torch tensor or numpy array"),
])
def test_evaluate_samples_rejects_bad_samples(samples, message):
    with pytest.raises(GankitError, match=message):
        evaluate_samples(samples, ["fid"], n=100, classifier=MnistClassifier())


def test_evaluate_samples_rejects_unknown_metric_and_tiny_n():
    with pytest.raises(GankitError, match="unknown metric.*fdi.*choose from parzen, fid"):
        evaluate_samples(torch.rand(100, 1, 28, 28), ["fid", "fdi"], n=100)
    with pytest.raises(GankitError, match="at least 50"):
        evaluate_samples(torch.rand(100, 1, 28, 28), ["fid"], n=10)


def test_evaluate_samples_all_metrics_on_the_reference_itself(fake_mnist):
    clear_feature_cache()
    reference = fake_mnist["test"]
    result = evaluate_samples(reference, list(METRICS), n=120, classifier=MnistClassifier())
    m, protocol = result["metrics"], result["protocol"]
    # Samples identical to the reference: zero distance, every ball hit.
    assert abs(m["fid"]) < 1e-6
    assert m["precision"] == m["recall"] == m["coverage"] == 1.0
    assert sum(m["class_histogram"]) == 120 and 1 <= m["classes_covered"] <= 10
    assert 1.0 <= m["is"] <= 10.0 and math.isfinite(m["parzen"]) and m["parzen_stderr"] > 0
    assert protocol["n"] == protocol["n_reference"] == 120
    assert protocol["reference_split"] == "test" and protocol["seed"] == 0
    assert protocol["parzen_sigma"] > 0 and protocol["extractor"].startswith("MnistClassifier")


def test_evaluate_samples_subsamples_n_with_the_seed(fake_mnist):
    samples = torch.rand(150, 1, 28, 28)
    model = MnistClassifier()
    a = evaluate_samples(samples, ["fid"], n=100, classifier=model, seed=1)
    b = evaluate_samples(samples, ["fid"], n=100, classifier=model, seed=1)
    c = evaluate_samples(samples, ["fid"], n=100, classifier=model, seed=2)
    assert a == b and a["metrics"]["fid"] != c["metrics"]["fid"]
    assert a["protocol"]["n"] == 100


def test_flat_samples_are_read_as_images():
    from gankit.metrics.evaluate import check_mnist_samples

    flat = torch.rand(60, 784)
    assert torch.equal(check_mnist_samples(flat, 60), flat.reshape(60, 1, 28, 28))
    stacked = torch.rand(60, 3 * 784)
    assert check_mnist_samples(stacked, 60, channels=3).shape == (60, 3, 28, 28)
