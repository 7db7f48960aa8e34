"""What a run leaves in its folder as it trains, as hooks: sample grids and checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gankit.train.hooks import EpochFacts, Hook, StepFacts


class SampleGrids(Hook):
    """samples/epoch-NNNN.png after every epoch and samples/final.png at the end, from the
    run's fixed noise (images as a grid; 2-D points over the true modes)."""

    def __init__(self, cfg: Any, run_dir: Path, data: Any,
                 preview: Callable[[int], tuple[torch.Tensor, int | None]]):
        # preview(n): (images, images per row or None), the objective's `preview_grid`
        self.cfg, self.run_dir, self.data, self.preview = cfg, run_dir, data, preview
        self.g_steps = 0

    def on_step(self, facts: StepFacts) -> None:
        self.g_steps = facts.g_steps

    def on_epoch(self, facts: EpochFacts) -> None:
        self.write(f"epoch-{facts.epoch:04d}")

    def on_end(self, finished: bool) -> None:
        if finished:
            self.write("final")

    def write(self, name: str) -> Path:
        from gankit.viz.grid import save_grid, save_points

        samples, nrow = self.preview(self.cfg.train.n_sample_grid if self.data.is_image else 2500)
        path = self.run_dir / "samples" / f"{name}.png"
        if self.data.is_image:
            if nrow is None and self.cfg.data.conditional:
                nrow = self.data.n_classes
            return save_grid(samples, path, nrow=nrow)
        title = f"{self.cfg.name} {self.cfg.loss} step {self.g_steps}"
        return save_points(
            samples, path, means=self.data.means, real=self.data.x[:10000], title=title
        )


class Checkpoints(Hook):
    """A checkpoint after every epoch, every `every` generator steps (0: epochs only), and
    when training ends or is interrupted."""

    def __init__(self, every: int, save: Callable[..., None]):
        self.every, self.save = every, save

    def on_step(self, facts: StepFacts) -> None:
        if self.every and not facts.epoch_done and facts.g_steps % self.every == 0:
            self.save()

    def on_epoch(self, facts: EpochFacts) -> None:
        self.save()

    def on_end(self, finished: bool) -> None:
        self.save(finished=finished)
