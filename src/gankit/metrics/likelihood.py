"""Exact likelihood bounds of a VAE on binary images, in nats.

For an encoder q(z|x) = N(mu(x), diag exp(logvar(x))), the prior p(z) = N(0, I) and a Bernoulli
decoder p(x|z) with logits l(z), every draw z_k ~ q(z|x) gives an importance weight

    log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x).

- ELBO (Kingma & Welling 2014, eq. 10): E_q[log p(x|z)] - KL(q(z|x) || p(z)), the KL term in
  closed form, the reconstruction term averaged over `samples` draws.
- IWAE bound (Burda, Grosse & Salakhutdinov 2016, eq. 8): log (1/K) sum_k w_k. It is >= the
  mean of log w_k for the same draws (Jensen), equals it for K = 1, and rises to log p(x) as K
  grows, so it is the estimate of log p(x) reported.

The images must be binary (0/1): these are probabilities of binary images, not densities. The
functions take the networks themselves and draw from their own `torch.Generator`, so the
global random state is untouched.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F

from gankit.errors import GankitError

LOG_2PI = math.log(2 * math.pi)
BINARIZE_SEED = 0  # the one fixed binarisation of the test set every reported number uses


def binarize(x: torch.Tensor, seed: int = BINARIZE_SEED) -> torch.Tensor:
    """Each pixel 1 with probability its grey level: a fixed draw (seeded) of binary images."""
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(x.detach().cpu().float(), generator=g)


def _check_binary(x: torch.Tensor) -> None:
    if not bool(((x == 0) | (x == 1)).all()):
        raise GankitError("likelihood bounds need binary images (pixels 0 or 1); binarise them "
                          "first with gankit.metrics.likelihood.binarize(x)")


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) summed over the pixels: N (or K x N) values."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits),
                                               reduction="none").sum(-1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def log_weights(encoder: Any, decoder: Any, x: torch.Tensor, k: int,
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


def elbo(encoder: Any, decoder: Any, x: torch.Tensor, samples: int = 1,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example ELBO (N values): the closed-form KL and `samples` reconstruction draws."""
    flat = x.reshape(len(x), -1)
    mu, logvar = encoder(x)
    eps = torch.randn((samples, *mu.shape), generator=generator, device=mu.device,
                      dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps
    logits = decoder.logits(z.reshape(-1, mu.shape[1])).reshape(samples, len(x), -1)
    return bernoulli_log_prob(logits, flat).mean(0) - gaussian_kl(mu, logvar)


def iwae_bound(encoder: Any, decoder: Any, x: torch.Tensor, k: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example IWAE bound with K samples (N values): log mean_k w_k."""
    return torch.logsumexp(log_weights(encoder, decoder, x, k, generator), 0) - math.log(k)


@torch.no_grad()
def likelihood_bounds(encoder: Any, decoder: Any, x: torch.Tensor, k: int = 100,
                      elbo_samples: int = 1, seed: int = 0,
                      batch_size: int = 100) -> dict[str, float]:
    """Mean ELBO and IWAE-K bound of binary images x (nats per image), with standard errors."""
    if k < 1 or elbo_samples < 1:
        raise GankitError(f"k = {k} and elbo_samples = {elbo_samples} must be at least 1")
    x = x.float()
    _check_binary(x)
    g = torch.Generator().manual_seed(seed)
    was = [(net, net.training) for net in (encoder, decoder)]
    for net, _ in was:
        net.eval()
    try:
        lb, iw = [], []
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            lb.append(elbo(encoder, decoder, xb, elbo_samples, g))
            iw.append(iwae_bound(encoder, decoder, xb, k, g))
    finally:
        for net, mode in was:
            net.train(mode)
    out: dict[str, float] = {"n": len(x), "k": k, "elbo_samples": elbo_samples}
    for name, values in (("elbo", torch.cat(lb)), ("iwae", torch.cat(iw))):
        values = values.double()
        out[name] = values.mean().item()
        out[name + "_stderr"] = (values.std() / math.sqrt(len(values))).item()
    return out
