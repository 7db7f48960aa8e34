"""Hooks: how logging, samples, evaluation, checkpoints and budgets attach to the loop.

The loop calls every hook with plain facts after each iteration and each epoch, asks each
whether to stop, and tells each when training ends. Hooks never see the trainer: what they
may call (a preview of samples, a save) is handed to them when they are made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class StepFacts:
    g_steps: int  # generator updates so far, this one included
    d_steps: int  # discriminator updates so far
    epoch: int  # the epoch of the last discriminator update (1-based)
    epoch_done: bool  # this iteration finished an epoch
    seconds: float  # wall time of the iteration
    stats: dict[str, torch.Tensor]  # what the objective's updates returned (detached)


@dataclass(frozen=True)
class EpochFacts:
    epoch: int  # the epoch just finished
    g_steps: int
    d_steps: int
    sampler: nn.Module  # the network samples are drawn from (G's EMA copy when there is one)
    generator: nn.Module  # G itself


class Hook:
    """Override what you need; every method does nothing by default."""

    def on_step(self, facts: StepFacts) -> None: ...

    def on_epoch(self, facts: EpochFacts) -> None: ...

    def should_stop(self) -> bool:
        return False

    def on_end(self, finished: bool) -> None:
        """Training ended: `finished` when its epochs or steps ran out (or a hook stopped it),
        False when it was interrupted."""


class CpuBudget(Hook):
    """Stop once this process has used `seconds` of CPU time since the hook was made."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.process_time()

    def should_stop(self) -> bool:
        return time.process_time() - self.start >= self.seconds
