"""What a user sees while training: progress (progress.py), metrics.jsonl and TensorBoard.

Every `train.log_every` generator steps one JSON line is appended to metrics.jsonl with both losses,
mean D(x) and D(G(z)) (probabilities for the sigmoid losses, raw critic values otherwise), the
gradient norms of G and D, the learning rates, step time and images per second. The means are
over the `steps_in_record` generator steps since the record before: fewer than log_every in the
first record after a resume (the steps before the checkpoint were logged by the run before) and
in the last one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.train import run as runs
from gankit.train.hooks import EpochFacts, Hook, StepFacts


class TrainingLogger(Hook):
    """Progress, metrics.jsonl, the health monitor's warnings and TensorBoard, as a hook."""

    def __init__(
        self,
        cfg: Any,
        run_dir: Path,
        probabilities: bool,
        diagnostics: Callable[[], dict[str, float]],
        preview: Callable[[int], tuple[torch.Tensor, int | None]],
        monitor: Any,
        start_d_steps: int,
        total_d_steps: int | None,
        is_image: bool,
    ):
        self.run_dir, self.probabilities = run_dir, probabilities
        self.diagnostics, self.preview, self.monitor = diagnostics, preview, monitor
        self.batch_size, self.is_image = cfg.train.batch_size, is_image
        self.every = max(1, cfg.train.log_every)
        self.sums: dict[str, float] = {}
        self.count = 0
        self.interval_start = time.perf_counter()
        self.interval_d_steps = start_d_steps
        self.last: StepFacts | None = None
        self.progress = None
        if cfg.train.progress:
            from gankit.train.progress import make_progress

            self.progress = make_progress(cfg.name, total_d_steps, start_d_steps)
        self.tb = None
        if cfg.train.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise GankitError(
                    "train.tensorboard=true needs the tensorboard package: "
                    "pip install 'gankit[tensorboard]'"
                ) from None
            self.tb = SummaryWriter(str(run_dir / "tensorboard"))
        self.last_outputs: dict[str, torch.Tensor] = {}  # D's outputs on the last batch, for TB

    def _scalars(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        as_prob = self.probabilities
        out = {}
        if "d_loss" in stats:
            out["d_loss"] = stats["d_loss"].item()
        if "g_loss" in stats:
            out["g_loss"] = stats["g_loss"].item()
        if "info_loss" in stats:  # objective infogan: Q's cross-entropy of the code
            out["info_loss"] = stats["info_loss"].item()
        for key, name in (("real_logits", "d_x"), ("fake_logits", "d_gz")):
            if key in stats:
                v = stats[key]
                out[name] = (torch.sigmoid(v) if as_prob else v).mean().item()
        return out

    def on_step(self, facts: StepFacts) -> None:
        stats = facts.stats
        self.last = facts
        for k, v in self._scalars(stats).items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        if self.tb is not None:
            as_prob = self.probabilities  # the same scale as the d_x / d_gz scalars
            self.last_outputs = {
                name: (torch.sigmoid(stats[key]) if as_prob else stats[key]).detach().cpu()
                for key, name in (("real_logits", "d_x"), ("fake_logits", "d_gz"))
                if key in stats
            }
        self.count += 1
        if self.progress is not None:
            self.progress.update(facts.d_steps, facts.g_steps)
        if facts.g_steps % self.every == 0:
            self.flush()

    def flush(self) -> dict[str, Any] | None:
        facts = self.last
        if not self.count or facts is None:
            return None
        elapsed = time.perf_counter() - self.interval_start
        images = (facts.d_steps - self.interval_d_steps) * self.batch_size
        diagnostics = self.diagnostics()
        record: dict[str, Any] = {
            "step": facts.g_steps,
            "d_steps": facts.d_steps,
            "epoch": facts.epoch,
            "steps_in_record": self.count,  # what the means below average over
            **{k: v / self.count for k, v in self.sums.items()},
            **{k: v for k, v in diagnostics.items() if k != "momentum"},
            "step_time": elapsed / self.count,
            "images_per_s": images / elapsed if elapsed > 0 else 0.0,
        }
        if "momentum" in diagnostics:
            record["momentum"] = diagnostics["momentum"]
        if self.monitor is not None:
            warnings = self.monitor.check(record)
            if warnings:
                record["warnings"] = warnings
                for w in warnings:
                    self.write(f"warning at step {record['step']}: {w}")
        runs.append_metrics(self.run_dir, record)
        if self.progress is not None:
            self.progress.show(record)
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, int | float) and k not in ("step", "d_steps", "epoch", "steps_in_record"):
                    self.tb.add_scalar(k, v, record["step"])
            for name, values in self.last_outputs.items():
                self.tb.add_histogram(f"{name}_histogram", values, record["step"])
        self.sums, self.count = {}, 0
        self.interval_start = time.perf_counter()
        self.interval_d_steps = facts.d_steps
        return record

    def on_epoch(self, facts: EpochFacts) -> None:
        if self.tb is not None and self.is_image:
            import numpy as np

            from gankit.viz.grid import make_grid

            grid = make_grid(*self.preview(64))  # the objective's preview_grid, as the PNGs
            self.tb.add_image("samples", np.ascontiguousarray(grid), facts.epoch, dataformats="HWC")

    def log_eval(self, epoch: int, result: dict[str, Any]) -> None:
        """An in-training evaluation: one metrics.jsonl record, a line, TensorBoard scalars."""
        facts = self.last
        values = {k: v for k, v in result["metrics"].items() if isinstance(v, int | float)}
        record = {
            "step": facts.g_steps if facts else 0,
            "d_steps": facts.d_steps if facts else 0,
            "epoch": epoch,
            "eval": values,
            "eval_protocol": result["protocol"],
        }
        runs.append_metrics(self.run_dir, record)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        self.write(f"eval at epoch {epoch} (step {record['step']}): {shown}")
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"eval/{k}", v, record["step"])

    def write(self, message: str) -> None:
        if self.progress is not None:
            self.progress.write(message)
        else:
            print(message, file=sys.stderr)

    def on_end(self, finished: bool) -> None:
        self.flush()
        if self.progress is not None:
            self.progress.close()
        if self.tb is not None:
            self.tb.close()
