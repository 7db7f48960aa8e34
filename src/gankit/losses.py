"""GAN losses as small functions of discriminator logits.

Every function takes raw logits (no sigmoid) so the log-terms are computed stably with softplus:
log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l) for D(x) = sigmoid(l).
Each `d_*` function is the discriminator's loss to minimise; each `g_*` the generator's.

| name           | D (critic) loss                          | G loss                    | source |
|----------------|------------------------------------------|---------------------------|--------|
| minimax        | -V(D, G)                                 | log(1 - D(G(z)))          | Goodfellow et al. 2014, eq. 1 |
| non-saturating | -V(D, G)                                 | -log D(G(z))              | Goodfellow et al. 2014, §3 |
| lsgan          | ½(D(x)-b)² + ½(D(G(z))-a)²               | ½(D(G(z))-c)²             | Mao et al. 2017, eq. 2 |
| wgan           | D(G(z)) - D(x), weights clipped          | -D(G(z))                  | Arjovsky et al. 2017, Alg. 1 |
| wgan-gp        | D(G(z)) - D(x) + λ(‖∇D(x̂)‖₂ - 1)²        | -D(G(z))                  | Gulrajani et al. 2017, Alg. 1 |
| hinge          | relu(1 - D(x)) + relu(1 + D(G(z)))       | -D(G(z))                  | Lim & Ye 2017; Miyato et al. 2018 |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import GankitError


def d_loss_minimax(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-V(D, G) = -(E log D(x) + E log(1 - D(G(z))))."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_loss_saturating(fake: torch.Tensor) -> torch.Tensor:
    """E log(1 - D(G(z))), the generator's side of the minimax game (saturates when D wins)."""
    return -F.softplus(fake).mean()


def g_loss_non_saturating(fake: torch.Tensor) -> torch.Tensor:
    """-E log D(G(z)): same fixed point, strong gradients early in training (paper §3)."""
    return F.softplus(-fake).mean()


