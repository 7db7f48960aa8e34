"""The networks of pix2pix (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator.

U-Net (the paper's §3.2.1 and appendix 6.1.1): an encoder of 4x4 stride-2 convolutions
(LeakyReLU 0.2, batch norm except on the first and innermost layers) down to a 1x1 bottleneck
when `depth` is 0, and a mirrored decoder of 4x4 stride-2 transposed convolutions (ReLU, batch
norm) whose level i reads the decoder's output concatenated on channels with the encoder's
level i (the skip connections). Its noise is dropout (p = `dropout`) in the innermost decoder
blocks, as in the paper (3 of 7 there; here the same share, at least one), active in training
only: in eval mode (`gankit translate`, previews) G is deterministic. Odd sizes (28 -> 14 -> 7
-> 3 -> 1) are mirrored exactly: each transposed convolution is given its skip's size.

PatchGAN (§3.2.2): D sees the input image and an output (real or generated) concatenated on
channels and gives one logit per patch; `layers` stride-2 convolutions, then a stride-1
convolution and the stride-1 logit layer (layers = 3 is the paper's 70x70 PatchGAN).
`receptive_field` computes the patch each logit sees from the layers themselves.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError


def max_depth(size: int) -> int:
    """Stride-2 levels until the map is 1x1 (28 -> 14 -> 7 -> 3 -> 1: 4)."""
    return max(1, int(math.floor(math.log2(size))))


def _init(module: nn.Module) -> None:
    # The paper's init: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class _Up(nn.Module):
    """A decoder block: transposed conv to the skip's exact size, then batch norm, dropout, ReLU."""

    def __init__(self, c_in: int, c_out: int, dropout: float):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
        post: list[nn.Module] = [nn.BatchNorm2d(c_out)]
        if dropout:
            post.append(nn.Dropout(dropout))
        self.post = nn.Sequential(*post, nn.ReLU())

    def forward(self, h: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.post(self.conv(h, output_size=size))


class UNetGenerator(nn.Module):
    """G(a): an image a (N x in_channels x H x W, in [0, 1]) to an image in [0, 1] (sigmoid)."""

    def __init__(self, in_channels: int, out_channels: int, size: int, base: int = 64,
                 depth: int = 0, dropout: float = 0.5):
        super().__init__()
        depth = depth or max_depth(size)
        if size >> depth < 1:
            raise GankitError(f"pix2pix.depth = {depth} halves {size}x{size} images below 1x1; "
                              f"use at most {max_depth(size)} (or 0: down to 1x1)")
        self.depth, self.in_channels, self.out_channels = depth, in_channels, out_channels
        widths = [min(base * 2**i, base * 8) for i in range(depth)]
        self.down = nn.ModuleList()
        c = in_channels
        for i, w in enumerate(widths):
            block: list[nn.Module] = [nn.Conv2d(c, w, 4, 2, 1, bias=not 0 < i < depth - 1)]
            if 0 < i < depth - 1:
                block.append(nn.BatchNorm2d(w))
            block.append(nn.LeakyReLU(0.2))
            self.down.append(nn.Sequential(*block))
            c = w
        n_dropout = max(1, round(3 / 7 * (depth - 1))) if dropout else 0
        self.up = nn.ModuleList()  # innermost first: up[j] rebuilds encoder level depth - 2 - j
        for j, i in enumerate(reversed(range(1, depth))):
            c_in = widths[i] if j == 0 else 2 * widths[i]
            self.up.append(_Up(c_in, widths[i - 1], dropout if j < n_dropout else 0.0))
        last_in = widths[0] if depth == 1 else 2 * widths[0]
        self.last = nn.ConvTranspose2d(last_in, out_channels, 4, 2, 1)
        self.apply(_init)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise GankitError("this run is objective pix2pix: its generator translates an input image "
                          "and draws nothing from noise; use gankit translate RUN --images DIR "
                          "--out DIR")

    def levels(self, a: torch.Tensor) -> list[tuple[torch.Size, torch.Size]]:
        """(encoder output, decoder output) shapes per level, outermost first: each skip joins
        two maps of the same height and width."""
        return [(e.shape, d.shape) for e, d in zip(*self._run(a)[1:], strict=True)]

    def _run(self, a: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        skips, h = [], a
        for down in self.down:
            h = down(h)
            skips.append(h)
        decoded = [h]  # the bottleneck mirrors itself
        for j, up in enumerate(self.up):
            i = self.depth - 1 - j  # the level h is at
            if j:
                h = torch.cat([h, skips[i]], dim=1)
            h = up(h, skips[i - 1].shape[-2:])
            decoded.insert(0, h)
        if self.depth > 1:
            h = torch.cat([h, skips[0]], dim=1)
        out = torch.sigmoid(self.last(h, output_size=a.shape[-2:]))
        return out, skips, decoded

    def forward(self, a: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise GankitError("pix2pix's generator takes no labels")
        return self._run(a)[0]


class PatchDiscriminator(nn.Module):
    """D(a, b): one logit per patch of the pair (input a, output b), N x 1 x h x w."""

    def __init__(self, in_channels: int, out_channels: int, base: int = 64, layers: int = 3):
        super().__init__()
        c, seq = in_channels + out_channels, []
        for i in range(layers + 1):
            w = min(base * 2**i, base * 8)
            stride = 2 if i < layers else 1
            seq.append(nn.Conv2d(c, w, 4, stride, 1, bias=i == 0))
            if i:  # no batch norm on the first layer (the paper's C64)
                seq.append(nn.BatchNorm2d(w))
            seq.append(nn.LeakyReLU(0.2))
            c = w
        seq.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)
        self.apply(_init)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([a, b], dim=1))

    def output_size(self, size: int) -> int:
        for m in self.net:
            if isinstance(m, nn.Conv2d):
                size = (size + 2 * m.padding[0] - m.kernel_size[0]) // m.stride[0] + 1
        return size


def receptive_field(net: nn.Module) -> tuple[int, int, int]:
    """(extent R, jump J, offset L) of a stack of convolutions: output index i sees input rows
    (and columns) i * J + L ... i * J + L + R - 1, computed layer by layer from the net's own
    kernel sizes, strides and paddings."""
    extent, jump, offset = 1, 1, 0
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            offset -= p * jump
            extent += (k - 1) * jump
            jump *= s
    return extent, jump, offset
