"""Objective inpaint: one generator for every conditional p(x_S | x_not S) of an image.

Each example gets a mask S drawn from `inpaint.masks` (data/masks.py). G(z, x_not S, S)
generates the hidden pixels; the visible ones are the real ones. D judges (image, mask) pairs:
a real image or its completion, both with the same mask, so D can only tell them apart by
the hidden pixels and how they fit the visible ones. With `inpaint.adversarial: false` there is
no D and no noise: G is a deterministic completion net trained by L2 on the hidden pixels
(the baseline of benchmarks/inpaint.py), updated once per real minibatch.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.config import Config, merged_optim
from gankit.data.masks import sample_masks
from gankit.losses import make_loss
from gankit.nets.inpaint import build_inpaint_discriminator, build_inpaint_generator
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
from gankit.train.steps import (
    discriminator_step,
    frozen,
    generator_step,
    grad_norm,
    make_optimizer,
    set_schedule,
)

FIXED_SEED = 12345  # offset of the preview's noise and masks from the run's seed


def hidden_l2(completed: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hidden pixels (mask == 1) of the batch."""
    hidden = mask.expand_as(real)
    return ((completed - real) ** 2 * hidden).sum() / hidden.sum().clamp_min(1.0)


def hidden_l1(completed: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hidden pixels (mask == 1) of the batch."""
    hidden = mask.expand_as(real)
    return ((completed - real).abs() * hidden).sum() / hidden.sum().clamp_min(1.0)


MS_EPS = 1e-5  # keeps the mode-seeking term finite when two completions are equal


def mode_seeking(a: torch.Tensor, b: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
                 eps: float = MS_EPS) -> torch.Tensor:
    """Mao et al. 2019's mode-seeking term to minimise: 1 / (ratio + eps), ratio =
    mean|a - b| / mean|z1 - z2| for a = G(c, z1), b = G(c, z2) of the same conditions c
    (means over the whole batch, as the paper's code takes them)."""
    ratio = (a - b).abs().mean() / (z1 - z2).abs().mean()
    return 1.0 / (ratio + eps)


class InpaintObjective(Objective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device = cfg, device
        self.adversarial = cfg.inpaint.adversarial
        self.size = tuple(data.shape[1:])
        self.G = build_inpaint_generator(cfg, data.shape).to(device)
        self.D = build_inpaint_discriminator(cfg, data.shape).to(device) if self.adversarial else None
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        fused = cfg.train.fused_optim
        prepare_net(self.G, cfg.train, device)
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg, fused)
        self.opt_d = None
        if self.D is not None:
            prepare_net(self.D, cfg.train, device)
            self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, fused)
        self.loss = make_loss(cfg.loss, cfg.losses)
        self.probabilities = self.loss.probabilities
        # The preview: held-out images (MNIST's validation split) with fixed masks and noise,
        # from their own generator so they never move the run's random stream.
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_SEED)
        n_grid = cfg.train.n_sample_grid
        pool = data.valid if data.valid is not None else data.x
        self.fixed_x = pool[torch.arange(n_grid) % len(pool)].to(device)
        self.fixed_mask = self.masks(n_grid, fixed)
        self.fixed_z = self.G.sample_z(n_grid, generator=fixed)

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        g = build_inpaint_generator(cfg, shape)
        g.load_state_dict(state["generator"])
        nets: dict[str, torch.nn.Module] = {"generator": g}
        if state.get("discriminator") is not None:
            d = build_inpaint_discriminator(cfg, shape)
            d.load_state_dict(state["discriminator"])
            nets["discriminator"] = d
        return nets

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    def masks(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        p = self.cfg.inpaint
        return sample_masks(n, self.size, p.masks, p.box_size, generator).to(self.device)

    def _completer(self, x: torch.Tensor) -> Any:
        """G as the update steps call it, G(z, mask): the completion of this real batch."""
        return lambda z, mask: self.G.complete(z, x, mask)

    # --- the updates --------------------------------------------------------------------------
    def critic_steps(self, k: int, g_steps: int) -> int:
        return self.loss.critic_steps(k, g_steps)

    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        x = batch[0]
        mask, z = self.masks(len(x)), self.G.sample_z(len(x))
        # Real and completed images with the same masks: only the hidden pixels differ.
        return discriminator_step(self._completer(x), self.D, self.opt_d, self.loss, x, mask, z,
                                  mask)

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        x = batch[0]
        mask, z = self.masks(len(x)), self.G.sample_z(len(x))
        p = self.cfg.inpaint
        if self.adversarial and (p.mode_seeking or p.reconstruction):
            return self._regularised_g_step(x)
        if self.adversarial:
            return generator_step(self._completer(x), self.D, self.opt_g, self.loss, z, mask)
        loss = hidden_l2(self.G.complete(z, x, mask), x, mask)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"g_loss": loss.detach()}

    def _regularised_g_step(self, x: torch.Tensor) -> Stats:
        """G's adversarial loss plus the weighted mode-seeking and hidden-L1 terms. With mode
        seeking, the first half of the batch is completed twice, with z1 and with z2 (same
        masks): as many completions as the plain step makes, so a step costs the same."""
        p = self.cfg.inpaint
        half = len(x) // 2 if p.mode_seeking else len(x)
        mask = self.masks(half)
        z = self.G.sample_z(2 * half if p.mode_seeking else half)
        if p.mode_seeking:
            x, mask = torch.cat([x[:half], x[:half]]), torch.cat([mask, mask])
        with frozen(self.D):
            fake = self.G.complete(z, x, mask)
            fake_logits = self.D(fake, mask)
            g_loss = self.loss.g_loss(fake_logits)
            stats: Stats = {"g_adv_loss": g_loss.detach()}
            if p.mode_seeking:
                # over the hidden pixels only, what G generates (the visible ones are equal)
                hidden = mask[:half].expand_as(fake[:half]) > 0
                ms = mode_seeking(fake[:half][hidden], fake[half:][hidden], z[:half], z[half:])
                g_loss = g_loss + p.mode_seeking * ms
                stats["g_ms_loss"] = ms.detach()
            if p.reconstruction:
                l1 = hidden_l1(fake, x, mask)
                g_loss = g_loss + p.reconstruction * l1
                stats["g_l1_loss"] = l1.detach()
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        self.opt_g.step()
        return {"g_loss": g_loss.detach(), "fake_logits_g": fake_logits.detach(), **stats}

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        for net in (self.G, self.D):
            if net is not None:
                net.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G.complete(self.fixed_z[:n], self.fixed_x[:n], self.fixed_mask[:n]).cpu()

    def diagnostics(self) -> dict[str, float]:
        out = {"g_grad_norm": grad_norm(self.G), "lr_g": self.opt_g.param_groups[0]["lr"]}
        if self.D is not None:
            out.update(d_grad_norm=grad_norm(self.D), lr_d=self.opt_d.param_groups[0]["lr"])
        return out

    def first_non_finite(self, stats: Stats) -> str:
        if name := first_bad_stat(stats, ("real_logits", "fake_logits", "fake_logits_g")):
            return f"D's logits ({name})"
        return first_bad_parameter((("G", self.G), ("D", self.D)))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict() if self.D is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.D is not None:
            if state.get("discriminator") is None:
                raise KeyError("the checkpoint has no discriminator (inpaint.adversarial: false)")
            self.D.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
