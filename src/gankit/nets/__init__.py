"""Networks chosen by config: `build_generator` and `build_discriminator`.

Every generator has `.z_dim`, `sample_z(n, generator, device)` and `forward(z, y=None)` returning
data-shaped tensors; every discriminator's `forward(x, y=None)` returns raw logits of shape (N,)
(N / pack when PacGAN packing is on). Losses work on logits, so no net ends in a sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.config import Config
from gankit.nets.mlp import Maxout, MLPDiscriminator, MLPGenerator

__all__ = ["build_generator", "build_discriminator", "Maxout", "MLPGenerator", "MLPDiscriminator"]


def build_generator(
    cfg: Config, data_shape: tuple[int, ...], n_classes: int = 0, data_mean: torch.Tensor | None = None
) -> nn.Module:
    g = cfg.generator
    n_classes = n_classes if cfg.data.conditional else 0
    if g.kind == "dcgan":
        from gankit.nets.dcgan import DCGANGenerator

        channels, size = data_shape[0], data_shape[-1]
        return DCGANGenerator(
            z_dim=g.z_dim,
            channels=channels,
            size=size,
            base=g.base,
            n_classes=n_classes,
            attention=g.attention,
            spectral_norm=g.spectral_norm,
            output=g.output,
            extra_layers=g.extra_layers,
        )
    bias = None
    if g.output == "sigmoid" and g.output_bias_from_data and data_mean is not None:
        # Per pixel, as pylearn2's init_sigmoid_bias_from_marginals (the authors' mnist.yaml):
        # sigmoid(bias) is each pixel's mean over the training set, clipped to [1e-7, 1 - 1e-7].
        # G starts at the mean digit, with the border pixels (always 0) at logit -16.
        m = data_mean.detach().double().flatten().clamp(1e-7, 1 - 1e-7)
        bias = torch.log(m / (1 - m)).float()
    return MLPGenerator(
        z_dim=g.z_dim,
        out_shape=data_shape,
        hidden=g.hidden,
        batch_norm=g.batch_norm,
        output=g.output,
        z_dist=g.z_dist,
        init_range=g.init_range,
        n_classes=n_classes,
        output_bias=bias,
        z_categories=g.z_categories,
    )


def build_discriminator(cfg: Config, data_shape: tuple[int, ...], n_classes: int = 0) -> nn.Module:
    d = cfg.discriminator
    n_classes = n_classes if cfg.data.conditional else 0
    if d.kind == "dcgan":
        from gankit.nets.dcgan import DCGANDiscriminator

        return DCGANDiscriminator(
            channels=data_shape[0],
            size=data_shape[-1],
            base=d.base,
            n_classes=n_classes,
            attention=d.attention,
            spectral_norm=d.spectral_norm,
            batch_norm=d.batch_norm,
            minibatch_std=d.minibatch_std,
            pack=d.pack,
            extra_layers=d.extra_layers,
        )
    return MLPDiscriminator(
        in_shape=data_shape,
        hidden=d.hidden,
        pieces=d.pieces,
        maxout=d.kind == "maxout",
        init_range=d.init_range,
        dropout_input=d.dropout_input,
        dropout_hidden=d.dropout_hidden,
        n_classes=n_classes,
        minibatch_std=d.minibatch_std,
        pack=d.pack,
        spectral_norm=d.spectral_norm,
    )
