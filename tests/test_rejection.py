"""Discriminator rejection sampling (train/rejection.py, `gankit sample --drs`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import tiny_config
from gankit.cli import main
from gankit.errors import GankitError
from gankit.train import rejection
from gankit.train.loop import train
from gankit.train.rejection import acceptance_probability, refit_discriminator, rejection_sample


class IdentityG(nn.Module):
    """x = z + y (y the label, 0 when unconditional), z ~ N(0, 1) in one dimension."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, 1, generator=generator)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return z if y is None else z + y[:, None].float()


class RatioD(nn.Module):
    """The optimal D's logit for data N(mean, std^2) against G's N(0, 1) proposal (plus y):
    log p_data(x) - log p_G(x)."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x[:, 0] - (y.float() if y is not None else 0)
        log_data = -0.5 * ((x - self.mean) / self.std) ** 2 - math.log(self.std)
        return log_data + 0.5 * x**2


def test_gamma_zero_is_exact_rejection_sampling():
    # sigmoid(d - log(1 - e^d)) = e^d: the paper's F at gamma 0 keeps x with p_data / (M p_G).
    logits = torch.tensor([-8.0, -3.0, -1.0, -0.1, 0.0])
    p = acceptance_probability(logits, logit_max=0.0)
    assert torch.allclose(p[:-1], torch.exp(logits[:-1]), rtol=1e-4)
    assert p[-1] > 0.999  # the largest logit is always kept
    # gamma moves every acceptance the same way: positive keeps fewer
    assert (acceptance_probability(logits, 0.0, gamma=1.0) < p).all()
    assert (acceptance_probability(logits, 0.0, gamma=-1.0) > p).all()


def test_drs_turns_the_proposal_into_the_data_distribution():
    g = torch.Generator().manual_seed(0)
    kept = rejection_sample(IdentityG(), RatioD(1.0, 0.5), 4000, None, g)
    x = kept.samples[:, 0]
    # G alone draws mean 0, std 1; with D's ratio the kept ones are N(1, 0.5^2)
    assert abs(float(x.mean()) - 1.0) < 0.04 and abs(float(x.std()) - 0.5) < 0.03
    # exact rejection sampling keeps 1 / M of the draws, M = max p_data / p_G = e^(2/3) / 0.5
    assert kept.acceptance == pytest.approx(0.5 / math.exp(2 / 3), rel=0.1)


@pytest.mark.parametrize("sign", [1, -1])
def test_samples_move_toward_what_d_calls_real(sign):
    class Tilt(nn.Module):  # logit 2 tanh(x): D says "real" on the right (sign 1) or the left
        def forward(self, x, y=None):
            return sign * 2 * torch.tanh(x[:, 0])

    g = torch.Generator().manual_seed(0)
    x = rejection_sample(IdentityG(), Tilt(), 2000, None, g, burn_in=2000).samples
    assert sign * float(x.mean()) > 0.5  # G alone: mean 0


def test_each_slot_keeps_its_label_and_a_seed_repeats():
    labels = torch.tensor([0, 5, 2, 9, 9, 1] * 50)

    def draw(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return rejection_sample(IdentityG(), RatioD(0.0, 0.3), len(labels), labels, g,
                                batch_size=64, burn_in=500).samples

    x = draw(3)
    assert (x[:, 0] - labels).abs().max() < 1.5  # within 5 std of its label's mode
    assert float((x[:, 0] - labels).std()) == pytest.approx(0.3, rel=0.15)
    assert torch.equal(x, draw(3)) and not torch.equal(x, draw(4))


def test_a_d_that_rejects_everything_stops_with_a_clear_error(monkeypatch):
    class Sharp(nn.Module):
        def forward(self, x, y=None):
            return 40 * x[:, 0]  # the burn-in's largest draw is kept about once in e^40 times

    monkeypatch.setattr(rejection, "MAX_DRAWS_PER_SAMPLE", 50)
    with pytest.raises(GankitError, match=r"^DRS kept 0 of 3 samples in .*--drs-gamma"):
        rejection_sample(IdentityG(), Sharp(), 3, None, torch.Generator().manual_seed(0))


class QuadraticD(nn.Module):
    """Logistic regression on (x, x^2): the family the true log ratio of two Gaussians is in."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        nn.init.zeros_(self.linear.weight)  # untrained: logit 0, every sample kept
        nn.init.zeros_(self.linear.bias)

    def forward(self, x, y=None):
        return self.linear(torch.cat([x, x**2], dim=1))[:, 0]


