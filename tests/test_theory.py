"""Goodfellow et al. (2014) Proposition 1 and Theorem 1, checked numerically on a 1-D grid."""

import math

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.theory import (
    gaussian_pdf,
    jensen_shannon,
    kl_divergence,
    normalize_density,
    optimal_discriminator,
    value_function,
    virtual_training_criterion,
)

X = np.linspace(-12.0, 12.0, 4001)
LOG4 = math.log(4.0)


def _mixture() -> np.ndarray:
    return 0.3 * gaussian_pdf(X, -2.0, 0.5) + 0.7 * gaussian_pdf(X, 1.5, 1.0)


def _uniform(lo: float, hi: float) -> np.ndarray:
    # Normalised on the grid so that the edges' discretisation does not break unit mass.
    return normalize_density(((X >= lo) & (X <= hi)).astype(np.float64), X)


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    return [
        ("gauss-shifted", gaussian_pdf(X, 0.0, 1.0), gaussian_pdf(X, 1.0, 1.0)),
        ("gauss-wider", gaussian_pdf(X, 1.0, 0.5), gaussian_pdf(X, 0.0, 2.0)),
        ("mixture-vs-gauss", _mixture(), gaussian_pdf(X, 0.0, 1.5)),
        ("uniform-vs-gauss", _uniform(-1.0, 2.0), gaussian_pdf(X, 0.0, 1.0)),
        ("disjoint-uniforms", _uniform(-5.0, -3.0), _uniform(3.0, 4.0)),
    ]


@pytest.mark.parametrize("name,p_data,p_g", _pairs(), ids=[p[0] for p in _pairs()])
def test_theorem1_criterion_is_minus_log4_plus_twice_jsd(name, p_data, p_g):
    c = virtual_training_criterion(p_data, p_g, X)
    jsd = jensen_shannon(p_data, p_g, X)
    assert c == pytest.approx(-LOG4 + 2.0 * jsd, abs=1e-8)
    # Away from equality the criterion is strictly above its global minimum.
    assert c > -LOG4 + 1e-3


def test_disjoint_supports_reach_the_jsd_maximum():
    p, q = _uniform(-5.0, -3.0), _uniform(3.0, 4.0)
    assert jensen_shannon(p, q, X) == pytest.approx(math.log(2.0), abs=1e-12)
    assert virtual_training_criterion(p, q, X) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p", [gaussian_pdf(X, 0.3, 0.7), _mixture(), _uniform(-1.0, 2.0)])
def test_criterion_is_minus_log4_at_equality_with_d_star_one_half(p):
    assert virtual_training_criterion(p, p.copy(), X) == pytest.approx(-LOG4, abs=1e-12)
    d_star = optimal_discriminator(p, p.copy())
    np.testing.assert_array_equal(d_star, np.full_like(p, 0.5))


def test_criterion_minimum_only_at_equality():
    p_data = gaussian_pdf(X, 0.0, 1.0)
    values = {
        (mu, s): virtual_training_criterion(p_data, gaussian_pdf(X, mu, s), X)
        for mu in (-0.5, -0.1, 0.0, 0.1, 0.5)
        for s in (0.8, 1.0, 1.2)
    }
    best = min(values, key=values.get)
    assert best == (0.0, 1.0)
    assert values[best] == pytest.approx(-LOG4, abs=1e-12)
    for key, value in values.items():
        if key != best:
            assert value > -LOG4 + 1e-5


def test_d_star_maximises_value_function():
    p_data, p_g = _mixture(), gaussian_pdf(X, 0.0, 1.5)
    d_star = optimal_discriminator(p_data, p_g)
    v_star = value_function(d_star, p_data, p_g, X)
    assert v_star == pytest.approx(virtual_training_criterion(p_data, p_g, X), abs=1e-15)
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1e-2, 0.1):
        for _ in range(5):
            # Perturb in logit space so D stays a probability.
            logit = np.log(d_star) - np.log1p(-d_star) + scale * rng.standard_normal(X.shape)
            d = 1.0 / (1.0 + np.exp(-logit))
            assert value_function(d, p_data, p_g, X) < v_star
    # Constant discriminators, including the "confused" D = 1/2, are worse too.
    for c in (0.2, 0.5, 0.8):
        assert value_function(np.full_like(X, c), p_data, p_g, X) < v_star


