"""Discriminator rejection sampling, DRS (Azadi et al. 2019, "Discriminator Rejection Sampling").

For the sigmoid cross-entropy losses (minimax, non-saturating) the optimal D of a generator G is
D*(x) = p_data(x) / (p_data(x) + p_G(x)), so its logit is log p_data(x) / p_G(x). Keeping a
sample x of G with probability exp(logit(x) - M), M the largest logit, is then rejection
sampling of p_data with G as the proposal. DRS uses the trained D in place of D* and keeps x
with probability sigmoid(F(x) - gamma), where

    F(x) = logit(x) - M - log(1 - exp(logit(x) - M - eps))

(Azadi et al., §3.2). At gamma 0 this is exactly exp(logit - M), up to eps: sigmoid(d - log(1 -
e^d)) = e^d, so the default is exact rejection sampling; F puts the acceptance on a logit scale,
where gamma shifts every sample's alike: a positive gamma keeps fewer samples, each more typical
to D, a negative one more. M is the largest logit of a burn-in draw, raised whenever a larger
one appears; eps = 1e-6 keeps the log finite, as in the paper.

The trained D only estimates D*: it was trained against the live G of the last steps, while a
run samples from G's EMA copy when it keeps one, and a D near equilibrium (or smoothed by R1)
scores nearly everything alike. As Azadi et al. do, `refit_discriminator` first trains a copy of
D further against the sampling network with G fixed (plain cross-entropy, no penalty); the run's
own D is untouched. How much DRS helps a run is measured, not assumed
(benchmarks/toy2d_recipes.py scores the grid both ways).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from gankit.errors import GankitError
from gankit.losses import d_loss_minimax

EPS = 1e-6  # Azadi et al.'s epsilon
BURN_IN = 10_000  # draws whose largest logit starts M
MAX_DRAWS_PER_SAMPLE = 1000  # below an acceptance of 0.1 %, stop and say so
REFIT_LR, REFIT_BETAS, REFIT_BATCH = 1e-4, (0.5, 0.999), 200  # measured on the grid (seed 0)


@dataclass
class RejectionSample:
    """The kept samples, in the order of the labels asked for, and how many draws they took."""

    samples: torch.Tensor
    draws: int  # samples of G scored after the burn-in
    logit_max: float  # M at the end

    @property
    def acceptance(self) -> float:
        return len(self.samples) / self.draws if self.draws else 1.0


def acceptance_probability(logits: torch.Tensor, logit_max: float, gamma: float = 0.0,
                           eps: float = EPS) -> torch.Tensor:
    """sigmoid(F(x) - gamma) for logits at most logit_max (Azadi et al. 2019, §3.2)."""
    delta = (logits - logit_max).clamp(max=0.0)
    f = delta - torch.log1p(-torch.exp(delta - eps))
    return torch.sigmoid(f - gamma)


def refit_discriminator(
    G: torch.nn.Module,
    D: torch.nn.Module,
    real: torch.Tensor,
    real_labels: torch.Tensor | None,
    steps: int,
    generator: torch.Generator,
) -> torch.nn.Module:
    """A copy of D trained `steps` more minibatches (Adam, REFIT_BATCH real and as many of G's
    samples, labels shared) to tell the training data from G's samples, G fixed: closer to the
    optimal D of the G that is sampled. The minibatches come from `generator`."""
    D = copy.deepcopy(D).train()
    opt = torch.optim.Adam(D.parameters(), lr=REFIT_LR, betas=REFIT_BETAS)
    device = next(D.parameters()).device
    for _ in range(steps):
        idx = torch.randint(len(real), (REFIT_BATCH,), generator=generator)
        y = real_labels[idx].to(device) if real_labels is not None else None
        with torch.no_grad():
            fake = G(G.sample_z(REFIT_BATCH, generator=generator).to(device), y)
        loss = d_loss_minimax(D(real[idx].to(device), y), D(fake, y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return D.eval()


@torch.no_grad()
def rejection_sample(
    G: torch.nn.Module,
    D: torch.nn.Module,
    n: int,
    labels: torch.Tensor | None,
    generator: torch.Generator,
    gamma: float = 0.0,
    batch_size: int = 1000,
    burn_in: int = BURN_IN,
) -> RejectionSample:
    """n samples of G kept by DRS with D's logits; slot i holds a sample of label labels[i]
    (conditional runs), each slot drawn until one is kept. z and the acceptance draws both come
    from `generator`, so a seed fixes the result."""
    if not math.isfinite(gamma):
        raise GankitError(f"DRS gamma {gamma}: give a finite number (0 is the paper's form)")
    device = next(G.parameters()).device

    def draw(y: torch.Tensor | None, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = G.sample_z(m, generator=generator).to(device)
        y = y.to(device) if y is not None else None
        x = G(z, y)
        return x, D(x, y).reshape(-1).float()

    logit_max = -math.inf
    for start in range(0, burn_in, batch_size):
        m = min(batch_size, burn_in - start)
        # conditional: burn-in labels drawn from those asked for
        y = (labels[torch.randint(len(labels), (m,), generator=generator)]
             if labels is not None and len(labels) else None)
        logit_max = max(logit_max, float(draw(y, m)[1].max()))
    missing = torch.arange(n)
    out: torch.Tensor | None = None
    draws = 0
    while len(missing):
        if draws > MAX_DRAWS_PER_SAMPLE * n:
            raise GankitError(
                f"DRS kept {n - len(missing)} of {n} samples in {draws:,} draws; D rejects "
                "almost everything G makes: give a lower (negative) --drs-gamma, or sample "
                "without DRS")
        kept_slots = []
        for start in range(0, len(missing), batch_size):
            slots = missing[start : start + batch_size]
            x, logits = draw(labels[slots] if labels is not None else None, len(slots))
            draws += len(slots)
            logit_max = max(logit_max, float(logits.max()))
            keep = torch.rand(len(slots), generator=generator) < acceptance_probability(
                logits.cpu(), logit_max, gamma)
            if out is None:
                out = torch.empty((n, *x.shape[1:]), dtype=x.dtype)
            out[slots[keep]] = x.cpu()[keep]
            kept_slots.append(slots[keep])
        missing = missing[~torch.isin(missing, torch.cat(kept_slots))]
    assert out is not None or n == 0
    return RejectionSample(out if out is not None else torch.empty(0), draws, logit_max)
