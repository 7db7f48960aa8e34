"""SRGAN's networks (Ledig et al. 2017), scaled down: a residual generator that upscales x4 by
two sub-pixel convolutions, and a strided conv discriminator.

- `low_res(x)`: the fixed downsampling that makes a low-resolution input from an image: 4x4
  average pooling (each low-res pixel is the mean of a 4x4 block), deterministic and exact on
  any size divisible by 4 (MNIST 28 -> 7). The paper used bicubic downsampling of photos; a box
  filter needs no interpolation library and has no ambiguity about boundaries.
- `SRGenerator`: SRResNet. A 9x9 conv and PReLU, `blocks` residual blocks (3x3 conv, batch
  norm, PReLU, 3x3 conv, batch norm, plus the block's input), a 3x3 conv and batch norm plus
  the skip from before the blocks, then two upsampling blocks (3x3 conv to 4x the channels,
  PixelShuffle(2), PReLU), and a 9x9 conv to the image through a sigmoid (pixels in [0, 1]).
- `SRDiscriminator`: the paper's pattern of 3x3 convs, stride 1 then stride 2 as the width
  doubles, LeakyReLU(0.2) and batch norm (not after the first conv), then a dense layer,
  LeakyReLU and a logit. An average over space before the dense layer lets one D judge any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError

SCALE = 4  # the upscaling factor: two x2 sub-pixel steps


def low_res(x: torch.Tensor, factor: int = SCALE) -> torch.Tensor:
    """The low-resolution input of an image batch N x C x H x W: factor x factor average pooling."""
    if x.dim() != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
        raise GankitError(f"super-resolution needs images N x C x H x W with H and W divisible "
                          f"by {factor}, got {tuple(x.shape)}; resize them (data.size)")
    return F.avg_pool2d(x, factor)


def _not_sampling(*_: object, **__: object) -> torch.Tensor:
    raise GankitError("this run is a super-resolution run (objective srgan): its generator "
                      "upscales images and draws nothing from noise; use gankit upscale RUN "
                      "--images DIR --out DIR")


class _Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.PReLU(width),
            nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class SRGenerator(nn.Module):
    """Low-res images N x C x h x w in [0, 1] -> N x C x 4h x 4w in [0, 1]."""

    scale = SCALE

    def __init__(self, channels: int = 1, base: int = 64, blocks: int = 16):
        super().__init__()
        if base < 1 or blocks < 0 or channels not in (1, 3):
            raise GankitError(f"SRGenerator needs base >= 1, blocks >= 0 and 1 or 3 channels, "
                              f"got base {base}, blocks {blocks}, channels {channels}")
        self.channels = channels
        self.head = nn.Sequential(nn.Conv2d(channels, base, 9, 1, 4), nn.PReLU(base))
        self.blocks = nn.Sequential(*[_Residual(base) for _ in range(blocks)])
        self.merge = nn.Sequential(nn.Conv2d(base, base, 3, 1, 1), nn.BatchNorm2d(base))
        # Each step: conv to 4x the channels, then PixelShuffle(2) moves them into 2x2 blocks.
        self.up = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(base, 4 * base, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(base))
            for _ in range(2)
        ])
        self.to_image = nn.Conv2d(base, channels, 9, 1, 4)

    # gankit sample / eval / report draw z from `sample_z`: a super-resolution run cannot.
    sample_z = staticmethod(_not_sampling)

    def forward(self, lr: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != self.channels:
            raise GankitError(f"the super-resolution generator expects low-res images of shape "
                              f"(N, {self.channels}, h, w), got {tuple(lr.shape)}")
        if y is not None:
            raise GankitError("the super-resolution generator takes no labels; pass y=None")
        h = self.head(lr)
        h = h + self.merge(self.blocks(h))
        return torch.sigmoid(self.to_image(self.up(h)))


class SRDiscriminator(nn.Module):
    """Images N x C x H x W -> raw logits (N,); `stages` stride-2 convs halve H and W."""

    def __init__(self, channels: int = 1, base: int = 64, stages: int = 3, dense: int = 256):
        super().__init__()
        if base < 1 or stages < 1 or dense < 1:
            raise GankitError(f"SRDiscriminator needs base, stages and dense >= 1, got {base}, "
                              f"{stages}, {dense}")
        layers: list[nn.Module] = [nn.Conv2d(channels, base, 3, 1, 1), nn.LeakyReLU(0.2)]
        width = base
        for stage in range(stages):
            out = base * 2 ** (stage + 1)
            layers += [nn.Conv2d(width, width, 3, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2),
                       nn.Conv2d(width, out, 3, 1, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(width, dense), nn.LeakyReLU(0.2), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x).mean(dim=(2, 3))
        return self.head(h).squeeze(1)