def test_value_of_the_confused_discriminator_is_minus_log4():
    p_data, p_g = gaussian_pdf(X, 0.0, 1.0), gaussian_pdf(X, 2.0, 1.0)
    assert value_function(np.full_like(X, 0.5), p_data, p_g, X) == pytest.approx(-LOG4, abs=1e-10)


def test_d_star_where_both_densities_vanish_is_one_half():
    p_data = np.array([0.0, 1.0, 0.0, 0.0])
    p_g = np.array([0.0, 0.0, 3.0, 1.0])
    np.testing.assert_array_equal(optimal_discriminator(p_data, p_g), [0.5, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("name,p,q", _pairs(), ids=[p[0] for p in _pairs()])
def test_jsd_symmetric_and_bounded(name, p, q):
    forward, backward = jensen_shannon(p, q, X), jensen_shannon(q, p, X)
    assert forward == pytest.approx(backward, abs=1e-14)
    assert 0.0 < forward <= math.log(2.0) + 1e-12


def test_kl_of_gaussians_matches_closed_form():
    m1, s1, m2, s2 = 0.5, 0.8, -1.0, 1.7
    expected = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    got = kl_divergence(gaussian_pdf(X, m1, s1), gaussian_pdf(X, m2, s2), X)
    assert got == pytest.approx(expected, abs=1e-9)


def test_kl_is_inf_when_q_misses_mass_of_p_and_zero_for_equal():
    p, q = _uniform(-1.0, 1.0), _uniform(0.0, 2.0)
    assert kl_divergence(p, q, X) == math.inf
    assert kl_divergence(p, p, X) == 0.0


def test_gaussian_pdf_integrates_to_one():
    assert np.trapezoid(gaussian_pdf(X, 1.0, 0.5), X) == pytest.approx(1.0, abs=1e-12)


def test_bad_input_raises_gankit_error():
    p = gaussian_pdf(X, 0.0, 1.0)
    with pytest.raises(GankitError, match="integrates to"):
        virtual_training_criterion(p, gaussian_pdf(X, 11.0, 1.0), X)  # half the mass off-grid
    with pytest.raises(GankitError, match="same grid"):
        jensen_shannon(p, p[:-1], X)
    with pytest.raises(GankitError, match="strictly increasing"):
        kl_divergence(p, p, X[::-1])
    with pytest.raises(GankitError, match="non-negative"):
        optimal_discriminator(-p, p)
    with pytest.raises(GankitError, match=r"\[0, 1\]"):
        value_function(np.full_like(X, 2.0), p, p, X)
    with pytest.raises(GankitError, match="std > 0"):
        gaussian_pdf(X, 0.0, 0.0)


# --- Figure 1 made live (gankit.viz.figure1), the theory above drawn on a trained 1-D GAN ---


def test_figure1_writes_png_frames_and_an_animated_gif(tmp_path):
    from PIL import Image

    from gankit.viz.figure1 import train_figure1

    threads = torch.get_num_threads()
    paths = train_figure1(tmp_path / "fig", steps=4, seed=0, frames=[0, 2, 4], k=1)
    assert torch.get_num_threads() == threads  # the one-thread speed-up is undone
    assert [p.name for p in paths] == [
        "figure1_step00000.png", "figure1_step00002.png", "figure1_step00004.png", "figure1.gif"
    ]
    for png in paths[:-1]:
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size[0] > 300
    with Image.open(paths[-1]) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
        first = np.asarray(gif.convert("RGB"))
        gif.seek(2)
        assert not np.array_equal(first, np.asarray(gif.convert("RGB")))  # frames differ


def test_figure1_frame_from_arrays_and_bad_frames(tmp_path):
    from gankit.viz.figure1 import draw_figure1_frame, train_figure1

    x = np.linspace(-3.0, 3.0, 200)
    p = gaussian_pdf(x, 0.0, 1.0)
    z = np.linspace(0.05, 0.95, 10)
    out = draw_figure1_frame(tmp_path / "f.png", x, p, gaussian_pdf(x, 1.0, 0.5),
                             np.full_like(x, 0.5), z, 2.0 * z - 1.0, title="hand-made")
    assert out.stat().st_size > 1000
    with pytest.raises(GankitError, match="same grid"):
        draw_figure1_frame(tmp_path / "g.png", x, p, p[:-1], p, z, z)
    with pytest.raises(GankitError, match="at least 2"):
        train_figure1(tmp_path / "h", steps=3, frames=[5])
