"""BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): learned approximate inference.

An encoder E(x) -> z is trained with the generator G(z) -> x against a discriminator that
judges joint pairs: (x, E(x)) for a training image x is "real", (G(z), z) for a prior draw z is
"fake". At the optimum the two joint distributions agree, so E inverts G (Donahue et al. §3).

D's loss is the minimax cross-entropy. G and E share one loss and one optimiser: the same
cross-entropy with the labels inverted (pairs (x, E(x)) labelled fake, (G(z), z) real), the
non-saturating form of the game for both players. One optimiser over G's and E's parameters
is one descent step on that shared loss, as the authors' code updates them together; two
optimisers with equal settings would take the same step, only with more state to save.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from gankit.config import Config, merged_optim
from gankit.losses import d_loss_minimax
from gankit.nets import build_generator
from gankit.nets.bigan import build_encoder, build_joint_discriminator
from gankit.train.objective import (
    Batch,
    Clock,
    Objective,
    Stats,
    eval_mode,
    first_bad_parameter,
    first_bad_stat,
)
from gankit.train.speedups import prepare_net
from gankit.train.steps import frozen, grad_norm, make_optimizer, set_schedule

FIXED_NOISE_SEED = 12345  # the per-epoch grids' noise, as for the GAN (gan.py)


def joint_logits(D: nn.Module, E: nn.Module, G: nn.Module, x: torch.Tensor,
                 z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """D's logits on the real pairs (x[i], E(x)[i]) and on the fake pairs (G(z)[i], z[i])."""
    return D(x, E(x)), D(G(z), z)


def bigan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(x, E(x)) - E log(1 - D(G(z), z))."""
    return d_loss_minimax(real_logits, fake_logits)


def bigan_ge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's and E's loss, D's labels inverted: -E log(1 - D(x, E(x))) - E log D(G(z), z)."""
    return d_loss_minimax(fake_logits, real_logits)


def build_nets(cfg: Config, shape: tuple[int, ...], data_mean: torch.Tensor | None = None,
               with_d: bool = True) -> dict[str, nn.Module]:
    """G, E (and D), built in this order: it fixes which global random numbers each init draws."""
    nets = {"generator": build_generator(cfg, shape, 0, data_mean=data_mean),
            "encoder": build_encoder(cfg, shape)}
    if with_d:
        nets["discriminator"] = build_joint_discriminator(cfg, shape)
    return nets


def load_nets(cfg: Config, shape: tuple[int, ...], state: dict[str, Any],
              with_d: bool = True) -> dict[str, nn.Module]:
    nets = build_nets(cfg, shape, with_d=with_d)
    for name, net in nets.items():
        net.load_state_dict(state[name])
    return nets


class BiGANObjective(Objective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device, self.batch_size = cfg, device, cfg.train.batch_size
        nets = build_nets(cfg, data.shape, data_mean=data.x.mean(dim=0))
        self.G, self.E, self.D = (nets[k].to(device) for k in ("generator", "encoder",
                                                                "discriminator"))
        for net in (self.G, self.E, self.D):
            prepare_net(net, cfg.train, device)
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        fused = cfg.train.fused_optim
        self.opt_g = make_optimizer(itertools.chain(self.G.parameters(), self.E.parameters()),
                                    self.g_opt_cfg, fused)
        self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, fused)
        self.G_ema = None
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
        self.fixed_z = self.G.sample_z(cfg.train.n_sample_grid, generator=fixed).to(device)

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, nn.Module]:
        return load_nets(cfg, shape, state)

    @property
    def sampler(self) -> nn.Module:
        return self.G

    def noise(self, n: int) -> torch.Tensor:
        return self.G.sample_z(n).to(self.device)

    # --- the updates --------------------------------------------------------------------------
    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        x, z = batch[0], self.noise(self.batch_size)
        with torch.no_grad():  # D's step leaves G and E untouched
            code, fake = self.E(x), self.G(z)
        real_logits, fake_logits = self.D(x, code), self.D(fake, z)
        loss = bigan_d_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"d_loss": loss.detach(), "real_logits": real_logits.detach(),
                "fake_logits": fake_logits.detach()}

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        """G and E together through a frozen D; E encodes D's last real minibatch."""
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        z = self.noise(self.batch_size)
        with frozen(self.D):
            real_logits, fake_logits = joint_logits(self.D, self.E, self.G, batch[0], z)
            loss = bigan_ge_loss(real_logits, fake_logits)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        self.opt_g.step()
        return {"g_loss": loss.detach(), "fake_logits_g": fake_logits.detach()}

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        for net in (self.G, self.E, self.D):
            net.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(self.fixed_z[:n]).cpu()

    def diagnostics(self) -> dict[str, float]:
        return {"g_grad_norm": grad_norm(self.G), "e_grad_norm": grad_norm(self.E),
                "d_grad_norm": grad_norm(self.D), "lr_g": self.opt_g.param_groups[0]["lr"],
                "lr_d": self.opt_d.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        if name := first_bad_stat(stats, ("real_logits", "fake_logits", "fake_logits_g")):
            return f"D's logits ({name})"
        return first_bad_parameter((("G", self.G), ("E", self.E), ("D", self.D)))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.G.state_dict(), "encoder": self.E.state_dict(),
                "discriminator": self.D.state_dict(), "g_ema": None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.E.load_state_dict(state["encoder"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
