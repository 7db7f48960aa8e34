"""Algorithm 1 of Goodfellow et al. (2014): k discriminator steps, then one generator step.

    for number of training iterations:
        for k steps:
            sample m noise samples z and m examples x; update D by its stochastic gradient
        sample m noise samples z; update G by its stochastic gradient

`algorithm1_iteration` is that loop body. The authors' own code instead updated D and G on the
same minibatch at once (`train.update: simultaneous`); `simultaneous_step` does that.
The rest of this file is bookkeeping: data order, schedules, logging, samples and checkpoints.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.config import Config, OptimConfig, TrainConfig, merged_optim
from gankit.data.dataset import TrainingData, load_training_data
from gankit.errors import GankitError
from gankit.losses import Loss, gradient_penalty, make_loss
from gankit.nets import build_discriminator, build_generator
from gankit.train import run as runs
from gankit.train.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from gankit.train.schedules import learning_rate, momentum


@contextmanager
def frozen(net: nn.Module) -> Iterator[None]:
    """No gradients flow into `net`'s parameters inside the block (and none are computed)."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(net.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def grad_norm(net: nn.Module) -> float:
    norms = [p.grad.detach().norm() for p in net.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


def discriminator_loss(
    D: nn.Module,
    loss: Loss,
    real: torch.Tensor,
    y_real: torch.Tensor | None,
    fake: torch.Tensor,
    y_fake: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D's loss (with WGAN-GP's penalty when the loss has one) and the logits it came from."""
    real_logits, fake_logits = D(real, y_real), D(fake, y_fake)
    total = loss.d_loss(real_logits, fake_logits)
    if loss.gp_weight:
        penalty = gradient_penalty(lambda x: D(x, y_real), real, fake.detach())
        total = total + loss.gp_weight * penalty
    return total, real_logits, fake_logits


@torch.no_grad()
def clip_weights(D: nn.Module, clip: float) -> None:
    """WGAN: keep every critic weight in [-clip, clip] (Arjovsky et al. 2017); 0 is off."""
    if clip:
        for p in D.parameters():
            p.clamp_(-clip, clip)


def discriminator_step(
    G: nn.Module,
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    loss: Loss,
    real: torch.Tensor,
    y_real: torch.Tensor | None,
    z: torch.Tensor,
    y_fake: torch.Tensor | None,
) -> dict[str, torch.Tensor]:
    """One update of D on a real and a generated minibatch; G is not touched."""
    with torch.no_grad():
        fake = G(z, y_fake)
    total, real_logits, fake_logits = discriminator_loss(D, loss, real, y_real, fake, y_fake)
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    opt_d.step()
    clip_weights(D, loss.clip)
    return {
        "d_loss": total.detach(),
        "real_logits": real_logits.detach(),
        "fake_logits": fake_logits.detach(),
    }


def generator_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    loss: Loss,
    z: torch.Tensor,
    y_fake: torch.Tensor | None,
    keep: int | None = None,
) -> dict[str, torch.Tensor]:
    """One update of G through a frozen D; D's parameters get no gradient.

    With `keep`, G's loss uses only the `keep` fakes D scores as most real (top-k training,
    Sinha et al. 2020): the worst fakes' gradients can push them away from the nearest mode.
    """
    with frozen(D):
        fake_logits = D(G(z, y_fake), y_fake)
        scored = fake_logits if keep is None else fake_logits.topk(keep).values
        g_loss = loss.g_loss(scored)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    opt_g.step()
    return {"g_loss": g_loss.detach(), "fake_logits_g": fake_logits.detach()}


def topk_keep(n: int, train: TrainConfig, epoch: int) -> int | None:
    """How many of n fake scores G learns from in `epoch` (1-based); None: all of them.

    Sinha et al. 2020: k = n at first, times topk_decay each epoch, never below topk * n.
    """
    if train.topk >= 1.0:
        return None
    k = max(n * train.topk_decay ** (epoch - 1), n * train.topk)
    return max(1, min(n, math.ceil(k)))


def simultaneous_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    loss: Loss,
    real: torch.Tensor,
    y_real: torch.Tensor | None,
    z: torch.Tensor,
    y_fake: torch.Tensor | None,
) -> dict[str, torch.Tensor]:
    """D and G updated from the same minibatch and the same parameters (the authors' code):
    each network's gradient is taken of its own loss only, then both step."""
    fake = G(z, y_fake)
    d_loss, real_logits, fake_logits = discriminator_loss(D, loss, real, y_real, fake, y_fake)
    g_loss = loss.g_loss(fake_logits)
    d_params = [p for p in D.parameters() if p.requires_grad]
    g_params = [p for p in G.parameters() if p.requires_grad]
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, g_params)
    for params, grads in ((d_params, d_grads), (g_params, g_grads)):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
    opt_d.step()
    opt_g.step()
    clip_weights(D, loss.clip)
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "real_logits": real_logits.detach(),
        "fake_logits": fake_logits.detach(),
        "fake_logits_g": fake_logits.detach(),
    }