def test_refit_learns_the_ratio_and_leaves_the_runs_d_alone(monkeypatch):
    monkeypatch.setattr(rejection, "REFIT_LR", 0.02)  # the toy's D needs large steps
    torch.manual_seed(0)
    D = QuadraticD()
    before = [p.clone() for p in D.parameters()]
    real = 1.0 + 0.5 * torch.randn(5000, 1, generator=torch.Generator().manual_seed(1))
    refit = refit_discriminator(IdentityG(), D, real, None, 1500, torch.Generator().manual_seed(2))
    assert all(torch.equal(a, b) for a, b in zip(before, D.parameters(), strict=True))
    assert not refit.training
    x = rejection_sample(IdentityG(), refit, 3000, None, torch.Generator().manual_seed(3)).samples
    untrained = rejection_sample(IdentityG(), D, 3000, None, torch.Generator().manual_seed(3))
    # the refit D's DRS comes near N(1, 0.5^2); the untrained one's does not
    assert abs(float(x.mean()) - 1.0) < 0.15 and abs(float(x.std()) - 0.5) < 0.1
    assert abs(float(untrained.samples.mean()) - 1.0) > 0.3


@pytest.fixture(scope="module")
def ring_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("drs")
    return {name: train(tiny_config(*sets), root / name) for name, sets in {
        "ns": [], "wgan": ["loss=wgan", "losses.wgan_warmup=false"],
        "packed": ["discriminator.pack=2"]}.items()}


def test_gankit_sample_drs_writes_the_kept_samples(ring_runs, tmp_path, capsys):
    out = tmp_path / "kept.npy"
    assert main(["sample", str(ring_runs["ns"]), "--drs", "--n", "300", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("DRS kept 300 of ")
    x = np.load(out)
    assert x.shape == (300, 2) and np.isfinite(x).all()
    again = tmp_path / "again.npy"
    assert main(["sample", str(ring_runs["ns"]), "--drs", "--n", "300", "--out", str(again)]) == 0
    assert np.array_equal(x, np.load(again))  # --seed 0 both times
    refit = tmp_path / "refit.npy"
    assert main(["sample", str(ring_runs["ns"]), "--drs", "--drs-refit", "20", "--n", "300",
                 "--out", str(refit)]) == 0
    assert not np.array_equal(x, np.load(refit))  # another D kept other samples


@pytest.mark.parametrize("run, extra, message", [
    ("wgan", [], "needs a D trained with the minimax or non-saturating loss"),
    ("packed", [], "packs 2 (PacGAN)"),
    ("ns", ["--truncation", "0.5"], "drop --drs or drop --truncation"),
    ("ns", ["--drs-gamma", "1"], "--drs-gamma only applies with --drs"),
    ("ns", ["--drs-refit", "5"], "--drs-refit only applies with --drs"),
    ("ns", ["--drs", "--drs-refit", "-1"], "--drs-refit -1: give 0"),
])
def test_drs_refuses_what_it_cannot_do(ring_runs, tmp_path, capsys, run, extra, message):
    argv = ["sample", str(ring_runs[run]), "--n", "10", "--out", str(tmp_path / "x.npy"), *extra]
    if "--drs" not in extra and "only applies" not in message:
        argv.append("--drs")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and message in err.splitlines()[0]
    assert not (tmp_path / "x.npy").exists()


def test_gankit_eval_drs_scores_the_kept_samples(ring_runs, capsys):
    import json

    run = str(ring_runs["ns"])
    assert main(["eval", run, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["eval", run, "--drs", "--drs-refit", "20", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert "drs" not in plain["protocol"]
    drs = kept["protocol"]["drs"]
    assert drs["gamma"] == 0 and drs["refit_steps"] == 20 and 0 < drs["acceptance"] <= 1
    assert kept["metrics"] != plain["metrics"]  # other samples were scored
    # the same samples as gankit sample --drs draws with the same seed and refit
    assert json.loads((ring_runs["ns"] / "eval.json").read_text()) == kept


def test_gankit_eval_refuses_drs_on_a_samples_file(tmp_path, capsys):
    samples = tmp_path / "s.npy"
    np.save(samples, np.zeros((100, 2), dtype=np.float32))
    assert main(["eval", "--samples", str(samples), "--drs"]) == 2
    assert "drop --drs or drop --samples" in capsys.readouterr().err.splitlines()[0]
