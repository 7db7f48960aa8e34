"""The loss family against hand-computed values, its optimal critics, and the loop's loss rules."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import REPO
from gankit.config import LossConfig, load_config
from gankit.errors import GankitError
from gankit.losses import (
    d_loss_hinge,
    d_loss_lsgan,
    d_loss_minimax,
    d_loss_wasserstein,
    g_loss_lsgan,
    g_loss_non_saturating,
    g_loss_saturating,
    g_loss_wasserstein,
    gradient_penalty,
    make_loss,
    r1_penalty,
)
from gankit.train import gan as loop  # the GAN objective calls the step functions
from gankit.train.loop import Trainer
from gankit.train.steps import discriminator_loss, discriminator_step, generator_step

REAL = torch.tensor([0.0, 2.0, -0.5])
FAKE = torch.tensor([-1.0, 1.0, 3.0])


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --- hand-computed values -----------------------------------------------------------------


def test_minimax_discriminator_loss_is_minus_the_value_function():
    # V(D, G) = E log D(x) + E log(1 - D(G(z))) with D = sigmoid(logit) (Goodfellow et al., eq. 1).
    value = mean([math.log(sigmoid(r)) for r in REAL.tolist()]) + mean(
        [math.log(1.0 - sigmoid(f)) for f in FAKE.tolist()]
    )
    assert d_loss_minimax(REAL, FAKE).item() == pytest.approx(-value, rel=1e-6)
    # At D = 1/2 everywhere the loss is 2 log 2 (the paper's -log 4 at the optimum).
    zero = torch.zeros(4)
    assert d_loss_minimax(zero, zero).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_both_generator_losses_of_the_paper():
    saturating = mean([math.log(1.0 - sigmoid(f)) for f in FAKE.tolist()])  # eq. 1
    non_saturating = -mean([math.log(sigmoid(f)) for f in FAKE.tolist()])  # §3
    assert g_loss_saturating(FAKE).item() == pytest.approx(saturating, rel=1e-6)
    assert g_loss_non_saturating(FAKE).item() == pytest.approx(non_saturating, rel=1e-6)


def test_saturating_loss_vanishes_where_the_non_saturating_one_does_not():
    # Paper §3: early on D rejects G's samples with high confidence, log(1 - D(G(z))) saturates.
    logit = torch.tensor([-10.0], requires_grad=True)
    (g_sat,) = torch.autograd.grad(g_loss_saturating(logit), logit)
    (g_ns,) = torch.autograd.grad(g_loss_non_saturating(logit), logit)
    assert abs(g_sat.item()) == pytest.approx(sigmoid(-10.0), rel=1e-4)  # about 4.5e-5
    assert abs(g_ns.item()) == pytest.approx(1.0 - sigmoid(-10.0), rel=1e-4)  # about 1


def test_minimax_stays_finite_for_extreme_logits():
    big = torch.tensor([80.0, -80.0])
    for value in (d_loss_minimax(big, -big), g_loss_saturating(big), g_loss_non_saturating(big)):
        assert torch.isfinite(value)


def test_lsgan_losses():
    # a, b, c = -1, 1, 0 (Mao et al. 2017, eq. 8's alternative labels).
    d = 0.5 * mean([(r - 1.0) ** 2 for r in REAL.tolist()]) + 0.5 * mean(
        [(f + 1.0) ** 2 for f in FAKE.tolist()]
    )
    g = 0.5 * mean([f**2 for f in FAKE.tolist()])
    assert d_loss_lsgan(REAL, FAKE, a=-1.0, b=1.0).item() == pytest.approx(d, rel=1e-6)
    assert g_loss_lsgan(FAKE, c=0.0).item() == pytest.approx(g, rel=1e-6)
    loss = make_loss("lsgan", LossConfig(lsgan_a=-1.0, lsgan_b=1.0, lsgan_c=0.0))
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(FAKE).item() == pytest.approx(g, rel=1e-6)


def test_wasserstein_and_hinge_losses():
    assert d_loss_wasserstein(REAL, FAKE).item() == pytest.approx(1.0 - 0.5, rel=1e-6)
    assert g_loss_wasserstein(FAKE).item() == pytest.approx(-1.0, rel=1e-6)
    hinge = mean([max(0.0, 1.0 - r) for r in REAL.tolist()]) + mean(
        [max(0.0, 1.0 + f) for f in FAKE.tolist()]
    )
    assert d_loss_hinge(REAL, FAKE).item() == pytest.approx(hinge, rel=1e-6)  # (1.5 + 6) / 3


def test_make_loss_pairs_each_name_with_its_rules():
    pairs = {
        "minimax": (d_loss_minimax, g_loss_saturating, True),
        "non-saturating": (d_loss_minimax, g_loss_non_saturating, True),
        "wgan": (d_loss_wasserstein, g_loss_wasserstein, False),
        "wgan-gp": (d_loss_wasserstein, g_loss_wasserstein, False),
        "hinge": (d_loss_hinge, g_loss_wasserstein, False),
    }
    for name, (d, g, prob) in pairs.items():
        loss = make_loss(name, LossConfig(clip=0.02, gp_weight=7.0))
        assert (loss.d_loss, loss.g_loss, loss.probabilities) == (d, g, prob), name
        assert loss.clip == (0.02 if name == "wgan" else 0.0)
        assert loss.gp_weight == (7.0 if name == "wgan-gp" else 0.0)
    with pytest.raises(GankitError, match="unknown loss 'wgan_gp'"):
        make_loss("wgan_gp")


# --- gradient penalty ----------------------------------------------------------------------


def test_gradient_penalty_of_a_linear_critic_is_exact():
    # D(x) = w.x has gradient w everywhere, so E(||grad|| - 1)^2 = (||w|| - 1)^2 at any x-hat.
    torch.manual_seed(0)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 5.0
    penalty = gradient_penalty(lambda x: x @ w, real, fake)
    assert penalty.item() == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    # The penalty is differentiable in w (create_graph): d/dw (||w|| - 1)^2 = 2(||w|| - 1) w/||w||.
    (grad_w,) = torch.autograd.grad(penalty, w)
    assert torch.allclose(grad_w, 2 * 4.0 * torch.tensor([0.6, 0.8]), rtol=1e-5)
    # The target is a unit norm: zero penalty for ||w|| = 1.
    unit = torch.tensor([0.6, 0.8])
    assert gradient_penalty(lambda x: x @ unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_interpolates_between_real_and_fake():
    # For D(x) = ||x||^2 / 2 the gradient is x-hat itself, so each term is (||x-hat|| - 1)^2
    # with x-hat on the segment [x, x~]: between the values at the two ends.
    real, fake = torch.full((500, 1), 2.0), torch.full((500, 1), 4.0)
    penalty = gradient_penalty(lambda x: 0.5 * (x**2).sum(dim=1), real, fake).item()
    assert (2.0 - 1.0) ** 2 < penalty < (4.0 - 1.0) ** 2
    assert penalty == pytest.approx(((torch.linspace(2, 4, 10001) - 1) ** 2).mean().item(), rel=0.1)


# --- the loop's loss rules -----------------------------------------------------------------


class Shift(nn.Module):
    """A 'generator' z -> z + shift (shift on the first coordinate), with one parameter."""

    z_dim = 1

    def __init__(self, shift: float, dim: int = 1):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(dim))
        with torch.no_grad():
            self.shift[0] = shift

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return z + self.shift


class LinearCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.lin(x).squeeze(1)


def small_critic(hidden: int = 32, dim: int = 1) -> nn.Module:
    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, hidden),
                nn.LeakyReLU(0.2),
                nn.Linear(hidden, hidden),
                nn.LeakyReLU(0.2),
                nn.Linear(hidden, 1),
            )

        def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            return self.net(x).squeeze(1)

    return Critic()


def test_weight_clipping_keeps_every_critic_weight_in_range():
    torch.manual_seed(0)
    D = small_critic()
    clip = 0.01
    assert max(p.abs().max().item() for p in D.parameters()) > clip  # PyTorch's init is wider
    opt = torch.optim.RMSprop(D.parameters(), lr=5e-5)
    loss = make_loss("wgan", LossConfig(clip=clip))
    discriminator_step(Shift(1.0), D, opt, loss, torch.randn(64, 1), None, torch.randn(64, 1), None)
    assert max(p.abs().max().item() for p in D.parameters()) <= clip


def test_wgan_critic_estimates_w1_of_a_shift():
    # W1(N(0,1), N(mu,1)) = |mu|; a linear critic with |w| <= 1 (clip = 1) attains it at w = -1.
    torch.manual_seed(0)
    mu = 1.5
    G, D = Shift(mu), LinearCritic()
    opt = torch.optim.RMSprop(D.parameters(), lr=0.05)
    loss = make_loss("wgan", LossConfig(clip=1.0))
    for _ in range(200):
        discriminator_step(G, D, opt, loss, torch.randn(256, 1), None, torch.randn(256, 1), None)
    with torch.no_grad():
        real, z = torch.randn(20000, 1), torch.randn(20000, 1)
        estimate = -d_loss_wasserstein(D(real), D(G(z))).item()
    assert D.lin.weight.item() == pytest.approx(-1.0)  # pinned at the clip
    assert estimate == pytest.approx(mu, abs=0.1)


def test_wgan_gp_critic_estimates_w1_of_a_shift():
    # In 2-D: in 1-D a critic that starts with the wrong slope is trapped by the penalty's
    # barrier at slope 0 (the objective 2s + 10(|s| - 1)^2 has a local minimum at s = 0.9),
    # while in 2-D its gradient can turn round.
    torch.manual_seed(0)
    mu = 2.0
    G, D = Shift(mu, dim=2), small_critic(dim=2)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    loss = make_loss("wgan-gp", LossConfig(gp_weight=10.0))
    for _ in range(300):
        discriminator_step(G, D, opt, loss, torch.randn(256, 2), None, torch.randn(256, 2), None)
    with torch.no_grad():
        real, z = torch.randn(20000, 2), torch.randn(20000, 2)
        estimate = -d_loss_wasserstein(D(real), D(G(z))).item()
    assert estimate == pytest.approx(mu, rel=0.15)


def test_lsgan_critic_reaches_its_optimum():
    # Mao et al. 2017, eq. 4: D*(x) = (b p_d(x) + a p_g(x)) / (p_d(x) + p_g(x)). A per-bin table
    # critic trained on samples of N(0, 1) (data) and N(1, 1) (generator) must reach it.
    torch.manual_seed(0)
    a, b = -1.0, 1.0
    loss = make_loss("lsgan", LossConfig(lsgan_a=a, lsgan_b=b))
    edges = torch.linspace(-1.5, 2.5, 17)
    table = torch.zeros(len(edges) + 1, requires_grad=True)
    opt = torch.optim.Adam([table], lr=0.05)
    real, fake = torch.randn(100_000), torch.randn(100_000) + 1.0
    real_bins, fake_bins = torch.bucketize(real, edges), torch.bucketize(fake, edges)
    for _ in range(300):
        opt.zero_grad()
        loss.d_loss(table[real_bins], table[fake_bins]).backward()
        opt.step()
    centres = (edges[1:] + edges[:-1]) / 2
    p_d = torch.exp(-0.5 * centres**2)
    p_g = torch.exp(-0.5 * (centres - 1.0) ** 2)
    optimum = (b * p_d + a * p_g) / (p_d + p_g)
    # Inner bins only (bins 1..16 lie between the edges); bins are narrow so centres suffice.
    assert torch.allclose(table.detach()[1:-1], optimum, atol=0.05)


def test_loss_switch_brings_the_paper_defaults():
    cfg = load_config("configs/ring8.yaml", ["loss=wgan"])
    assert (cfg.loss, cfg.optim.name, cfg.optim.lr, cfg.train.k) == ("wgan", "rmsprop", 5e-5, 5)
    # What the user sets explicitly wins over the loss's defaults, in either order.
    cfg = load_config("configs/ring8.yaml", ["train.k=2", "loss=wgan-gp"])
    assert (cfg.optim.name, cfg.optim.betas, cfg.train.k) == ("adam", [0.0, 0.9], 2)
    # Keeping the file's own loss changes nothing.
    same = load_config("configs/ring8.yaml", ["loss=non-saturating"])
    assert same == load_config("configs/ring8.yaml")


def test_wgan_gp_refuses_a_batch_norm_critic():
    with pytest.raises(GankitError, match="batch_norm=false"):
        load_config(
            None, ["loss=wgan-gp", "discriminator.kind=dcgan", "discriminator.batch_norm=true"]
        )
    cfg = load_config(
        None, ["loss=wgan-gp", "discriminator.kind=dcgan", "discriminator.batch_norm=false"]
    )
    assert cfg.loss == "wgan-gp"


def test_wgan_warmup_schedule():
    # Arjovsky et al.'s reference code: 100 critic steps for the first 25 G steps and every 500th.
    cfg = load_config("configs/ring8.yaml", ["loss=wgan"])
    wgan = make_loss("wgan", cfg.losses)
    steps = [wgan.critic_steps(cfg.train.k, g) for g in range(1200)]
    hundred = [g for g, k in enumerate(steps) if k == 100]
    assert hundred == [*range(25), 500, 1000]
    assert all(k == cfg.train.k == 5 for g, k in enumerate(steps) if g not in hundred)
    off = load_config("configs/ring8.yaml", ["loss=wgan", "losses.wgan_warmup=false"])
    assert make_loss("wgan", off.losses).critic_steps(off.train.k, 0) == 5
    gp = load_config("configs/ring8.yaml", ["loss=wgan-gp"])
    assert make_loss("wgan-gp", gp.losses).critic_steps(gp.train.k, 0) == 5


# --- D steps and G steps touch only their own network -----------------------------------------


def tiny_trainer(tmp_path, overrides: list[str]) -> Trainer:
    cfg = load_config(
        "configs/ring8.yaml",
        [
            "data.n_train=2000",
            "generator.hidden=[16,16]",
            "discriminator.hidden=[16,16]",
            "train.progress=false",
            "train.batch_size=50",
            *overrides,
        ],
    )
    return Trainer(cfg, tmp_path / "run")


def params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("loss", ["non-saturating", "wgan", "wgan-gp"])
def test_each_step_updates_only_its_own_network(tmp_path, loss):
    t = tiny_trainer(tmp_path, [f"loss={loss}"])
    real = t.real_batch(0)[0]
    z, _ = t.objective.noise(50)
    g0, d0 = params(t.G), params(t.D)
    discriminator_step(t.G, t.D, t.objective.opt_d, t.objective.loss, real, None, z, None)
    assert same(params(t.G), g0) and not same(params(t.D), d0)
    assert all(p.grad is None for p in t.G.parameters())
    g1, d1 = params(t.G), params(t.D)
    generator_step(t.G, t.D, t.objective.opt_g, t.objective.loss, z, None)
    assert same(params(t.D), d1) and not same(params(t.G), g1)


def test_k_discriminator_steps_per_generator_step(tmp_path, monkeypatch):
    t = tiny_trainer(tmp_path, ["train.k=3"])
    calls: list[str] = []
    d_step, g_step = loop.discriminator_step, loop.generator_step
    monkeypatch.setattr(loop, "discriminator_step", lambda *a: calls.append("D") or d_step(*a))
    monkeypatch.setattr(loop, "generator_step", lambda *a: calls.append("G") or g_step(*a))
    for _ in range(4):
        t.algorithm1_iteration()
    assert "".join(calls) == "DDDG" * 4
    assert (t.progress.d_steps, t.progress.g_steps) == (12, 4)


def test_wgan_runs_its_warmup_in_the_loop(tmp_path):
    t = tiny_trainer(tmp_path, ["loss=wgan"])
    t.algorithm1_iteration()
    assert (t.progress.d_steps, t.progress.g_steps) == (100, 1)
    clip = t.objective.loss.clip
    assert max(p.abs().max().item() for p in t.D.parameters()) <= clip


def test_r1_penalty_is_the_squared_gradient_norm_on_reals():
    # A linear critic D(x) = w . x + b has gradient w everywhere: R1 = ‖w‖².
    D = nn.Linear(4, 1)
    real = torch.randn(6, 4)
    expected = D.weight.pow(2).sum()
    assert torch.allclose(r1_penalty(D, real, D(real)), expected)  # scores real itself
    with_grad = real.clone().requires_grad_(True)
    assert torch.allclose(r1_penalty(D, with_grad, D(with_grad)), expected)  # reuses the logits
    # A critic quadratic in x: gradient 2x, so R1 = E 4‖x‖² (not the WGAN-GP (‖g‖ - 1)²).
    assert torch.allclose(r1_penalty(lambda x: x.pow(2).sum(1), real, real.pow(2).sum(1)),
                          4 * real.pow(2).sum(1).mean())


def test_r1_weight_adds_half_gamma_times_the_penalty_to_every_loss():
    torch.manual_seed(0)
    D = nn.Linear(4, 1)
    real, fake = torch.randn(6, 4), torch.randn(6, 4)
    for name in ("non-saturating", "hinge", "lsgan", "wgan-gp"):
        plain = make_loss(name, LossConfig())
        r1 = make_loss(name, LossConfig(r1_weight=3.0))
        assert (plain.r1_weight, r1.r1_weight) == (0.0, 3.0)
        torch.manual_seed(1)  # WGAN-GP's interpolates draw random numbers
        base = discriminator_loss(lambda x, y: D(x).squeeze(1), plain, real, None, fake, None)[0]
        torch.manual_seed(1)
        total = discriminator_loss(lambda x, y: D(x).squeeze(1), r1, real, None, fake, None)[0]
        assert torch.allclose(total - base, 1.5 * D.weight.pow(2).sum()), name


def test_negative_r1_weight_is_refused():
    with pytest.raises(GankitError, match=r"^losses.r1_weight = -1.0 must be >= 0"):
        load_config(REPO / "configs/mnist-dcgan.yaml", ["losses.r1_weight=-1"])