def make_optimizer(params: Any, opt: OptimConfig) -> torch.optim.Optimizer:
    if opt.name == "sgd":
        # PyTorch's momentum (v = mu v + g; p -= lr v) equals pylearn2's classic momentum
        # (v = mu v - lr g; p += v) while lr is constant; here lr decays by 4e-6 per step.
        return torch.optim.SGD(
            params, lr=opt.lr, momentum=opt.momentum_start, weight_decay=opt.weight_decay
        )
    if opt.name == "adam":
        return torch.optim.Adam(
            params, lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay
        )
    return torch.optim.RMSprop(params, lr=opt.lr, weight_decay=opt.weight_decay)


def set_schedule(
    optimizer: torch.optim.Optimizer, opt: OptimConfig, updates: int, epoch: int
) -> float:
    lr = learning_rate(opt, updates)
    for group in optimizer.param_groups:
        group["lr"] = lr
        if "momentum" in group and opt.name == "sgd":
            group["momentum"] = momentum(opt, epoch)
    return lr


def critic_steps(cfg: Config, loss: Loss, g_steps: int) -> int:
    """k, except WGAN's warm-up: 100 critic steps for the first 25 G steps and every 500th
    (Arjovsky et al. 2017, reference code), so the critic stays near optimal."""
    if loss.name == "wgan" and cfg.losses.wgan_warmup and (g_steps < 25 or g_steps % 500 == 0):
        return 100
    return cfg.train.k


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Progress:
    d_steps: int = 0  # discriminator updates so far (one real minibatch each)
    g_steps: int = 0  # generator updates so far