def d_loss_lsgan(
    real: torch.Tensor, fake: torch.Tensor, a: float = 0.0, b: float = 1.0
) -> torch.Tensor:
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def g_loss_lsgan(fake: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    return 0.5 * ((fake - c) ** 2).mean()


def d_loss_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic minimises E D(G(z)) - E D(x), an estimate of -W(p_data, p_g)."""
    return fake.mean() - real.mean()


def g_loss_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_loss_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """E (‖∇D(x̂)‖₂ - 1)² on x̂ = x + α(x̃ - x), α ~ U(0, 1) per sample (Gulrajani et al. 2017)."""
    alpha = torch.rand(
        real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype
    )
    mixed = (real + alpha * (fake - real)).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, real_logits: Tensor) -> Tensor:
    """E ‖∇D(x)‖₂² on real x (Mescheder et al. 2018, R1). Uses `real_logits` when `real` already
    requires grad (discriminator_loss sets it, saving a forward pass), else scores `real` again."""
    if not real.requires_grad:
        real = real.detach().requires_grad_(True)
        real_logits = critic(real)
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


@dataclass
class LossConfig:
    """The `losses:` config section: the parameters each loss reads."""

    lsgan_a: float = 0.0  # LSGAN labels: fake a, real b, G's target c (official code: 0, 1, 1)
    lsgan_b: float = 1.0
    lsgan_c: float = 1.0
    clip: float = 0.01  # WGAN weight clipping
    gp_weight: float = 10.0  # WGAN-GP lambda
    r1_weight: float = 0.0  # any loss: gamma of R1, gamma/2 E‖∇D(x)‖² on reals; 0 is off
    wgan_warmup: bool = True  # WGAN: 100 critic steps for the first 25 G steps and every 500th


@dataclass(frozen=True)
class Loss:
    """A loss and its training rules: everything a training step needs to know about it."""

    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    probabilities: bool  # True when sigmoid(logit) is D's probability that x is real
    clip: float = 0.0  # WGAN: clip D's weights to [-clip, clip] after every D step
    gp_weight: float = 0.0  # WGAN-GP: lambda
    warmup: bool = False  # WGAN: extra critic steps early on (see critic_steps)
    r1_weight: float = 0.0  # R1's gamma (Mescheder et al. 2018); 0 is off

    def critic_loss(self, critic: Callable[[Tensor], Tensor], real_logits: Tensor,
                    fake_logits: Tensor, real: Tensor, fake: Tensor) -> Tensor:
        """D's loss, with WGAN-GP's penalty on interpolates when the loss has one and R1's on
        reals when r1_weight is set."""
        gp = self.gp_weight * gradient_penalty(critic, real, fake.detach()) if self.gp_weight else 0
        r1 = self.r1_weight / 2 * r1_penalty(critic, real, real_logits) if self.r1_weight else 0
        return self.d_loss(real_logits, fake_logits) + gp + r1

    @torch.no_grad()
    def after_critic_step(self, D: torch.nn.Module) -> None:
        """WGAN: keep every critic weight in [-clip, clip] (Arjovsky et al. 2017); 0 is off."""
        if self.clip:
            for p in D.parameters():
                p.clamp_(-self.clip, self.clip)

    def critic_steps(self, k: int, g_steps: int) -> int:
        """k, except WGAN's warm-up: 100 critic steps for the first 25 G steps and every 500th
        (Arjovsky et al. 2017, reference code), so the critic stays near optimal."""
        if self.warmup and (g_steps < 25 or g_steps % 500 == 0):
            return 100
        return k


@dataclass(frozen=True)
class LossSpec:
    """One entry of the loss registry: how to build the loss, and its paper's training rules."""

    build: Callable[[str, LossConfig], Loss]
    # The original paper's optimiser and k, applied when `--set loss=NAME` switches a config to
    # this loss (values you also --set win).
    defaults: dict = field(default_factory=dict)


def _lsgan(name: str, p: LossConfig) -> Loss:
    return Loss(
        name,
        lambda r, f: d_loss_lsgan(r, f, p.lsgan_a, p.lsgan_b),
        lambda f: g_loss_lsgan(f, p.lsgan_c),
        probabilities=False,
    )


# WGAN: RMSProp 5e-5, n_critic 5 (Arjovsky et al. 2017, Alg. 1); WGAN-GP: Adam 1e-4, betas
# (0, 0.9), n_critic 5 (Gulrajani et al. 2017, Alg. 1); LSGAN: Adam 2e-4, beta1 0.5 (Mao et al.
# 2017, §4); hinge as in SN-GAN (Miyato et al. 2018): Adam 2e-4, betas (0, 0.9).
LOSSES: dict[str, LossSpec] = {
    "minimax": LossSpec(lambda n, p: Loss(n, d_loss_minimax, g_loss_saturating, True)),
    "non-saturating": LossSpec(lambda n, p: Loss(n, d_loss_minimax, g_loss_non_saturating, True)),
    "lsgan": LossSpec(
        _lsgan, {"optim": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999], "lr_decay": 1.0}}
    ),
    "wgan": LossSpec(
        lambda n, p: Loss(
            n, d_loss_wasserstein, g_loss_wasserstein, False, clip=p.clip, warmup=p.wgan_warmup
        ),
        {"optim": {"name": "rmsprop", "lr": 5e-5, "lr_decay": 1.0}, "train": {"k": 5}},
    ),
    "wgan-gp": LossSpec(
        lambda n, p: Loss(n, d_loss_wasserstein, g_loss_wasserstein, False, gp_weight=p.gp_weight),
        {
            "optim": {"name": "adam", "lr": 1e-4, "betas": [0.0, 0.9], "lr_decay": 1.0},
            "train": {"k": 5},
        },
    ),
    "hinge": LossSpec(
        lambda n, p: Loss(n, d_loss_hinge, g_loss_wasserstein, False),
        {"optim": {"name": "adam", "lr": 2e-4, "betas": [0.0, 0.9], "lr_decay": 1.0}},
    ),
}
LOSS_NAMES = tuple(LOSSES)
LOSS_DEFAULTS: dict[str, dict] = {name: spec.defaults for name, spec in LOSSES.items()}


def make_loss(name: str, params: LossConfig | None = None) -> Loss:
    if name not in LOSSES:
        raise GankitError(f"unknown loss {name!r}; choose one of: {', '.join(LOSS_NAMES)}")
    params = params or LossConfig()
    loss = LOSSES[name].build(name, params)
    return replace(loss, r1_weight=params.r1_weight) if params.r1_weight else loss


# --- semi-supervised GAN (Salimans et al. 2016, §5; objective semi, train/semi.py) -------------
def real_fake_logit(class_logits: Tensor) -> Tensor:
    """The (K+1)-class D's real/fake logit: with the fake class's logit fixed at 0,
    D(x) = 1 - p(K+1 | x) = Z / (Z + 1) with Z = sum_k exp(l_k), i.e. sigmoid(logsumexp(l))."""
    return torch.logsumexp(class_logits, dim=1)


def d_loss_semi(labelled_logits: Tensor, labels: Tensor, unlabelled_logits: Tensor,
                fake_logits: Tensor, unlabelled_weight: float = 1.0) -> Tensor:
    """L_supervised + w L_unsupervised (Salimans et al. 2016, eq. 4-5): cross-entropy of the K
    classes on labelled data, plus -E log D(x) - E log(1 - D(G(z))) with D(x) as above."""
    supervised = F.cross_entropy(labelled_logits, labels)
    unsupervised = d_loss_minimax(real_fake_logit(unlabelled_logits),
                                  real_fake_logit(fake_logits))
    return supervised + unlabelled_weight * unsupervised


def g_loss_feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """||E f(x) - E f(G(z))||_2^2 over a minibatch, f an intermediate layer of D (§3.1)."""
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).pow(2).sum()
