"""Learning-rate and momentum schedules of the authors' MNIST configuration (mnist.yaml)."""

from __future__ import annotations

from gankit.config import OptimConfig


def learning_rate(opt: OptimConfig, updates: int) -> float:
    """lr divided by `lr_decay` at every update, never below `lr_min` (pylearn2's ExponentialDecay)."""
    if opt.lr_decay == 1.0:
        return opt.lr
    return max(opt.lr / opt.lr_decay**updates, opt.lr_min)


def momentum(opt: OptimConfig, epoch: int) -> float:
    """Momentum rising linearly from momentum_start at momentum_start_epoch to momentum_end at
    momentum_end_epoch (epochs counted from 1), constant outside (pylearn2's MomentumAdjustor)."""
    lo, hi = opt.momentum_start_epoch, opt.momentum_end_epoch
    if epoch <= lo or hi <= lo:
        return opt.momentum_start if epoch <= lo else opt.momentum_end
    frac = min((epoch - lo) / (hi - lo), 1.0)
    return opt.momentum_start + frac * (opt.momentum_end - opt.momentum_start)
