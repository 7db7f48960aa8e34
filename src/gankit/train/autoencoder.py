"""A plain autoencoder, BiGAN's baseline: the same encoder E(x) and decoder G(z) as objective
bigan (train/bigan.py builds both), trained to reconstruct, with no discriminator.

The loss is the mean squared error per pixel between G(E(x)) and x; G and E share one optimiser
(g_optim). No prior is matched, so G's samples from the prior are not meant to look like data:
the per-epoch grids show reconstructions of the first training images instead.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, merged_optim
from gankit.train.bigan import FIXED_NOISE_SEED, build_nets, load_nets
from gankit.train.objective import Batch, Clock, Objective, Stats, eval_mode, first_bad_parameter
from gankit.train.speedups import prepare_net
from gankit.train.steps import grad_norm, make_optimizer, set_schedule


def reconstruction_loss(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """L2 reconstruction: the squared error averaged over pixels and rows."""
    return F.mse_loss(recon, x)


class AutoencoderObjective(Objective):
    adversarial = False  # the loop calls g_update once per real minibatch

    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device = cfg, device
        nets = build_nets(cfg, data.shape, data_mean=data.x.mean(dim=0), with_d=False)
        self.G, self.E = nets["generator"].to(device), nets["encoder"].to(device)
        for net in (self.G, self.E):
            prepare_net(net, cfg.train, device)
        self.opt_cfg = merged_optim(cfg, "g_optim")
        self.opt_g = make_optimizer(itertools.chain(self.G.parameters(), self.E.parameters()),
                                    self.opt_cfg, cfg.train.fused_optim)
        self.G_ema = None
        n_grid = cfg.train.n_sample_grid
        # The monitor reads len(fixed_z) as the number of preview images there are.
        self.fixed_z = self.G.sample_z(n_grid, torch.Generator().manual_seed(
            cfg.seed + FIXED_NOISE_SEED)).to(device)
        self.fixed_x = data.x[:n_grid].to(device)

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, nn.Module]:
        return load_nets(cfg, shape, state, with_d=False)

    @property
    def sampler(self) -> nn.Module:
        return self.G

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt_g, self.opt_cfg, clock.g_steps, clock.epoch)
        x = batch[0]
        loss = reconstruction_loss(x, self.G(self.E(x)))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"g_loss": loss.detach()}

    def train_mode(self) -> None:
        self.G.train()
        self.E.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        """Reconstructions G(E(x)) of the first n training images."""
        with eval_mode(self.G), eval_mode(self.E):
            return self.G(self.E(self.fixed_x[:n])).cpu()

    def diagnostics(self) -> dict[str, float]:
        return {"g_grad_norm": grad_norm(self.G), "e_grad_norm": grad_norm(self.E),
                "lr_g": self.opt_g.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        return first_bad_parameter((("G", self.G), ("E", self.E)))

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.G.state_dict(), "encoder": self.E.state_dict(),
                "g_ema": None, "opt_g": self.opt_g.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.E.load_state_dict(state["encoder"])
        self.opt_g.load_state_dict(state["opt_g"])
