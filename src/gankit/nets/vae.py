"""The variational autoencoder's networks (Kingma & Welling 2014, appendix C): MLPs with tanh
hidden layers, a diagonal Gaussian encoder q(z|x) and a Bernoulli decoder p(x|z), prior N(0, I).

The decoder is what `load_run` hands out as a run's "generator": `sample_z(n)` draws from the
prior and `forward(z, y)` returns the decoder's means (pixel probabilities in [0, 1]), so
`gankit sample`, `gankit eval` and `gankit report` treat it as they treat a GAN's G.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from gankit.nets.layers import check_labels

LOG_2PI = math.log(2 * math.pi)


def _mlp(width: int, hidden: list[int]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(width, h), nn.Tanh()]
        width = h
    return nn.Sequential(*layers), width


class GaussianEncoder(nn.Module):
    """x (N x C x H x W) -> the mean and log-variance of q(z|x), each N x z_dim."""

    def __init__(self, in_shape: tuple[int, ...], hidden: list[int], z_dim: int):
        super().__init__()
        self.in_shape, self.z_dim = tuple(in_shape), z_dim
        self.hidden, width = _mlp(math.prod(self.in_shape), hidden)
        self.mu = nn.Linear(width, z_dim)
        self.logvar = nn.Linear(width, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x.reshape(len(x), -1))
        return self.mu(h), self.logvar(h)


class BernoulliDecoder(nn.Module):
    """z -> Bernoulli logits of every pixel; `forward` gives their probabilities (the means)."""

    def __init__(self, z_dim: int, hidden: list[int], out_shape: tuple[int, ...],
                 output_bias: torch.Tensor | None = None):
        super().__init__()
        self.z_dim, self.out_shape, self.n_classes = z_dim, tuple(out_shape), 0
        self.hidden, width = _mlp(z_dim, hidden)
        self.out = nn.Linear(width, math.prod(self.out_shape))
        if output_bias is not None:
            # Start at the mean training image (sigmoid(bias) = mean pixel), as the GAN's G does.
            with torch.no_grad():
                self.out.bias.copy_(output_bias.reshape(-1))

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=generator, device=device)  # the prior

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """N x (C*H*W) logits of p(x|z)."""
        return self.out(self.hidden(z))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(y, 0, z.shape[0])  # unconditional: labels are refused with a fix
        return torch.sigmoid(self.logits(z)).view(z.shape[0], *self.out_shape)


# --- the bounds (Kingma & Welling 2014, eq. 10; Burda et al. 2016, eq. 8) ---------------------
def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) summed over the pixels: N (or K x N) values."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits),
                                               reduction="none").sum(-1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def log_weights(encoder: GaussianEncoder, decoder: BernoulliDecoder, x: torch.Tensor, k: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """K x N log importance weights log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x)."""
    flat = x.reshape(len(x), -1)
    mu, logvar = encoder(x)
    std = (0.5 * logvar).exp()
    eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + std * eps  # the reparameterisation: gradients reach mu and logvar through z
    log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
    log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    logits = decoder.logits(z.reshape(-1, mu.shape[1])).reshape(k, len(x), -1)
    return bernoulli_log_prob(logits, flat) + log_prior - log_q


def elbo(encoder: GaussianEncoder, decoder: BernoulliDecoder, x: torch.Tensor, samples: int = 1,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example ELBO (N values): the closed-form KL and `samples` reconstruction draws."""
    flat = x.reshape(len(x), -1)
    mu, logvar = encoder(x)
    eps = torch.randn((samples, *mu.shape), generator=generator, device=mu.device,
                      dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps
    logits = decoder.logits(z.reshape(-1, mu.shape[1])).reshape(samples, len(x), -1)
    return bernoulli_log_prob(logits, flat).mean(0) - gaussian_kl(mu, logvar)


def iwae_bound(encoder: GaussianEncoder, decoder: BernoulliDecoder, x: torch.Tensor, k: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example IWAE bound with K samples (N values): log mean_k w_k."""
    return torch.logsumexp(log_weights(encoder, decoder, x, k, generator), 0) - math.log(k)
