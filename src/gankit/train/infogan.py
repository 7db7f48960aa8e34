"""InfoGAN (Chen et al. 2016): the GAN game plus a network Q that reads G's sample and guesses
the categorical code in its z (`generator.z_categories`); G and Q both minimise Q's
cross-entropy, a lower bound on the mutual information between the code and the sample
(InfoGAN's L_I, up to the code's fixed entropy log K).

Why it is here: a G that is continuous in z maps the connected z-space onto a connected set, so
on data of separate modes (the 2-D grid) it leaves samples on bridges between them. A discrete
code lets G jump between modes, but a plain GAN is free to ignore the code, and does (its
categories each spread over many modes). The information term makes each category's samples
recognisable, so each category settles on its own region of the data.

Q is a separate MLP (InfoGAN shares D's body; a separate Q keeps D exactly the GAN's D, so D's
step, packing, joint passes and rejection sampling are the plain GAN's). D's updates are the GAN
objective's; only G's update differs, and Q is updated beside it with G's optimiser settings.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.losses import Loss
from gankit.train.gan import GANObjective
from gankit.train.objective import Batch, Clock, Stats, first_bad_parameter
from gankit.train.steps import frozen, make_optimizer, set_schedule


class CodePredictor(nn.Module):
    """Q(c | x): an MLP with leaky-ReLU hidden layers from a flattened sample to K logits."""

    def __init__(self, in_features: int, hidden: list[int], categories: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, categories))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def code_of(z: torch.Tensor, z_continuous: int) -> torch.Tensor:
    """The category index of each row of z (its one-hot tail after the continuous part)."""
    return z[:, z_continuous:].argmax(dim=1)


def info_generator_step(G: nn.Module, D: nn.Module, Q: nn.Module, opt_g: torch.optim.Optimizer,
                        opt_q: torch.optim.Optimizer, loss: Loss, z: torch.Tensor,
                        code: torch.Tensor, y_fake: torch.Tensor | None,
                        weight: float) -> Stats:
    """One update of G and Q through a frozen D: G's loss is the GAN loss + weight * L_I, where
    L_I is the cross-entropy of Q's guess of the code; Q descends L_I alone (InfoGAN's
    lambda * L_I, written as the cross-entropy, which differs from -I by a constant)."""
    with frozen(D):
        fake = G(z, y_fake)
        fake_logits = D(fake, y_fake)
        g_loss = loss.g_loss(fake_logits)
        info_loss = F.cross_entropy(Q(fake), code)
        opt_g.zero_grad(set_to_none=True)
        opt_q.zero_grad(set_to_none=True)
        # G's gradient of weight * L_I is the weighted one; Q's is rescaled below to L_I's own.
        (g_loss + weight * info_loss).backward()
    if weight > 0:
        for p in Q.parameters():
            if p.grad is not None:
                p.grad.div_(weight)
    opt_g.step()
    opt_q.step()
    return {"g_loss": g_loss.detach(), "info_loss": info_loss.detach(),
            "fake_logits_g": fake_logits.detach()}


class InfoGANObjective(GANObjective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        super().__init__(cfg, data, device)  # G, D and their optimisers as in objective gan
        self.categories = self.G.z_categories
        self.Q = CodePredictor(math.prod(data.shape), cfg.info.hidden, self.categories).to(device)
        self.opt_q = make_optimizer(self.Q.parameters(), self.g_opt_cfg, cfg.train.fused_optim)
        self.weight = cfg.info.weight
        self.Q_step = self.Q  # or its DDP wrapper (distribute)

    def distribute(self, world: Any, sync_bn: bool) -> None:
        super().distribute(world, sync_bn)
        self.Q_step = world.wrap(self.Q, self.device, sync_bn)

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        for opt in (self.opt_g, self.opt_q):
            set_schedule(opt, self.g_opt_cfg, clock.g_steps, clock.epoch)
        z, y_fake = self.noise(self.batch_size)
        stats = info_generator_step(self.G_step, self.D_g, self.Q_step, self.opt_g, self.opt_q,
                                    self.loss, z, code_of(z, self.G.z_continuous), y_fake,
                                    self.weight)
        self._update_ema(clock.g_steps)
        return stats

    @torch.no_grad()
    def code_accuracy(self, n: int = 2500, seed: int = 0) -> float:
        """The share of n fresh samples of the sampler whose code Q names correctly."""
        g = torch.Generator().manual_seed(seed)
        sampler = self.sampler
        z = sampler.sample_z(n, generator=g).to(self.device)
        was = sampler.training
        sampler.eval()
        try:
            guess = self.Q(sampler(z)).argmax(dim=1)
        finally:
            sampler.train(was)
        return (guess == code_of(z, sampler.z_continuous)).float().mean().item()

    def train_mode(self) -> None:
        super().train_mode()
        self.Q.train()

    def diagnostics(self) -> dict[str, float]:
        return {**super().diagnostics(), "lr_q": self.opt_q.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        if "info_loss" in stats and not torch.isfinite(stats["info_loss"]).all():
            return first_bad_parameter((("Q", self.Q),), "Q's cross-entropy (info_loss)")
        return super().first_non_finite(stats)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "q": self.Q.state_dict(), "opt_q": self.opt_q.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.Q.load_state_dict(state["q"])
        self.opt_q.load_state_dict(state["opt_q"])
