"""What a user sees while training: a progress bar, metrics.jsonl and (optionally) TensorBoard.

Every `train.log_every` generator steps one JSON line is appended to metrics.jsonl with both losses,
mean D(x) and D(G(z)) (probabilities for the sigmoid losses, raw critic values otherwise), the
gradient norms of G and D, the learning rates, step time and images per second.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.train import run as runs
from gankit.train.loop import grad_norm


def _first_non_finite(trainer: Any, stats: dict[str, torch.Tensor]) -> str:
    """Name the first tensor that went non-finite, so the user knows where to look."""
    for name in ("real_logits", "fake_logits", "fake_logits_g"):
        if name in stats and not torch.isfinite(stats[name]).all():
            return f"D's logits ({name})"
    for net_name, net in (("G", trainer.G), ("D", trainer.D)):
        for pname, p in net.named_parameters():
            if not torch.isfinite(p).all():
                return f"parameter {net_name}.{pname}"
    return "the loss itself"


class TrainingLogger:
    def __init__(self, trainer: Any):
        self.t = trainer
        cfg = trainer.cfg
        self.every = max(1, cfg.train.log_every)
        self.sums: dict[str, float] = {}
        self.count = 0
        self.interval_start = time.perf_counter()
        self.interval_d_steps = trainer.progress.d_steps
        self.bar = None
        if cfg.train.progress:
            from tqdm import tqdm

            total = trainer.total_d_steps()
            self.bar = tqdm(
                total=total,
                initial=trainer.progress.d_steps,
                unit="batch",
                dynamic_ncols=True,
                file=sys.stderr,
                desc=cfg.name,
            )
        self.tb = None
        if cfg.train.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise GankitError(
                    "train.tensorboard=true needs the tensorboard package: "
                    "pip install 'gankit[tensorboard]'"
                ) from None
            self.tb = SummaryWriter(str(trainer.run_dir / "tensorboard"))
        self.last_d_steps = trainer.progress.d_steps
        self.last_outputs: dict[str, torch.Tensor] = {}  # D's outputs on the last batch, for TB

    def _scalars(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        as_prob = self.t.loss.probabilities
        out = {}
        if "d_loss" in stats:
            out["d_loss"] = stats["d_loss"].item()
        if "g_loss" in stats:
            out["g_loss"] = stats["g_loss"].item()
        for key, name in (("real_logits", "d_x"), ("fake_logits", "d_gz")):
            if key in stats:
                v = stats[key]
                out[name] = (torch.sigmoid(v) if as_prob else v).mean().item()
        return out

    def step(self, stats: dict[str, torch.Tensor], seconds: float) -> None:
        t = self.t
        values = self._scalars(stats)
        bad = [k for k in ("d_loss", "g_loss") if k in values and not math.isfinite(values[k])]
        if bad:
            raise GankitError(
                f"{bad[0]} is {values[bad[0]]} at generator step {t.progress.g_steps} "
                f"(non-finite: {_first_non_finite(t, stats)}); training stopped, the last good "
                f"checkpoint is kept in {t.run_dir}; lower the learning rate or change the loss"
            )
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        if self.tb is not None:
            as_prob = t.loss.probabilities  # the same scale as the d_x / d_gz scalars
            self.last_outputs = {
                name: (torch.sigmoid(stats[key]) if as_prob else stats[key]).detach().cpu()
                for key, name in (("real_logits", "d_x"), ("fake_logits", "d_gz"))
                if key in stats
            }
        self.count += 1
        if self.bar is not None:
            self.bar.update(t.progress.d_steps - self.last_d_steps)
        self.last_d_steps = t.progress.d_steps
        if t.progress.g_steps % self.every == 0:
            self.flush()

    def flush(self) -> dict[str, Any] | None:
        t = self.t
        if not self.count:
            return None
        elapsed = time.perf_counter() - self.interval_start
        images = (t.progress.d_steps - self.interval_d_steps) * t.cfg.train.batch_size
        record: dict[str, Any] = {
            "step": t.progress.g_steps,
            "d_steps": t.progress.d_steps,
            "epoch": t.epoch_of(max(t.progress.d_steps - 1, 0)),
            **{k: v / self.count for k, v in self.sums.items()},
            "g_grad_norm": grad_norm(t.G),
            "d_grad_norm": grad_norm(t.D),
            "lr_g": t.opt_g.param_groups[0]["lr"],
            "lr_d": t.opt_d.param_groups[0]["lr"],
            "step_time": elapsed / self.count,
            "images_per_s": images / elapsed if elapsed > 0 else 0.0,
        }
        if "momentum" in t.opt_d.param_groups[0]:
            record["momentum"] = t.opt_d.param_groups[0]["momentum"]
        if t.monitor is not None:
            warnings = t.monitor.check(record)
            if warnings:
                record["warnings"] = warnings
                for w in warnings:
                    self.write(f"warning at step {record['step']}: {w}")
        runs.append_metrics(t.run_dir, record)
        if self.bar is not None:
            post = {
                "ep": record["epoch"],
                "D": f"{record.get('d_loss', 0):.3f}",
                "G": f"{record.get('g_loss', 0):.3f}",
                "D(x)": f"{record.get('d_x', 0):.2f}",
                "D(G(z))": f"{record.get('d_gz', 0):.2f}",
                "img/s": f"{record['images_per_s']:.0f}",
            }
            if record.get("warnings"):
                post["!"] = record["warnings"][0][:40]
            self.bar.set_postfix(post, refresh=False)
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, int | float) and k not in ("step", "d_steps", "epoch"):
                    self.tb.add_scalar(k, v, record["step"])
            for name, values in self.last_outputs.items():
                self.tb.add_histogram(f"{name}_histogram", values, record["step"])
        self.sums, self.count = {}, 0
        self.interval_start = time.perf_counter()
        self.interval_d_steps = t.progress.d_steps
        return record

    def end_of_epoch(self, epoch: int) -> None:
        t = self.t
        if self.tb is not None and t.data.is_image:
            import numpy as np

            from gankit.viz.grid import make_grid

            with torch.no_grad():
                g = t.G_ema or t.G
                g.eval()
                grid = make_grid(
                    g(t.fixed_z[:64], None if t.fixed_y is None else t.fixed_y[:64]).cpu()
                )
                g.train()
            self.tb.add_image("samples", np.ascontiguousarray(grid), epoch, dataformats="HWC")

    def log_eval(self, epoch: int, result: dict[str, Any]) -> None:
        """An in-training evaluation: one metrics.jsonl record, a line, TensorBoard scalars."""
        t = self.t
        values = {k: v for k, v in result["metrics"].items() if isinstance(v, int | float)}
        record = {
            "step": t.progress.g_steps,
            "d_steps": t.progress.d_steps,
            "epoch": epoch,
            "eval": values,
            "eval_protocol": result["protocol"],
        }
        runs.append_metrics(t.run_dir, record)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        self.write(f"eval at epoch {epoch} (step {record['step']}): {shown}")
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"eval/{k}", v, record["step"])

    def write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def close(self) -> None:
        self.flush()
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
