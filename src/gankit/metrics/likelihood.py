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
bounds themselves are computed beside the networks (gankit.nets.vae: `elbo`, `iwae_bound`,
`log_weights`), since training maximises the same ELBO; here they are averaged over a test set,
drawing from their own `torch.Generator`, so the global random state is untouched.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.nets.vae import elbo, iwae_bound

BINARIZE_SEED = 0  # the one fixed binarisation of the test set every reported number uses


def binarize(x: torch.Tensor, seed: int = BINARIZE_SEED) -> torch.Tensor:
    """Each pixel 1 with probability its grey level: a fixed draw (seeded) of binary images."""
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(x.detach().cpu().float(), generator=g)


def _check_binary(x: torch.Tensor) -> None:
    if not bool(((x == 0) | (x == 1)).all()):
        raise GankitError("likelihood bounds need binary images (pixels 0 or 1); binarise them "
                          "first with gankit.metrics.likelihood.binarize(x)")


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
