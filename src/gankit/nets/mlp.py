"""Multilayer-perceptron generator and discriminator (Goodfellow et al. 2014, §5).

Default sizes follow the authors' public MNIST configuration (goodfeli/adversarial, mnist.yaml):
G: z in R^100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid, weights U(-0.05, 0.05);
D: 784 -> maxout 240 x 5 -> maxout 240 x 5 -> 1, weights U(-0.005, 0.005), dropout on the input
(keep 0.8) and on the hidden layers (keep 0.5). The 2-D configs use the PacGAN networks
(Lin et al. 2018, App. D): G 4 x 400 (linear, batch norm, ReLU); D 3 maxout layers 200 x 5.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nets.layers import check_labels


def _init_uniform(layer: nn.Linear, init_range: float) -> None:
    """Weights U(-r, r), biases 0 (r = 0 keeps PyTorch's default)."""
    if init_range > 0:
        nn.init.uniform_(layer.weight, -init_range, init_range)
        nn.init.zeros_(layer.bias)


class _MaxOverPieces(torch.autograd.Function):
    """`amax` over the last dimension with the same gradient, computed faster on the CPU.

    amax's own backward divides the gradient among tied pieces: (g / count) * winners, where
    count is a sum over the 5-wide last dimension and both steps convert the mask to float; the
    slow parts are those narrow reductions and conversions. Ties (two pieces exactly equal) are
    rare, so this checks for any once and, without them, returns g * winners: the same numbers,
    bit for bit, as (g / 1) * winners (signed zeros included).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.amax(dim=-1)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        # x <= out everywhere, so x >= out marks the winners; written as 1.0 / 0.0 in x's dtype
        # (a float `out=`), it is twice as fast as == to a bool mask that the product converts.
        winners = torch.ge(x, out.unsqueeze(-1), out=torch.empty_like(x))
        # A tie somewhere takes amax's exact formula. Counting the winners reads a number
        # back, which on a GPU waits for the device at every maxout layer: there the formula
        # runs always (the same bits without ties).
        if x.device.type != "cpu" or int(winners.sum()) != out.numel():
            return (g.unsqueeze(-1) / winners.sum(-1, keepdim=True)) * winners
        return winners.mul_(g.unsqueeze(-1))  # g * 1.0 or g * 0.0, as g * the bool mask


class Maxout(nn.Module):
    """A linear layer of units x pieces outputs, then the max over each unit's pieces."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x).view(x.shape[0], self.units, self.pieces)
        # The tie check reads a number back: that would stall a GPU, and a compiled graph fuses
        # amax's backward anyway.
        if h.device.type != "cpu" or torch.compiler.is_compiling():
            return h.amax(dim=2)
        return _MaxOverPieces.apply(h)


class MLPGenerator(nn.Module):
    """z (and an optional one-hot label) -> hidden ReLU layers -> data-shaped output.

    With `z_categories` K > 0 the latent is z_dim continuous coordinates followed by a one-hot
    code of a uniformly drawn category (K more columns; `self.z_dim` counts both). A continuous
    G maps the connected z-space onto connected sets, so on data of separate modes it leaves
    samples on bridges between them; a discrete code lets it jump (DeLiGAN, Gurumurthy et al.
    2017; Khayatkhoei et al. 2018).
    """

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        hidden: list[int],
        batch_norm: bool = False,
        output: str = "sigmoid",
        z_dist: str = "uniform",
        init_range: float = 0.05,
        n_classes: int = 0,
        output_bias: torch.Tensor | float | None = None,  # per output, or one for all
        z_categories: int = 0,
    ):
        super().__init__()
        self.z_dim, self.out_shape, self.z_dist, self.n_classes = (
            z_dim + z_categories,
            tuple(out_shape),
            z_dist,
            n_classes,
        )
        self.z_continuous, self.z_categories = z_dim, z_categories
        layers: list[nn.Module] = []
        width = self.z_dim + n_classes
        for h in hidden:
            linear = nn.Linear(width, h)
            _init_uniform(linear, init_range)
            layers += [linear, nn.BatchNorm1d(h)] if batch_norm else [linear]
            layers.append(nn.ReLU())
            width = h
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, math.prod(self.out_shape))
        _init_uniform(self.out, init_range)
        if output_bias is not None:
            # Start at the mean training image, as the authors' code does: sigmoid(bias) = mean pixel.
            with torch.no_grad():
                self.out.bias.copy_(torch.as_tensor(output_bias, dtype=self.out.bias.dtype))
        self.output = output

    def sample_z(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        if self.z_dist == "uniform":
            # U(-sqrt3, sqrt3) has unit variance (the authors' mnist.yaml).
            u = torch.rand(n, self.z_continuous, generator=generator, device=device)
            z = (2 * u - 1) * math.sqrt(3)
        else:
            z = torch.randn(n, self.z_continuous, generator=generator, device=device)
        if not self.z_categories:
            return z
        c = torch.randint(self.z_categories, (n,), generator=generator, device=device)
        return torch.cat([z, F.one_hot(c, self.z_categories).to(z.dtype)], dim=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, _one_hot(y, self.n_classes, z)], dim=1)
        else:
            check_labels(y, 0, z.shape[0])
        x = self.out(self.hidden(z))
        if self.output == "sigmoid":
            x = torch.sigmoid(x)
        elif self.output == "tanh":
            x = (torch.tanh(x) + 1) / 2  # tanh range [-1, 1] mapped onto [0, 1], as the DCGAN
        return x.view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """x (and an optional one-hot label) -> maxout or LeakyReLU layers -> one logit per sample.

    Dropout is inverted (kept units are scaled by 1/keep during training), so evaluation needs no
    rescaling; it is active on real and generated batches alike whenever D is in train mode.
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        hidden: list[int],
        pieces: int = 5,
        maxout: bool = True,
        init_range: float = 0.005,
        dropout_input: float = 0.2,
        dropout_hidden: float = 0.5,
        n_classes: int = 0,
        minibatch_std: bool = False,
        pack: int = 1,
        spectral_norm: bool = False,
    ):
        super().__init__()
        self.n_classes, self.minibatch_std, self.pack = n_classes, minibatch_std, pack
        width = math.prod(in_shape) * pack + n_classes + int(minibatch_std)
        layers: list[nn.Module] = [nn.Dropout(dropout_input)] if dropout_input else []
        for h in hidden:
            if maxout:
                block = Maxout(width, h, pieces)
                _init_uniform(block.linear, init_range)
                if spectral_norm:
                    block.linear = nn.utils.parametrizations.spectral_norm(block.linear)
                layers.append(block)
            else:
                linear = nn.Linear(width, h)
                _init_uniform(linear, init_range)
                if spectral_norm:
                    linear = nn.utils.parametrizations.spectral_norm(linear)
                layers += [linear, nn.LeakyReLU(0.2)]
            if dropout_hidden:
                layers.append(nn.Dropout(dropout_hidden))
            width = h
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)
        _init_uniform(self.out, init_range)
        if spectral_norm:
            self.out = nn.utils.parametrizations.spectral_norm(self.out)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # PacGAN: `pack` consecutive samples are judged together as one input.
        x = x.reshape(x.shape[0] // self.pack, -1)
        if self.minibatch_std:
            # Karras et al. 2018: one feature, the mean over features of the batch std.
            std = x.std(dim=0, unbiased=False).mean().expand(x.shape[0], 1)
            x = torch.cat([x, std], dim=1)
        if self.n_classes:
            x = torch.cat([x, _one_hot(y, self.n_classes, x)], dim=1)
        else:
            check_labels(y, 0, x.shape[0])
        return self.out(self.hidden(x)).squeeze(1)



def _one_hot(y: torch.Tensor | None, n_classes: int, like: torch.Tensor) -> torch.Tensor:
    y = check_labels(y, n_classes, like.shape[0])
    return F.one_hot(y, n_classes).to(like.dtype)