class Trainer:
    """Everything a run holds: data, networks, optimisers, counters. `run()` trains it."""

    def __init__(
        self,
        cfg: Config,
        run_dir: str | Path | None = None,
        resume: bool = False,
        force: bool = False,
        data: TrainingData | None = None,
    ):
        from gankit.train.evaluation import check_eval_config

        check_eval_config(cfg)  # before the run folder is made
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else runs.default_run_dir(cfg)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.device = torch.device(cfg.train.device)
        runs.prepare_run_dir(self.run_dir, cfg, resume=resume, force=force)
        seed_everything(cfg.seed)
        self.data = data or load_training_data(cfg.data, cfg.seed)
        if len(self.data.x) < cfg.train.batch_size:
            raise GankitError(
                f"the training set has {len(self.data.x)} examples, fewer than "
                f"train.batch_size = {cfg.train.batch_size}; lower the batch size"
            )
        if cfg.data.conditional and self.data.y is None:
            raise GankitError(f"data.conditional=true needs labels; {cfg.data.dataset} has none")
        if cfg.data.conditional and cfg.discriminator.pack > 1:
            raise GankitError(
                "PacGAN packing (discriminator.pack > 1) cannot be combined with data.conditional"
            )
        self.x = self.data.x.to(self.device)
        # Labels reach the networks only in conditional runs.
        self.y = self.data.y.to(self.device) if cfg.data.conditional else None
        n_classes = self.data.n_classes
        mean = self.data.x.mean(dim=0) if self.data.is_image else None  # per pixel
        self.G = build_generator(cfg, self.data.shape, n_classes, data_mean=mean).to(self.device)
        self.D = build_discriminator(cfg, self.data.shape, n_classes).to(self.device)
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg)
        self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg)
        self.loss = make_loss(cfg.loss, cfg.losses)
        self.G_ema = None
        if cfg.train.ema:
            self.G_ema = build_generator(cfg, self.data.shape, n_classes).to(self.device)
            self.G_ema.load_state_dict(self.G.state_dict())
            self.G_ema.eval().requires_grad_(False)
        self.progress = Progress()
        # Fixed noise for the per-epoch grids, from its own generator so it never moves the run's RNG.
        fixed = torch.Generator().manual_seed(cfg.seed + 12345)
        n_grid = cfg.train.n_sample_grid if self.data.is_image else 2500
        self.fixed_z = self.G.sample_z(n_grid, generator=fixed).to(self.device)
        self.fixed_y = (
            (torch.arange(n_grid) % n_classes).to(self.device) if cfg.data.conditional else None
        )
        from gankit.train.monitor import HealthMonitor

        self.monitor = HealthMonitor(self)
        if resume:
            self._restore()

    # --- data order -----------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return len(self.x) // self.cfg.train.batch_size  # the last partial batch is dropped

    def epoch_of(self, d_steps: int) -> int:
        return d_steps // self.batches_per_epoch + 1

    def _permutation(self, epoch: int) -> torch.Tensor:
        # A function of (seed, epoch) alone, so a resumed run sees the same order.
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.x), generator=g).to(self.device)

    def real_batch(self, d_steps: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        epoch, index = self.epoch_of(d_steps), d_steps % self.batches_per_epoch
        if getattr(self, "_perm_epoch", None) != epoch:
            self._perm, self._perm_epoch = self._permutation(epoch), epoch
        bs = self.cfg.train.batch_size
        idx = self._perm[index * bs : (index + 1) * bs]
        # Labels go to the nets only in conditional runs; DCGAN nets refuse unexpected labels.
        conditional = self.y is not None and self.cfg.data.conditional
        return self.x[idx], (self.y[idx] if conditional else None)

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        # No device= keyword: DCGANGenerator.sample_z draws on its own device and has none.
        z = self.G.sample_z(n).to(self.device)
        y = None
        if self.cfg.data.conditional:
            y = torch.randint(self.data.n_classes, (n,), device=self.device)
        return z, y

    # --- Algorithm 1 ------------------------------------------------------------------------
    def algorithm1_iteration(self) -> dict[str, torch.Tensor]:
        """k discriminator steps, then one generator step (or a simultaneous last step)."""
        p, m = self.progress, self.cfg.train.batch_size
        k = critic_steps(self.cfg, self.loss, p.g_steps)
        simultaneous = self.cfg.train.update == "simultaneous"
        stats: dict[str, torch.Tensor] = {}
        for i in range(k):
            set_schedule(self.opt_d, self.d_opt_cfg, p.d_steps, self.epoch_of(p.d_steps))
            real, y_real = self.real_batch(p.d_steps)
            z, y_fake = self.noise(m)
            if simultaneous and i == k - 1:
                set_schedule(self.opt_g, self.g_opt_cfg, p.g_steps, self.epoch_of(p.d_steps))
                stats = simultaneous_step(
                    self.G, self.D, self.opt_g, self.opt_d, self.loss, real, y_real, z, y_fake
                )
                p.d_steps += 1
                p.g_steps += 1
                self._update_ema()
                return stats
            stats = discriminator_step(
                self.G, self.D, self.opt_d, self.loss, real, y_real, z, y_fake
            )
            p.d_steps += 1
        epoch = self.epoch_of(p.d_steps - 1)
        set_schedule(self.opt_g, self.g_opt_cfg, p.g_steps, epoch)
        z, y_fake = self.noise(m)
        keep = topk_keep(m // self.cfg.discriminator.pack, self.cfg.train, epoch)
        stats.update(generator_step(self.G, self.D, self.opt_g, self.loss, z, y_fake, keep))
        p.g_steps += 1
        self._update_ema()
        return stats

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        beta = self.cfg.train.ema
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            pe.lerp_(p, 1.0 - beta)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            be.copy_(b)

    # --- the run ----------------------------------------------------------------------------
    def done(self) -> bool:
        t, p = self.cfg.train, self.progress
        if t.max_steps and p.g_steps >= t.max_steps:
            return True
        return bool(t.epochs) and p.d_steps >= t.epochs * self.batches_per_epoch

    def total_d_steps(self) -> int | None:
        t = self.cfg.train
        if t.epochs and not t.max_steps:
            return t.epochs * self.batches_per_epoch
        return None

    def run(self) -> Path:
        """Train until the config's epochs or max_steps; returns the run folder."""
        from gankit.train.logging import TrainingLogger

        self.G.train()
        self.D.train()
        logger = TrainingLogger(self)
        try:
            while not self.done():
                epoch = self.epoch_of(self.progress.d_steps)
                start = time.perf_counter()
                stats = self.algorithm1_iteration()
                logger.step(stats, time.perf_counter() - start)
                finished_epoch = self.epoch_of(self.progress.d_steps) > epoch
                every = self.cfg.train.checkpoint_every
                if finished_epoch:
                    self.end_of_epoch(epoch, logger)
                elif every and self.progress.g_steps % every == 0:
                    self.save()
        except KeyboardInterrupt:
            logger.close()
            self.save()
            print(
                f"\ninterrupted: checkpoint saved at step {self.progress.g_steps}; "
                f"continue with --resume --run-dir {self.run_dir}"
            )
            raise
        logger.close()
        self.save(finished=True)
        self.write_samples("final")
        return self.run_dir

    def end_of_epoch(self, epoch: int, logger: Any) -> None:
        self.write_samples(f"epoch-{epoch:04d}")
        logger.end_of_epoch(epoch)
        every = self.cfg.train.eval_every
        if every and (epoch % every == 0 or self.done()):
            from gankit.train.evaluation import evaluate_generator

            result = evaluate_generator(
                self.G_ema or self.G, self.cfg, self.data, self.data.n_classes
            )
            logger.log_eval(epoch, result)
        self.save()

    @torch.no_grad()
    def write_samples(self, name: str) -> Path:
        from gankit.viz.grid import save_grid, save_points

        g = self.G_ema or self.G
        was_training = g.training
        g.eval()
        samples = g(self.fixed_z, self.fixed_y).cpu()
        g.train(was_training)
        path = self.run_dir / "samples" / f"{name}.png"
        if self.data.is_image:
            nrow = self.data.n_classes if self.cfg.data.conditional else None
            return save_grid(samples, path, nrow=nrow)
        title = f"{self.cfg.name} {self.cfg.loss} step {self.progress.g_steps}"
        return save_points(
            samples, path, means=self.data.means, real=self.data.x[:10000], title=title
        )

    def state(self) -> dict[str, Any]:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "g_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "d_steps": self.progress.d_steps,
            "g_steps": self.progress.g_steps,
            "epoch": self.epoch_of(self.progress.d_steps),
            "data_shape": list(self.data.shape),
            "n_classes": self.data.n_classes,
            "monitor": self.monitor.state() if self.monitor is not None else None,
        }

    def save(self, finished: bool = False) -> None:
        save_checkpoint(self.run_dir / runs.CHECKPOINT_FILE, self.state())
        runs.write_status(
            self.run_dir,
            {
                "step": self.progress.g_steps,
                "d_steps": self.progress.d_steps,
                "epoch": self.epoch_of(self.progress.d_steps),  # the epoch the next step is in
                "epochs_done": round(self.progress.d_steps / self.batches_per_epoch, 3),
                "finished": finished,
                "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
        )

    def _restore(self) -> None:
        state = load_checkpoint(self.run_dir / runs.CHECKPOINT_FILE, map_location=self.device)
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.G_ema is not None and state.get("g_ema"):
            self.G_ema.load_state_dict(state["g_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.progress = Progress(d_steps=state["d_steps"], g_steps=state["g_steps"])
        if state.get("monitor") is not None:
            self.monitor.load_state(state["monitor"])
        set_rng_state(state["rng"])
        runs.truncate_metrics(self.run_dir, self.progress.g_steps)


def train(
    config: Config, run_dir: str | Path | None = None, resume: bool = False, force: bool = False
) -> Path:
    """Train a GAN as `config` says; returns the run folder (see `gankit.load_run`)."""
    return Trainer(config, run_dir, resume=resume, force=force).run()
