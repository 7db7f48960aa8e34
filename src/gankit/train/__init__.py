"""Training: Algorithm 1 (loop.py), schedules, checkpoints, run folders, logging."""

from gankit.train.loop import Trainer, discriminator_step, generator_step, simultaneous_step, train
from gankit.train.run import Run, load_run

__all__ = [
    "Run",
    "Trainer",
    "discriminator_step",
    "generator_step",
    "load_run",
    "simultaneous_step",
    "train",
]
