"""x4 super-resolution, SRGAN (Ledig et al. 2017): G upscales a low-resolution image, D tells
real high-resolution images from upscaled ones.

The low-resolution input is computed from each real minibatch (`nets.srgan.low_res`: 4x4
average pooling), so the data needs no extras and every run sees the same inputs. G's loss is
the paper's perceptual loss, a content loss plus 1e-3 times the adversarial loss:

    pixel_weight * MSE(G(lr), x) + feature_weight * MSE(phi(G(lr)), phi(x))
        + adversarial_weight * (the config's loss for G on D(G(lr)))

phi is gankit's MNIST classifier's 128 penultimate features (metrics/classifier.py), standing in
for the paper's VGG19 features; it applies to 1 x 28 x 28 images only, so other images train
with the pixel loss alone (feature_weight 0). adversarial_weight 0 is SRResNet: no
discriminator is built and the loop makes one G update per minibatch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gankit.config import Config, merged_optim
from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.nets.srgan import SCALE, SRDiscriminator, SRGenerator, low_res
from gankit.train.objective import Batch, Clock, Objective, Stats, eval_mode, first_bad_parameter
from gankit.train.speedups import prepare_net
from gankit.train.steps import (
    discriminator_step,
    frozen,
    grad_norm,
    make_optimizer,
    set_schedule,
)

FEATURE_SHAPE = (1, 28, 28)  # what gankit's MNIST classifier reads


def build_nets(cfg: Config, shape: tuple[int, ...]) -> tuple[SRGenerator, SRDiscriminator | None]:
    """G, and D when the adversarial loss is on (D's three stride-2 stages: 28 -> 4)."""
    s = cfg.srgan
    g = SRGenerator(channels=shape[0], base=s.g_base, blocks=s.g_blocks)
    d = SRDiscriminator(channels=shape[0], base=s.d_base) if s.adversarial_weight > 0 else None
    return g, d


def feature_net() -> torch.nn.Module:
    """gankit's MNIST classifier, frozen: its features are a fixed function, not trained."""
    from gankit.metrics.classifier import load_mnist_classifier

    return load_mnist_classifier().eval().requires_grad_(False)


class SRGANObjective(Objective):
    G_ema = None  # no EMA copy: the trainer's G_ema property reads this

    def __init__(self, cfg: Config, data: Any, device: torch.device):
        shape = tuple(data.shape)
        if len(shape) != 3 or shape[-1] % SCALE or shape[-2] % SCALE:
            raise GankitError(f"objective srgan needs images with sides divisible by {SCALE}; "
                              f"this data is {' x '.join(map(str, shape))}")
        self.cfg, self.device, self.weights = cfg, device, cfg.srgan
        if self.weights.feature_weight and shape != FEATURE_SHAPE:
            raise GankitError(f"srgan.feature_weight = {self.weights.feature_weight} uses gankit's "
                              f"MNIST classifier, which reads 1 x 28 x 28 images; these are "
                              f"{' x '.join(map(str, shape))}: set srgan.feature_weight=0 (pixel "
                              "loss alone)")
        self.adversarial = self.weights.adversarial_weight > 0
        self.G, self.D = build_nets(cfg, shape)
        self.G.to(device)
        prepare_net(self.G, cfg.train, device)
        self.g_opt_cfg = merged_optim(cfg, "g_optim")
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg, cfg.train.fused_optim)
        self.loss = make_loss(cfg.loss, cfg.losses)
        self.probabilities = self.loss.probabilities
        if self.D is not None:
            self.D.to(device)
            prepare_net(self.D, cfg.train, device)
            self.d_opt_cfg = merged_optim(cfg, "d_optim")
            self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, cfg.train.fused_optim)
        self.phi = feature_net().to(device) if self.weights.feature_weight else None
        # The per-epoch grids (and the health monitor, which counts `fixed_z`) upscale the first
        # training images: fixed inputs, as a GAN's fixed noise.
        n_grid = min(cfg.train.n_sample_grid, len(data.x))
        self.fixed_z = low_res(data.x[:n_grid]).to(device)
        self.last: dict[str, float] = {}

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        g, d = build_nets(cfg, shape)
        g.load_state_dict(state["generator"])
        nets: dict[str, torch.nn.Module] = {"generator": g}
        if d is not None:
            d.load_state_dict(state["discriminator"])
            nets["discriminator"] = d
        return nets

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    # --- the updates --------------------------------------------------------------------------
    def critic_steps(self, k: int, g_steps: int) -> int:
        return self.loss.critic_steps(k, g_steps)

    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        hr = batch[0]
        # discriminator_step calls G(z, y): here z is the low-res batch and there are no labels.
        return discriminator_step(self.G, self.D, self.opt_d, self.loss, hr, None, low_res(hr),
                                  None)

    def content_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """pixel_weight * pixel MSE + feature_weight * classifier-feature MSE."""
        w = self.weights
        pixel = F.mse_loss(sr, hr)
        total = w.pixel_weight * pixel
        self.last = {"pixel_mse": pixel.item()}
        if self.phi is not None:
            feature = F.mse_loss(self.phi.features(sr), self.phi.features(hr).detach())
            total = total + w.feature_weight * feature
            self.last["feature_mse"] = feature.item()
        return total

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        """One G update on D's last real minibatch (the solo update's own one for SRResNet)."""
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        hr = batch[0]
        sr = self.G(low_res(hr))
        total = self.content_loss(sr, hr)
        stats: Stats = {}
        if self.D is not None:
            with frozen(self.D):
                logits = self.D(sr)
                adversarial = self.loss.g_loss(logits)
            self.last["adversarial"] = adversarial.item()
            total = total + self.weights.adversarial_weight * adversarial
            stats["fake_logits_g"] = logits.detach()
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        stats["g_loss"] = total.detach()
        return stats

    def joint_update(self, batch: Batch, clock: Clock) -> Stats:
        raise GankitError("objective srgan trains with train.update=alternating")

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        self.G.train()
        if self.D is not None:
            self.D.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(self.fixed_z[:n]).cpu()

    def diagnostics(self) -> dict[str, float]:
        out = {"g_grad_norm": grad_norm(self.G), "lr_g": self.opt_g.param_groups[0]["lr"],
               **self.last}
        if self.D is not None:
            out["d_grad_norm"] = grad_norm(self.D)
            out["lr_d"] = self.opt_d.param_groups[0]["lr"]
        return out

    def first_non_finite(self, stats: Stats) -> str:
        return first_bad_parameter((("G", self.G), ("D", self.D)))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"generator": self.G.state_dict(), "opt_g": self.opt_g.state_dict()}
        if self.D is not None:
            state["discriminator"] = self.D.state_dict()
            state["opt_d"] = self.opt_d.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.D is not None:
            self.D.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
