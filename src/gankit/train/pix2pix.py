"""pix2pix (Isola et al. 2017): paired image-to-image translation as an objective of the loop.

The data are pairs (input a, target b): x is b, `extras["input"]` is a, so a minibatch is
(b, y, a). G is a U-Net, G(a) ~ b; D is a PatchGAN that judges (a, b) against (a, G(a)), the
pair concatenated on channels. G's loss is adversarial_weight * the GAN loss (the config's
`loss`, non-saturating as in the paper) + l1_weight * mean |G(a) - b| (the paper's lambda = 100).
With adversarial_weight = 0 there is no game: no D update is made (the loop's solo schedule,
one G update per minibatch) and G is plain L1 regression, the paper's "L1 alone" ablation.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.config import Config, merged_optim
from gankit.config.schema import Pix2PixConfig
from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.nets.pix2pix import PatchDiscriminator, UNetGenerator
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

INPUT = "input"  # the TrainingData.extras key of the input images
TRIPLES_PER_ROW = 4  # (input, output, truth) triples per row of the per-epoch grids


def side_by_side(*columns: torch.Tensor) -> torch.Tensor:
    """Images of several N-row tensors interleaved (a0, b0, c0, a1, b1, ...), grey ones
    repeated to RGB when any is RGB, so a grid shows each example's images in a row."""
    channels = max(c.shape[1] for c in columns)
    same = [c.expand(-1, channels, -1, -1) if c.shape[1] == 1 else c for c in columns]
    return torch.stack(same, dim=1).flatten(0, 1)


def build_nets(p: Pix2PixConfig, input_shape: tuple[int, ...],
               shape: tuple[int, ...]) -> tuple[UNetGenerator, PatchDiscriminator]:
    """G and D for inputs of `input_shape` (C x H x W) and targets of `shape`; in this order, so
    the global random numbers each init draws are fixed."""
    if len(shape) != 3 or tuple(input_shape[1:]) != tuple(shape[1:]):
        raise GankitError(f"objective pix2pix needs inputs and targets of one height and width "
                          f"(images), got {tuple(input_shape)} and {tuple(shape)}")
    g = UNetGenerator(input_shape[0], shape[0], shape[-1], p.g_base, p.depth, p.dropout)
    d = PatchDiscriminator(input_shape[0], shape[0], p.d_base, p.d_layers)
    if min(shape[-2:]) < 2 or d.output_size(min(shape[-2:])) < 1:
        raise GankitError(f"pix2pix.d_layers = {p.d_layers} leaves no patch of {shape[-2]}x"
                          f"{shape[-1]} images; use fewer layers")
    return g, d


class Pix2PixObjective(Objective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        if INPUT not in data.extras:
            raise GankitError(f"objective pix2pix needs paired data (extras[{INPUT!r}]); "
                              f"data.dataset {cfg.data.dataset} has none")
        p = cfg.pix2pix
        self.cfg, self.device = cfg, device
        self.l1_weight, self.adv_weight = p.l1_weight, p.adversarial_weight
        self.adversarial = p.adversarial_weight > 0
        self.input_shape = tuple(data.extras[INPUT].shape[1:])
        self.G, self.D = (net.to(device) for net in build_nets(p, self.input_shape, data.shape))
        for net in (self.G, self.D):
            prepare_net(net, cfg.train, device)
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        fused = cfg.train.fused_optim
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg, fused)
        self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, fused)
        self.loss = make_loss(cfg.loss, cfg.losses)
        self.probabilities = self.loss.probabilities
        self.G_ema = None
        # The per-epoch grids show G on the first training inputs; the health monitor counts
        # its fixed inputs in `fixed_z` (for a GAN, the fixed noise).
        self.fixed_input = data.extras[INPUT][: cfg.train.n_sample_grid].to(device)
        self.fixed_target = data.x[: cfg.train.n_sample_grid]  # the grids' ground truth
        self.fixed_z = self.fixed_input
        self.last: dict[str, float] = {}

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        g, d = build_nets(cfg.pix2pix, tuple(state["input_shape"]), shape)
        g.load_state_dict(state["generator"])
        d.load_state_dict(state["discriminator"])
        return {"generator": g, "discriminator": d}

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    # --- the updates --------------------------------------------------------------------------
    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        """D learns to tell (a, b) from (a, G(a)); G is not touched."""
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        b, a = batch[0], batch[2]
        with torch.no_grad():
            fake = self.G(a)
        real_logits, fake_logits = self.D(a, b), self.D(a, fake)
        total = self.loss.critic_loss(lambda x: self.D(a, x), real_logits, fake_logits, b, fake)
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        self.loss.after_critic_step(self.D)
        return {"d_loss": total.detach(), "real_logits": real_logits.detach(),
                "fake_logits": fake_logits.detach()}

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        """G's update on D's last minibatch: the weighted GAN loss through a frozen D plus L1."""
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        b, a = batch[0], batch[2]
        with frozen(self.D):
            fake = self.G(a)
            l1 = (fake - b).abs().mean()
            total = self.l1_weight * l1
            stats: Stats = {"l1": l1.detach()}
            if self.adversarial:
                logits = self.D(a, fake)
                adv = self.loss.g_loss(logits)
                total = total + self.adv_weight * adv
                stats.update(g_adv=adv.detach(), fake_logits_g=logits.detach())
            self.opt_g.zero_grad(set_to_none=True)
            total.backward()
        self.opt_g.step()
        self.last = {k: v.item() for k, v in stats.items() if v.dim() == 0}
        return {**stats, "g_loss": total.detach()}

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        self.G.train()
        self.D.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        """G's outputs on the first n training inputs, in eval mode (no dropout)."""
        with eval_mode(self.G):
            return self.G(self.fixed_input[:n]).cpu()

    @torch.no_grad()
    def preview_grid(self, n: int) -> tuple[torch.Tensor, int | None]:
        """The per-epoch grids: for the first training pairs, input | output | truth side by
        side, TRIPLES_PER_ROW triples a row (n // 3 pairs, whole rows when there are several);
        a grey image beside RGB ones is shown in RGB."""
        k = min(len(self.fixed_input), max(1, n // 3))
        if k > TRIPLES_PER_ROW:
            k -= k % TRIPLES_PER_ROW
        tiles = side_by_side(self.fixed_input[:k].cpu(), self.preview(k),
                             self.fixed_target[:k].cpu())
        return tiles, 3 * min(k, TRIPLES_PER_ROW)

    def diagnostics(self) -> dict[str, float]:
        out = {**self.last, "g_grad_norm": grad_norm(self.G),
               "lr_g": self.opt_g.param_groups[0]["lr"]}
        if self.adversarial:
            out.update(d_grad_norm=grad_norm(self.D), lr_d=self.opt_d.param_groups[0]["lr"])
        return out

    def first_non_finite(self, stats: Stats) -> str:
        if name := first_bad_stat(stats, ("real_logits", "fake_logits", "fake_logits_g", "l1")):
            return f"D's logits ({name})" if name != "l1" else "the L1 loss (G's output)"
        return first_bad_parameter((("G", self.G), ("D", self.D)))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "input_shape": list(self.input_shape),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if tuple(state["input_shape"]) != self.input_shape:
            raise ValueError(f"inputs of shape {tuple(state['input_shape'])} in the checkpoint, "
                             f"{self.input_shape} in the data")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
