"""The networks of objective inpaint: a completion generator and a mask-aware discriminator.

G(z, visible pixels, mask) is a small U-Net: two stride-2 convolutions encode the visible
pixels and the mask to an H/4 x W/4 map, a fully connected bottleneck mixes that map with z
(so every hidden pixel can depend on every visible one and on the noise), and two transposed
convolutions decode it, each seeing the encoder's map of the same size (skip connections keep
the strokes continuous at the mask's border). G zeroes the hidden pixels itself, so nothing of
them reaches it, and pastes the real visible pixels over its output: only hidden pixels are
generated. D(image, mask) sees the completed image with the mask as a second channel.
Widths come from `generator.base` and `discriminator.base`; no norm layers in G, so each
completion depends on its own example only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.nets.layers import maybe_spectral_norm

BOTTLENECK = 256  # width of the fully connected layer between encoder and decoder


def _check_size(height: int, width: int) -> None:
    if height % 4 or width % 4 or height < 8 or width < 8:
        raise GankitError(f"objective inpaint needs image sides divisible by 4 (at least 8); "
                          f"these images are {height}x{width}: resize them (data.size: 28 or 32)")


class InpaintGenerator(nn.Module):
    """complete(z, x, mask): x with its hidden pixels (mask == 1) generated from z and the rest."""

    def __init__(self, z_dim: int, channels: int, size: tuple[int, int], base: int = 32,
                 deterministic: bool = False, unconditional: bool = True,
                 z_every_layer: bool = False):
        super().__init__()
        self.unconditional = unconditional  # trained with the mask `all`: forward(z) samples
        height, width = size
        _check_size(height, width)
        self.z_dim, self.deterministic = z_dim, deterministic
        # z concatenated once, at the bottleneck, is easily ignored (pix2pix's observation);
        # with z_every_layer each decoder layer also sees z as constant maps.
        self.z_every_layer = z_every_layer
        zc = z_dim if z_every_layer else 0
        self.map_shape = (4 * base, height // 4, width // 4)
        flat = 4 * base * (height // 4) * (width // 4)
        self.enc1 = nn.Conv2d(channels + 1, base, 3, padding=1)
        self.enc2 = nn.Conv2d(base, 2 * base, 4, stride=2, padding=1)
        self.enc3 = nn.Conv2d(2 * base, 4 * base, 4, stride=2, padding=1)
        self.squeeze = nn.Linear(flat, BOTTLENECK)
        self.expand = nn.Linear(BOTTLENECK + z_dim, flat)
        self.dec3 = nn.ConvTranspose2d(8 * base + zc, 2 * base, 4, stride=2, padding=1)
        self.dec2 = nn.ConvTranspose2d(4 * base + zc, base, 4, stride=2, padding=1)
        self.out = nn.Conv2d(2 * base + zc, channels, 3, padding=1)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent vectors ~ N(0, I), drawn on the CPU and moved to this network's device."""
        device = next(self.parameters()).device
        return torch.randn(n, self.z_dim, generator=generator).to(device)

    def fill(self, z: torch.Tensor, visible: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The raw output for every pixel, from z, the visible pixels (hidden ones 0) and mask."""
        if self.deterministic:  # the L2 baseline: one completion per input
            z = torch.zeros_like(z)
        e1 = F.leaky_relu(self.enc1(torch.cat([visible, mask], 1)), 0.2)
        e2 = F.leaky_relu(self.enc2(e1), 0.2)
        e3 = F.leaky_relu(self.enc3(e2), 0.2)
        code = F.leaky_relu(self.squeeze(e3.flatten(1)), 0.2)
        h = F.relu(self.expand(torch.cat([code, z], 1))).view(-1, *self.map_shape)
        d3 = F.relu(self.dec3(self._with_z(torch.cat([h, e3], 1), z)))
        d2 = F.relu(self.dec2(self._with_z(torch.cat([d3, e2], 1), z)))
        return torch.sigmoid(self.out(self._with_z(torch.cat([d2, e1], 1), z)))

    def _with_z(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """h, and with z_every_layer z broadcast to h's height and width beside it."""
        if not self.z_every_layer:
            return h
        return torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)

    def complete(self, z: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x's visible pixels as they are, its hidden ones (mask == 1) generated.

        `where`, not arithmetic: a hidden pixel's value (even NaN) never reaches G or the output."""
        hidden = mask.expand_as(x) > 0
        visible = torch.where(hidden, torch.zeros_like(x), x)
        return torch.where(hidden, self.fill(z, visible, mask), x)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples with every pixel hidden (the mask kind `all`), for gankit sample and eval."""
        if y is not None:
            raise GankitError("an inpainting generator takes no labels; leave --labels out")
        if not self.unconditional:
            raise GankitError("this inpainting run was not trained with the mask `all` (inpaint."
                              "masks), so it has no unconditional samples; gankit viz inpaint RUN "
                              "shows its completions")
        h, w = self.map_shape[1] * 4, self.map_shape[2] * 4
        channels = self.out.out_channels
        x = torch.zeros(len(z), channels, h, w, device=z.device)
        return self.complete(z, x, torch.ones(len(z), 1, h, w, device=z.device))


class InpaintDiscriminator(nn.Module):
    """D(x, mask): a logit per (image, mask) pair, the mask as an input channel."""

    def __init__(self, channels: int, size: tuple[int, int], base: int = 32,
                 batch_norm: bool = True, spectral_norm: bool = False):
        super().__init__()
        height, width = size
        _check_size(height, width)
        sn = spectral_norm
        self.conv1 = maybe_spectral_norm(nn.Conv2d(channels + 1, base, 4, 2, 1), sn)
        self.conv2 = maybe_spectral_norm(nn.Conv2d(base, 2 * base, 4, 2, 1), sn)
        self.norm = nn.BatchNorm2d(2 * base) if batch_norm else nn.Identity()
        self.conv3 = maybe_spectral_norm(nn.Conv2d(2 * base, 2 * base, 3, 1, 1), sn)
        self.head = maybe_spectral_norm(nn.Linear(2 * base * (height // 4) * (width // 4), 1), sn)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            raise GankitError("an inpainting discriminator judges (image, mask) pairs; pass the mask")
        h = F.leaky_relu(self.conv1(torch.cat([x, mask.to(x.dtype)], 1)), 0.2)
        h = F.leaky_relu(self.norm(self.conv2(h)), 0.2)
        h = F.leaky_relu(self.conv3(h), 0.2)
        return self.head(h.flatten(1)).squeeze(1)


def build_inpaint_generator(cfg: Config, data_shape: tuple[int, ...]) -> InpaintGenerator:
    g = cfg.generator
    return InpaintGenerator(g.z_dim, data_shape[0], tuple(data_shape[1:]), g.base,
                            deterministic=not cfg.inpaint.adversarial,
                            unconditional="all" in cfg.inpaint.masks,
                            z_every_layer=cfg.inpaint.z_every_layer)


def build_inpaint_discriminator(cfg: Config, data_shape: tuple[int, ...]) -> InpaintDiscriminator:
    d = cfg.discriminator
    return InpaintDiscriminator(data_shape[0], tuple(data_shape[1:]), d.base, d.batch_norm,
                                d.spectral_norm)
