"""The adversarial game of Goodfellow et al. (2014) with any loss of the registry: D tells
training data from G's samples, G learns to fool it. Conditional when the data has labels and
`data.conditional` is set (Mirza & Osindero 2014): both players then see the label."""

from __future__ import annotations

from typing import Any

import torch

from gankit.augment import AugmentedD, make_augment
from gankit.config import Config, merged_optim
from gankit.losses import make_loss
from gankit.nets import build_discriminator, build_generator
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
from gankit.train.standing_stats import recompute_for_config
from gankit.train.steps import (
    discriminator_step,
    generator_step,
    grad_norm,
    joint_discriminator_step,
    make_optimizer,
    set_schedule,
    simultaneous_step,
    topk_keep,
)

FIXED_NOISE_SEED = 12345  # offset of the per-epoch grids' noise from the run's seed


def _whole(t: torch.Tensor) -> torch.Tensor:
    return t  # one process: a global batch is this process's batch


class GANObjective(Objective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device = cfg, device
        self.conditional = cfg.data.conditional
        self.n_classes = data.n_classes
        self.batch_size = cfg.train.batch_size
        # The order below fixes which global random numbers each network's init draws.
        mean = data.x.mean(dim=0) if data.is_image else None  # per pixel
        self.G = build_generator(cfg, data.shape, data.n_classes, data_mean=mean).to(device)
        self.D = build_discriminator(cfg, data.shape, data.n_classes).to(device)
        for net in (self.G, self.D):  # layout, precision, compilation: train/speedups.py
            prepare_net(net, cfg.train, device)
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        fused = cfg.train.fused_optim
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg, fused)
        self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, fused)
        self.loss = make_loss(cfg.loss, cfg.losses)
        # train.joint_d_pass: D scores the real and fake minibatch in one pass (steps.py); None:
        # discriminator_step, looked up when called
        self.d_step = joint_discriminator_step if cfg.train.joint_d_pass else None
        self.probabilities = self.loss.probabilities
        # DiffAugment / ADA (gankit/augment.py); augment.kind none: a NoAugment that does nothing
        self.augment = make_augment(cfg.augment, cfg.train.batch_size)
        self.G_ema = None
        self.ema, self.ema_warmup = cfg.train.ema, cfg.train.ema_warmup
        # train.ema_bn recompute: G_ema's batch-norm statistics are recomputed when it is next
        # sampled or saved after an update (train/standing_stats.py); copy: copied at each update
        self.recompute_bn, self._bn_stale = cfg.train.ema_bn == "recompute", True
        if cfg.train.ema:
            self.G_ema = build_generator(cfg, data.shape, data.n_classes).to(device)
            self.G_ema.load_state_dict(self.G.state_dict())
            self.G_ema.eval().requires_grad_(False)
        # Fixed noise for the per-epoch grids, from its own generator so it never moves the run's RNG.
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
        n_grid = cfg.train.n_sample_grid if data.is_image else 2500
        self.fixed_z = self.G.sample_z(n_grid, generator=fixed).to(device)
        self.fixed_y = (
            (torch.arange(n_grid) % data.n_classes).to(device) if self.conditional else None
        )
        # What the update steps call: the nets themselves, or their DDP wrappers (distribute).
        self.G_step, self.D_step, self.shard = self.G, self.D, _whole
        self.D_g = self.D  # the D that G's step runs through
        self._augment_d()

    def _augment_d(self) -> None:
        """With augmentation on, every step sees D through it (gankit.augment.AugmentedD)."""
        if self.augment.on:
            self.D_step = AugmentedD(self.D_step, self.augment)
            self.D_g = AugmentedD(self.D, self.augment)

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        g = build_generator(cfg, shape, n_classes)
        d = build_discriminator(cfg, shape, n_classes)
        g.load_state_dict(state["g_ema"] if state.get("g_ema") else state["generator"])
        d.load_state_dict(state["discriminator"])
        return {"generator": g, "discriminator": d}

    def distribute(self, world: Any, sync_bn: bool) -> None:
        self.shard = world.shard
        self.G_step = world.wrap(self.G, self.device, sync_bn)
        self.D_step = world.wrap(self.D, self.device, sync_bn)
        self._augment_d()

    @property
    def sampler(self) -> torch.nn.Module:
        if self.G_ema is None:
            return self.G
        self._standing_stats()
        return self.G_ema

    def _standing_stats(self) -> None:
        """With train.ema_bn recompute, give G_ema its own batch-norm statistics if an update
        made them stale: same noise every time (its own seeded generator), so a resumed run
        writes the same statistics as an uninterrupted one."""
        if self.recompute_bn and self._bn_stale and self.G_ema is not None:
            recompute_for_config(self.G_ema, self.cfg, self.n_classes)
            self._bn_stale = False

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        # No device= keyword: DCGANGenerator.sample_z draws on its own device and has none.
        z = self.G.sample_z(n).to(self.device)
        y = torch.randint(self.n_classes, (n,), device=self.device) if self.conditional else None
        return self.shard(z), (self.shard(y) if y is not None else None)

    # --- the updates --------------------------------------------------------------------------
    def critic_steps(self, k: int, g_steps: int) -> int:
        return self.loss.critic_steps(k, g_steps)

    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        z, y_fake = self.noise(self.batch_size)
        # Labels reach the networks only in conditional runs; the nets refuse unexpected labels.
        y_real = batch[1] if self.conditional else None
        # after_d_step: ADA counts D's real outputs
        return self.augment.after_d_step((self.d_step or discriminator_step)(
            self.G, self.D_step, self.opt_d, self.loss, batch[0], y_real, z, y_fake))

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        z, y_fake = self.noise(self.batch_size)
        keep = topk_keep(len(z) // self.cfg.discriminator.pack, self.cfg.train, clock.epoch)
        stats = generator_step(self.G_step, self.D_g, self.opt_g, self.loss, z, y_fake, keep)
        self._update_ema(clock.g_steps)
        return stats

    def joint_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        z, y_fake = self.noise(self.batch_size)
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        y_real = batch[1] if self.conditional else None
        stats = simultaneous_step(self.G, self.D_g, self.opt_g, self.opt_d, self.loss,
                                  batch[0], y_real, z, y_fake)
        self.augment.after_d_step(stats)
        self._update_ema(clock.g_steps)
        return stats

    @torch.no_grad()
    def _update_ema(self, g_steps: int) -> None:
        """G_ema <- decay * G_ema + (1 - decay) * G after G update number g_steps (from 0)."""
        if self.G_ema is None:
            return
        # The warm-up is TensorFlow's ExponentialMovingAverage with num_updates: decay =
        # min(ema, (1 + t) / (10 + t)), written as 1 - decay = max(1 - ema, 9 / (10 + t)).
        # (StyleGAN2-ADA's ema_rampup ramps the half-life instead, to the same end: an early
        # average of 0.999 would hold 0.999^300 = 74 % of the initial weights at step 300.)
        weight = max(1.0 - self.ema, 9 / (10 + g_steps) if self.ema_warmup else 0.0)
        # One foreach kernel over the parameters; per tensor it is lerp_, the same floats.
        torch._foreach_lerp_(list(self.G_ema.parameters()), list(self.G.parameters()), weight)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            be.copy_(b)
        self._bn_stale = True  # train.ema_bn recompute: G_ema's own, when next sampled or saved

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        self.G.train()
        self.D.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        g = self.sampler if ema else self.G
        with eval_mode(g):
            y = None if self.fixed_y is None else self.fixed_y[:n]
            return g(self.fixed_z[:n], y).cpu()

    def diagnostics(self) -> dict[str, float]:
        out = {
            "g_grad_norm": grad_norm(self.G),
            "d_grad_norm": grad_norm(self.D),
            "lr_g": self.opt_g.param_groups[0]["lr"],
            "lr_d": self.opt_d.param_groups[0]["lr"],
        }
        if "momentum" in self.opt_d.param_groups[0]:
            out["momentum"] = self.opt_d.param_groups[0]["momentum"]
        if self.augment.on:
            out["augment_p"] = self.augment.p
        return out

    def first_non_finite(self, stats: Stats) -> str:
        if name := first_bad_stat(stats, ("real_logits", "fake_logits", "fake_logits_g")):
            return f"D's logits ({name})"
        return first_bad_parameter((("G", self.G), ("D", self.D)))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        self._standing_stats()  # the checkpoint's G_ema is what gankit sample and eval load
        state = {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "g_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }
        if self.augment.on:  # ADA's p and its running count travel with a resume
            state["augment"] = self.augment.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.G_ema is not None and state.get("g_ema"):
            self.G_ema.load_state_dict(state["g_ema"])
            self._bn_stale = True  # they may be copied ones (a run resumed with another ema_bn)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.augment.on and "augment" in state:
            self.augment.load_state_dict(state["augment"])
