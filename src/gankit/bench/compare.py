"""Variants of one config timed in the same rounds: what a speed option buys, under one load.

Two `bench_speed` runs a minute apart see different loads on a shared machine, so the ratio
of their images/s mixes the option's effect with the load's drift. Here every variant's
trainer is built first, then their iterations alternate within each round (timing.py), and
each variant's median is divided into the first one's.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import torch

from gankit.bench.timing import Workload, calibrate, measure, paired_ratio_se
from gankit.config import Config
from gankit.data.dataset import TrainingData


def _workload(trainer: Any, name: str) -> Workload:
    cfg = trainer.cfg
    threads = cfg.train.threads or torch.get_num_threads()
    iteration = (trainer.simultaneous_iteration if cfg.train.update == "simultaneous"
                 else trainer.algorithm1_iteration)

    def run(n: int) -> None:
        torch.set_num_threads(threads)  # variants may differ in train.threads
        for _ in range(n):
            iteration()

    return Workload(name, run)


def compare_steps(configs: list[Config], *, rounds: int = 5, warmup: int = 3,
                  round_seconds: float = 0.5,
                  data: TrainingData | None = None) -> list[dict[str, Any]]:
    """Median seconds per iteration of each config, the first one's median over each's (the
    speed-up) and that speed-up's standard error over the rounds."""
    from gankit.train.loop import Trainer

    threads_before = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory(prefix="gankit-compare-") as tmp:
            works, sizes = [], []
            for i, cfg in enumerate(configs):
                cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, progress=False))
                trainer = Trainer(cfg, Path(tmp) / f"run{i}", data=data)
                data = data or trainer.data  # one copy of the data for every variant
                trainer.objective.train_mode()
                works.append(_workload(trainer, str(i)))
                sizes.append(cfg.train.batch_size * cfg.train.k)
                calibrate(works[-1], warmup, round_seconds)
            measure(works, rounds)
    finally:
        torch.set_num_threads(threads_before)
    base = works[0].median
    return [{"iteration_s": w.median, "iteration_s_all": w.seconds,
             "images_per_s": size / w.median, "speedup": base / w.median,
             "speedup_se": paired_ratio_se(works[0].seconds, w.seconds, 1.0)}
            for w, size in zip(works, sizes, strict=True)]
