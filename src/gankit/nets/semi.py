"""The semi-supervised discriminator of Salimans et al. (2016), §5 and their MNIST setup: an MLP
with Gaussian noise added to its input and to every hidden layer (training only), weight
normalisation (Salimans & Kingma 2016) and K class logits. The (K+1)-th, "fake" class has its
logit fixed at 0, so the real/fake logit is logsumexp of the K (gankit.losses.real_fake_logit).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from gankit.config import Config
from gankit.nets.layers import check_labels


class GaussianNoise(nn.Module):
    """x + N(0, std^2) in training mode, x itself in eval mode (from the global RNG, so a resumed
    run draws the same noise)."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.std:
            return x
        return x + self.std * torch.randn_like(x)


class SemiDiscriminator(nn.Module):
    """x -> noise -> [linear, ReLU, noise] per hidden width -> K class logits (N x K)."""

    def __init__(self, in_shape: tuple[int, ...], hidden: list[int], n_classes: int,
                 input_noise: float = 0.3, hidden_noise: float = 0.5, weight_norm: bool = True):
        super().__init__()
        self.n_classes = n_classes
        self.input_noise = GaussianNoise(input_noise)
        layers: list[nn.Module] = []
        width = math.prod(in_shape)
        for h in hidden:
            linear = nn.Linear(width, h)
            layers.append(_weight_norm(linear) if weight_norm else linear)
            layers.append(nn.ReLU())
            width = h
        self.layers = nn.ModuleList(layers)
        self.hidden_noise = GaussianNoise(hidden_noise)
        out = nn.Linear(width, n_classes)
        self.out = _weight_norm(out) if weight_norm else out

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the last hidden layer before its noise: feature matching's f(x), the K logits)."""
        h = self.input_noise(x.reshape(x.shape[0], -1))
        for i in range(0, len(self.layers), 2):
            if i:
                h = self.hidden_noise(h)
            h = self.layers[i + 1](self.layers[i](h))
        return h, self.out(self.hidden_noise(h))

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        """K class logits (what `gankit eval --metrics accuracy` scores, in eval mode)."""
        return self.features_and_logits(x)[1]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(y, 0, x.shape[0])  # the classes are D's outputs, never its inputs
        return self.class_logits(x)


def build_semi_discriminator(cfg: Config, data_shape: tuple[int, ...],
                             n_classes: int) -> SemiDiscriminator:
    """The D of `objective: semi` from the config's semi: section."""
    s = cfg.semi
    return SemiDiscriminator(data_shape, list(s.hidden), n_classes, s.input_noise,
                             s.hidden_noise, s.weight_norm)
