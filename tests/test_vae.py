"""The VAE objective (train/vae.py) and its exact bounds (metrics/likelihood.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import REPO
from gankit.cli import main
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.metrics.likelihood import binarize, likelihood_bounds
from gankit.nets.vae import (
    BernoulliDecoder,
    GaussianEncoder,
    elbo,
    gaussian_kl,
    iwae_bound,
    log_weights,
)
from gankit.train.loop import Trainer
from gankit.train.run import load_run

SHAPE = (1, 4, 4)
TINY_VAE = ["vae.z_dim=3", "vae.hidden=[8]", "train.batch_size=10", "train.epochs=0",
            "train.max_steps=10", "train.log_every=2", "train.progress=false",
            "train.n_sample_grid=16"]


def _config(*overrides: str):
    return load_config(REPO / "configs/mnist-vae.yaml", [*TINY_VAE, *overrides])


def _data(n: int = 60) -> TrainingData:
    g = torch.Generator().manual_seed(3)
    return TrainingData(torch.rand((n, *SHAPE), generator=g), None, 0)


def _constant_nets(mu: list[float], logvar: list[float], bias: list[float]):
    """An encoder whose q(z|x) is N(mu, exp(logvar)) for every x and a decoder whose pixels
    are Bernoulli(sigmoid(bias)) whatever z is: every bound then has a closed form."""
    enc = GaussianEncoder(SHAPE, [5], len(mu))
    dec = BernoulliDecoder(len(mu), [5], SHAPE)
    with torch.no_grad():
        for layer, b in ((enc.mu, mu), (enc.logvar, logvar), (dec.out, bias)):
            layer.weight.zero_()
            layer.bias.copy_(torch.tensor(b))
    return enc, dec


def test_elbo_equals_its_closed_form_on_a_hand_computed_case():
    mu, logvar = [0.5, -1.0], [math.log(0.25), 0.0]
    bias = [0.0, 1.0, -2.0, 0.5] * 4
    enc, dec = _constant_nets(mu, logvar, bias)
    x = torch.tensor([[1, 0, 0, 1] * 4, [0, 1, 1, 1] * 4], dtype=torch.float32).view(2, *SHAPE)
    p = [1 / (1 + math.exp(-b)) for b in bias]
    # By hand: sum of log Bernoulli probabilities, minus KL(N(mu, s^2) || N(0, 1)) =
    # 0.5 * sum(mu^2 + s^2 - 1 - log s^2) = 0.5 * (0.25 + 0.25 - 1 + log 4 + 1 + 1 - 1 - 0).
    kl = 0.5 * (0.25 + 0.25 - 1 + math.log(4) + 1.0 + 1.0 - 1.0 - 0.0)
    for row, xi in enumerate(x.view(2, -1).tolist()):
        log_px = sum(math.log(pi if v else 1 - pi) for v, pi in zip(xi, p, strict=True))
        got = elbo(enc, dec, x, samples=3, generator=torch.Generator().manual_seed(0))
        assert got[row].item() == pytest.approx(log_px - kl, abs=1e-4)
        # q = the prior: every importance weight is p(x) itself, so IWAE is log p(x) exactly.
        enc_p, dec_p = _constant_nets([0.0, 0.0], [0.0, 0.0], bias)
        assert iwae_bound(enc_p, dec_p, x, k=7)[row].item() == pytest.approx(log_px, abs=1e-4)
    assert gaussian_kl(torch.tensor([mu]), torch.tensor([logvar])).item() == pytest.approx(kl)


def test_reparameterisation_gradient_reaches_the_encoder_through_z():
    torch.manual_seed(0)
    enc, dec = GaussianEncoder(SHAPE, [6], 2), BernoulliDecoder(2, [6], SHAPE)
    x = binarize(torch.rand(5, *SHAPE))
    mu, logvar = enc(x)
    # The reconstruction term alone (ELBO + KL) depends on the encoder only through z.
    recon = elbo(enc, dec, x, generator=torch.Generator().manual_seed(1)) + gaussian_kl(mu, logvar)
    recon.sum().backward()
    for layer in (enc.mu, enc.logvar, enc.hidden[0]):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert dec.out.weight.grad.abs().sum() > 0


def test_iwae_is_at_least_the_elbo_and_equals_it_for_one_sample():
    torch.manual_seed(0)
    enc, dec = GaussianEncoder(SHAPE, [6], 2), BernoulliDecoder(2, [6], SHAPE)
    x = binarize(torch.rand(20, *SHAPE))
    with torch.no_grad():
        lw = log_weights(enc, dec, x, 1, torch.Generator().manual_seed(5))
        one = iwae_bound(enc, dec, x, 1, torch.Generator().manual_seed(5))
        torch.testing.assert_close(one, lw[0])  # K = 1: the one-sample ELBO estimate
        lw = log_weights(enc, dec, x, 50, torch.Generator().manual_seed(6))
        many = iwae_bound(enc, dec, x, 50, torch.Generator().manual_seed(6))
        assert (many >= lw.mean(0) - 1e-5).all()  # Jensen, draw by draw
        assert (many > lw.mean(0) + 1e-3).any()
        # The analytic-KL ELBO and the mean log weight estimate the same expectation.
        exact = elbo(enc, dec, x, samples=4000, generator=torch.Generator().manual_seed(7))
        mc = log_weights(enc, dec, x, 4000, torch.Generator().manual_seed(8)).mean(0)
        torch.testing.assert_close(exact, mc, atol=0.1, rtol=0)
    bounds = likelihood_bounds(enc, dec, x, k=50)
    assert bounds["iwae"] > bounds["elbo"]
    with pytest.raises(GankitError, match="binary images"):
        likelihood_bounds(enc, dec, torch.rand(3, *SHAPE))


def test_vae_resumes_exactly(tmp_path):
    straight = Trainer(_config(), tmp_path / "straight", data=_data())
    straight.run()
    Trainer(_config("train.max_steps=5"), tmp_path / "resumed", data=_data()).run()
    resumed = Trainer(_config(), tmp_path / "resumed", resume=True, data=_data())
    assert resumed.progress.g_steps == 5
    resumed.run()
    a, b = straight.objective.state_dict(), resumed.objective.state_dict()
    for net in ("encoder", "decoder"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), (net, key)
    assert not torch.equal(a["decoder"]["out.bias"], _fresh_bias())


def _fresh_bias() -> torch.Tensor:
    torch.manual_seed(0)
    from gankit.train.vae import build_vae

    return build_vae(_config(), SHAPE, _data().x.mean(0))[1].out.bias


def test_gankit_sample_on_a_vae_run(tmp_path):
    Trainer(_config(), tmp_path / "run", data=_data()).run()
    run = load_run(tmp_path / "run")
    assert set(run.nets) == {"generator", "encoder"}
    assert main(["sample", str(tmp_path / "run"), "--n", "12", "--out",
                 str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (12, *SHAPE) and samples.min() >= 0 and samples.max() <= 1
    assert samples.std(axis=0).max() > 0  # different z, different means


@pytest.mark.parametrize("override, match", [
    ("generator.z_dim=10", "generator is set, but objective vae does not use it"),
    ("train.ema=0.9", "train.ema is set"),
    ("train.amp=bf16", "train.amp is set"),
    ("data.dataset=ring", "point data"),
    ("vae.hidden=[]", "vae.hidden"),
])
def test_vae_config_refusals(override, match):
    with pytest.raises(GankitError, match=match):
        _config(override)


def test_vae_section_refused_for_a_gan():
    with pytest.raises(GankitError, match="only objective vae reads"):
        load_config(REPO / "configs/mnist-paper.yaml", ["vae.z_dim=5"])


def test_bench_speed_refuses_a_vae_in_one_line():
    from gankit.bench.speed import bench_speed

    with pytest.raises(GankitError, match="^gankit bench speed times GAN iterations; objective vae"):
        bench_speed(_config(), data=_data(), reference=False)


def test_the_config_as_read_keeps_the_vae_section_only_for_a_vae():
    from gankit.config import config_as_read, config_to_dict

    assert "vae" in config_as_read(config_to_dict(_config()))
    gan = load_config(REPO / "configs/mnist-paper.yaml")
    assert "vae" not in config_as_read(config_to_dict(gan))
