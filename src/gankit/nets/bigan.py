"""The networks BiGAN/ALI adds to a GAN (Donahue et al. 2017; Dumoulin et al. 2017): an encoder
E(x) -> z and a discriminator that judges a joint pair (x, z).

Both are MLPs (the permutation-invariant MNIST setting of Donahue et al. 2017, §4.1). The joint
discriminator is the config's `discriminator:` MLP (maxout or LeakyReLU) applied to the
concatenation [flatten(x), z]: D sees the image and the code together, one row per pair.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.config import Config
from gankit.nets.mlp import MLPDiscriminator, _init_uniform


class MLPEncoder(nn.Module):
    """x -> hidden LeakyReLU layers (optionally batch-normed) -> a linear code z in R^z_dim.

    The output is linear so E(x) can reach the whole support of a normal prior; a tanh or
    sigmoid would leave D an easy tell for a prior it cannot match."""

    def __init__(self, in_shape: tuple[int, ...], z_dim: int, hidden: list[int],
                 batch_norm: bool = False, init_range: float = 0.0):
        super().__init__()
        self.in_shape, self.z_dim = tuple(in_shape), z_dim
        layers: list[nn.Module] = []
        width = math.prod(self.in_shape)
        for h in hidden:
            linear = nn.Linear(width, h)
            _init_uniform(linear, init_range)
            layers += [linear, nn.BatchNorm1d(h)] if batch_norm else [linear]
            layers.append(nn.LeakyReLU(0.2))
            width = h
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, z_dim)
        _init_uniform(self.out, init_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x.reshape(x.shape[0], -1)))


class JointDiscriminator(nn.Module):
    """D(x, z): one logit per row for the pair (x[i], z[i]), from an MLP on [flatten(x), z]."""

    def __init__(self, net: nn.Module, z_dim: int):
        super().__init__()
        self.net, self.z_dim = net, z_dim

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != z.shape[0]:
            raise ValueError(f"D(x, z) needs one code per image: {x.shape[0]} images, "
                             f"{z.shape[0]} codes")
        return self.net(torch.cat([x.reshape(x.shape[0], -1), z], dim=1))


def build_encoder(cfg: Config, data_shape: tuple[int, ...]) -> MLPEncoder:
    b = cfg.bigan
    return MLPEncoder(data_shape, cfg.generator.z_dim, b.encoder_hidden,
                      batch_norm=b.encoder_batch_norm, init_range=b.encoder_init_range)


def build_joint_discriminator(cfg: Config, data_shape: tuple[int, ...]) -> JointDiscriminator:
    d, z_dim = cfg.discriminator, cfg.generator.z_dim
    net = MLPDiscriminator(
        in_shape=(math.prod(data_shape) + z_dim,),
        hidden=d.hidden,
        pieces=d.pieces,
        maxout=d.kind == "maxout",
        init_range=d.init_range,
        dropout_input=d.dropout_input,
        dropout_hidden=d.dropout_hidden,
        spectral_norm=d.spectral_norm,
    )
    return JointDiscriminator(net, z_dim)
