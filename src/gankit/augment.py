"""Augmentation of what D sees, for GANs trained on few images (the `augment:` config section).

* DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
  the same random, differentiable transforms -- colour (brightness, saturation, contrast),
  translation and cutout -- are applied to real and generated images before D, in D's update
  and in G's, so G's gradient flows back through them and D never sees an un-augmented image
  that G could learn to imitate the augmentation from.
* ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"): each
  transform is applied to a sample with probability p, and p follows D's overfitting heuristic
  r_t = E[sign(D(x_real))]: every `ada_interval` D steps p moves up when r_t > `ada_target`
  (D is too sure of the training images) and down otherwise, by batch * interval / ada_speed
  (p can go from 0 to 1 in ada_speed images; the paper's value is 500,000). gankit's ADA uses
  DiffAugment's transforms, not the paper's 18-transform pipeline: a simplification.

Images are in [0, 1] here; DiffAugment works in [-1, 1], so its brightness shift U(-0.5, 0.5)
becomes U(-0.25, 0.25) (contrast scales about the image mean, range-free; saturation is a no-op
on one channel, in the paper's code too). Translation fills with 0 and cutout sets a square of
half the image's side to 0: black, MNIST's background; the paper's code also writes 0, which in
its [-1, 1] images is mid-grey. All randomness comes from the global torch generator, which
checkpoints save, so a resumed run is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gankit.errors import GankitError

KINDS = ("none", "diffaugment", "ada")  # not "off": YAML reads off as false
OPS = ("color", "translation", "cutout")


@dataclass
class AugmentConfig:
    """The `augment:` config section."""

    kind: str = "none"  # none | diffaugment (always applied) | ada (applied with adaptive p)
    policy: list[str] = field(default_factory=lambda: list(OPS))  # DiffAugment's three
    translation: float = 0.125  # largest shift, as a fraction of the image side (1/8)
    cutout: float = 0.5  # side of the cut-out square, as a fraction of the image side
    ada_target: float = 0.6  # the r_t ADA holds D at (Karras et al. 2020, section 3)
    ada_interval: int = 4  # D steps between adjustments of p
    ada_speed: int = 500_000  # images for p to move from 0 to 1
    ada_p: float = 0.0  # p at the start


def check_augment(aug: AugmentConfig, is_image: bool) -> None:
    """Range checks of the section (validate.py calls this)."""
    if aug.kind not in KINDS:
        raise GankitError(f"augment.kind = {aug.kind!r} is not known; choose one of: "
                          f"{', '.join(KINDS)}")
    bad = [op for op in aug.policy if op not in OPS]
    if bad or not aug.policy:
        raise GankitError(f"augment.policy = {aug.policy} must list some of: {', '.join(OPS)}")
    if aug.kind != "none" and not is_image:
        raise GankitError(f"augment.kind = {aug.kind} augments images, but this dataset is not "
                          "made of images; set augment.kind=none")
    if not (0 <= aug.translation <= 0.5 and 0 < aug.cutout <= 1):
        raise GankitError(f"augment.translation = {aug.translation} must be in [0, 0.5] and "
                          f"augment.cutout = {aug.cutout} in (0, 1]")
    if not (-1 < aug.ada_target < 1 and aug.ada_interval >= 1 and aug.ada_speed >= 1
            and 0 <= aug.ada_p <= 1):
        raise GankitError("augment.ada_target must be in (-1, 1), augment.ada_interval and "
                          "augment.ada_speed >= 1, augment.ada_p in [0, 1]")


# --- the transforms: each maps an N x C x H x W batch to one, differentiably in x -----------


def _color(x: Tensor) -> Tensor:
    n = x.shape[0]
    shape = (n, 1, 1, 1)
    x = x + (torch.rand(shape, device=x.device, dtype=x.dtype) - 0.5) * 0.5  # brightness
    if x.shape[1] > 1:  # saturation: grey images have none
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(shape, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # contrast
    return (x - mean) * (torch.rand(shape, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x: Tensor, ratio: float) -> Tensor:
    n, _, h, w = x.shape
    sy, sx = round(h * ratio), round(w * ratio)
    if sx == 0 and sy == 0:
        return x
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))
    rows = torch.arange(h, device=x.device).view(1, h, 1) + sy - ty
    cols = torch.arange(w, device=x.device).view(1, 1, w) + sx - tx
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    # Gathering pixels is differentiable in x (each output pixel is one input pixel or 0).
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: Tensor, ratio: float) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = max(1, round(h * ratio)), max(1, round(w * ratio))
    cy = torch.randint(0, h, (n, 1, 1), device=x.device) - ch // 2
    cx = torch.randint(0, w, (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= cy) & (rows < cy + ch) & (cols >= cx) & (cols < cx + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class Augment:
    """The transform applied to every batch D sees (real and fake), and ADA's p."""

    on = True

    def __init__(self, cfg: AugmentConfig, batch_size: int = 1):
        self.cfg, self.batch_size = cfg, batch_size  # images per D step, for ADA's rate
        self.p = 1.0 if cfg.kind == "diffaugment" else cfg.ada_p
        self._signs, self._count = 0.0, 0  # ADA: sum of sign(D(x_real)) since the last update

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise GankitError(f"augmentation needs N x C x H x W images, got shape "
                              f"{tuple(x.shape)}; set augment.kind=none for this data")
        for op in self.cfg.policy:
            x = self._maybe(x, op)
        return x

    def _maybe(self, x: Tensor, op: str) -> Tensor:
        if self.p <= 0:
            return x
        out = (_color(x) if op == "color" else _translation(x, self.cfg.translation)
               if op == "translation" else _cutout(x, self.cfg.cutout))
        if self.p >= 1:
            return out
        # ADA: each sample takes the transform with probability p.
        chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p
        return torch.where(chosen, out, x)

    @property
    def adaptive(self) -> bool:
        return self.cfg.kind == "ada"

    def after_d_step(self, stats: dict[str, Tensor]) -> dict[str, Tensor]:
        """ADA: count the signs of D's outputs on the real batch of a D step (its stats); p
        moves every ada_interval D steps. Returns the stats, for the caller to pass on."""
        if self.adaptive:
            self.observe(stats["real_logits"], self.batch_size)
        return stats

    def observe(self, real_logits: Tensor, batch_size: int) -> None:
        """ADA: count D's outputs on a real batch; adjust p every ada_interval D steps."""
        self._signs += float(torch.sign(real_logits.detach()).mean())
        self._count += 1
        if self._count < self.cfg.ada_interval:
            return
        r_t = self._signs / self._count
        step = batch_size * self._count / self.cfg.ada_speed
        if r_t != self.cfg.ada_target:  # sign(r_t - target); 0 leaves p where it is
            self.p = min(1.0, max(0.0, self.p + math.copysign(step, r_t - self.cfg.ada_target)))
        self._signs, self._count = 0.0, 0

    def state_dict(self) -> dict[str, float]:
        return {"p": self.p, "signs": self._signs, "count": self._count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.p, self._signs, self._count = state["p"], state["signs"], int(state["count"])


class NoAugment:
    """augment.kind none: nothing wraps D and nothing is counted (the steps as without it)."""

    on = False

    def after_d_step(self, stats: dict[str, Tensor]) -> dict[str, Tensor]:
        return stats


class AugmentedD(nn.Module):
    """D as the update steps see it with augmentation on: D(T(x), y) for every batch it judges
    -- real and fake in D's step, fake in G's (through which G's gradient flows) -- so nothing
    in the steps changes. (WGAN-GP's penalty thus sees augmented interpolates.)"""

    def __init__(self, net: nn.Module, augment: Augment):
        super().__init__()
        self.net, self.augment = net, augment

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(self.augment(x), y)


def make_augment(cfg: AugmentConfig, batch_size: int = 1) -> Augment | NoAugment:
    return NoAugment() if cfg.kind == "none" else Augment(cfg, batch_size)
