"""Batch-norm statistics of G's EMA copy: copied from G, or recomputed for the averaged weights.

G_ema averages G's weights over many steps, but a batch-norm layer normalises with running
statistics, and copied from the live G (`train.ema_bn: copy`, gankit's behaviour before this
option) those are the statistics of another network's activations: every unit of the averaged
G is then shifted and scaled by the mismatch, and samples move off the data (on the 2-D grid,
off the modes' centres). `train.ema_bn: recompute` gives G_ema its own statistics, the mean and
variance of each batch-norm input over fresh noise with the averaged weights ("standing
statistics" of Brock et al. 2019, BigGAN). Training never reads G_ema's buffers, so
recomputing them changes no training step, a run still resumes bit for bit, and a finished
run's statistics can be recomputed afterwards (`recompute_bn_stats` on its EMA generator).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.errors import GankitError

STANDING_SAMPLES = 10_000  # noise draws the statistics average over
STANDING_SEED = 271828  # offset from the run's seed: its own generator, the run's RNG untouched


def batch_norm_layers(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch-norm layers of `net` that keep running statistics."""
    return [m for m in net.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_bn_stats(G: nn.Module, batch_size: int, seed: int, n_classes: int = 0,
                       n: int = STANDING_SAMPLES) -> bool:
    """Replace G's batch-norm running statistics by those of its own activations on `n` noise
    draws (a last batch of one sample left out; labels uniform over `n_classes` for a conditional G, as in training), in batches of
    `batch_size` (training's, so each batch's statistics are of the size G trained with),
    averaged with equal weight per batch. Only the batch-norm layers run in training mode
    (dropout and spectral norm's power iteration stay as they are); the noise comes from its
    own generator seeded with `seed`. Returns False when G has no batch norm (nothing to do)."""
    layers = batch_norm_layers(G)
    if not layers:
        return False
    modes = [m.training for m in G.modules()]
    momenta = [m.momentum for m in layers]
    device = next(G.parameters()).device
    draws = torch.Generator().manual_seed(seed)
    try:
        G.eval()
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # None: a cumulative average over the batches
            m.train()
        for start in range(0, n, batch_size):
            b = min(batch_size, n - start)
            if b < 2 and start:  # batch norm in training mode cannot normalise one sample
                break
            z = G.sample_z(b, generator=draws).to(device)
            y = torch.randint(n_classes, (b,), generator=draws).to(device) if n_classes else None
            G(z, y)
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        for m, training in zip(G.modules(), modes, strict=True):
            m.training = training
    return True


def recompute_for_config(G: nn.Module, cfg: Any, n_classes: int) -> bool:
    """recompute_bn_stats as a run with config `cfg` does it (train.ema_bn recompute): training's
    batch size, the run's seed plus STANDING_SEED, labels for a conditional G. Training and
    `--ema-bn recompute` both call this, so they give the same statistics."""
    return recompute_bn_stats(G, cfg.train.batch_size, cfg.seed + STANDING_SEED,
                              n_classes if cfg.data.conditional else 0)


def recompute_for_run(run: Any) -> None:
    """`gankit sample/eval RUN --ema-bn recompute`: give a finished run's EMA generator its own
    statistics, exactly those a run trained with train.ema_bn recompute saves (same noise seed,
    batch size and number of draws). Refused, with why, where there is nothing to recompute."""
    cfg = run.config
    if not cfg.train.ema:
        raise GankitError(f"--ema-bn recompute: run {run.path} kept no EMA copy of G (train.ema "
                          "is 0), so its G's batch-norm statistics are its own; drop --ema-bn")
    if cfg.train.ema_bn == "recompute":
        return  # its checkpoint holds them already
    if not recompute_for_config(run.generator, cfg, run.n_classes):
        raise GankitError(f"--ema-bn recompute: the generator of run {run.path} has no batch "
                          "norm, so there are no statistics to recompute; drop --ema-bn")
