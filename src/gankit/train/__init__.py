"""Training: the loop (loop.py), objectives (objective.py, gan.py, objectives.py), update steps
(steps.py), hooks (hooks.py, logging.py, monitor.py, outputs.py, evaluation.py), checkpoints
and run folders (checkpoint.py, run.py)."""

from gankit.train.loop import Trainer, train
from gankit.train.run import Run, load_run
from gankit.train.steps import discriminator_step, generator_step, simultaneous_step

__all__ = [
    "Run",
    "Trainer",
    "discriminator_step",
    "generator_step",
    "load_run",
    "simultaneous_step",
    "train",
]
