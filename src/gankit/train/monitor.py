"""Training-health monitor: plain-words warnings when a run goes wrong, at every logged record.

`TrainingLogger` calls `HealthMonitor.check(record)` every `train.log_every` generator steps and
prints and stores the strings it returns. Three failure modes are watched:

* D overpowers G: D(G(z)) -> 0 while G's gradient vanishes. With the minimax loss
  log(1 - D(G(z))) this is the saturation of Goodfellow et al. (2014, §3): G stops learning.
* Mode collapse: the spread of G's samples drops. The monitor measures it itself on a fixed
  slice of the run's fixed noise as the mean pairwise distance of G's outputs over that of real data
  (1 is the data's spread, 0 a single point) and, for 2-D mixtures, counts the modes covered
  with the VEEGAN/PacGAN metric. Both go into the record, so they are logged. Samples that
  become nearly identical, or never spread out, are reported within the first 300 steps.

* Divergence: a gradient norm or a loss that is infinite or astronomically large (the steps are
  far too large); reported at once, since nothing a run does afterwards is worth waiting for.

NaN/inf losses are the loop's job (it stops training with a GankitError).
The monitor never changes training: it draws no random numbers, runs G in eval mode under
no_grad and puts G back in the mode it found it in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

# How many of the fixed noise vectors are pushed through G at every check (2-D: 1000 points cost a few
# milliseconds; image runs have only n_sample_grid = 100 fixed codes).
N_SAMPLES = 1000
# D(G(z)) below this (a probability) means D rejects nearly every generated sample.
D_GZ_LOW = 0.02
# G's gradient norm below this fraction of its peak counts as vanished.
GRAD_VANISHED = 0.01
# Records a condition must hold before it is reported, so one noisy interval is not an alarm.
SUSTAIN = 3
# Records between repeats of the same warning while its condition persists.
REPEAT_EVERY = 10
# Diversity below this fraction of its peak (once the peak was meaningful) is a collapse.
DIVERSITY_DROP = 0.5
DIVERSITY_MEANINGFUL = 0.2
COLLAPSE_FIX = ("try discriminator.pack=2 (PacGAN), discriminator.minibatch_std=true, a lower "
                "learning rate or train.ema=0.99")
# % of high-quality samples from which the 2-D mode count is trusted.
MODES_ARMED_HQ = 50.0
# A G whose diversity never got above IDENTICAL (below) by this generator step collapsed from
# the start; every G starts near a point, but healthy runs of the shipped configs are at 0.2-1.0
# by step 100 (the paper's literal mnist-paper.yaml stays at 0.05 for its first 300 steps).
FLAT_AFTER_STEPS = 300
# Diversity below this that has fallen below SHRINKING of its peak: G's samples are becoming one
# sample (a G that starts near a point and spreads out never fell). Seen within 300 steps of
# configs/mnist-dcgan.yaml before its fix: 0.15 at step 50, 0.04 at step 200 (healthy runs: 0.3+).
IDENTICAL = 0.1
SHRINKING = 0.75
# Records that condition must hold, and steps from its first: two records and 100 steps, so
# with log_every = 100 it is reported at step 300, and a dip logged every step is no alarm.
EARLY_SUSTAIN = 2
EARLY_SPAN = 100
# D(x) above and D(G(z)) below 1 - D_SURE: D separates real from fake (named in the warning).
D_SURE = 0.99
# A loss or gradient norm above this (or not finite) means the run has blown up; healthy runs of
# the shipped configs stay below 1e3.
DIVERGED = 1e6


class HealthMonitor:
    """Watches each logged record and returns warnings (short, with the fix) as strings."""

    def __init__(
        self,
        preview: Callable[[int], torch.Tensor],
        n_fixed: int,
        real: torch.Tensor,
        loss_name: str,
        probabilities: bool,
        means: torch.Tensor | None = None,
        std: float | None = None,
    ):
        """`preview(n)` gives G's outputs (not the EMA copy's) on the first n of the run's
        `n_fixed` fixed noise vectors, in eval mode; `real` is the training data."""
        self.preview, self.n_fixed, self.real = preview, n_fixed, real
        self.loss_name, self.probabilities = loss_name, probabilities
        self.means, self.std = means, std
        self._real_spread: float | None = None
        self.records = 0
        self.g_grad_peak = 0.0
        self.diversity_peak = 0.0
        self.modes_peak = 0
        self.streaks = {"saturation": 0, "collapse": 0, "flat": 0, "modes": 0, "diverged": 0}
        self.last_warned: dict[str, int] = {}  # warning kind -> record index
        self.collapse_since = 0  # the step of the current collapse streak's first record

    @classmethod
    def for_run(cls, cfg: Any, data: Any, objective: Any) -> HealthMonitor:
        return cls(
            lambda n: objective.preview(n, ema=False),
            len(objective.fixed_z),
            data.x,
            cfg.loss,
            objective.probabilities,
            getattr(data, "means", None),
            getattr(data, "std", None),
        )

    # --- measurements -------------------------------------------------------------------
    def _real_data_spread(self, n: int) -> float:
        if self._real_spread is None:
            # The first n training examples: fixed, so the reference never changes.
            self._real_spread = mean_pairwise_distance(self.real[:n])
        return self._real_spread

    @torch.no_grad()
    def sample_health(self) -> dict[str, float | int]:
        """Diversity of G's samples on fixed noise (and modes covered for 2-D mixtures)."""
        n = min(N_SAMPLES, self.n_fixed, len(self.real))
        samples = self.preview(n).detach().float().cpu()
        if not torch.isfinite(samples).all():
            return {}
        real = self._real_data_spread(n)
        out: dict[str, float | int] = {
            "diversity": mean_pairwise_distance(samples) / real if real > 0 else 0.0
        }
        means = self.means
        if means is not None and samples.dim() == 2 and samples.shape[1] == 2 and self.std:
            from gankit.metrics.modes2d import mode_metrics

            m = mode_metrics(samples, means, self.std)
            out["modes"] = m["modes"]
            out["high_quality"] = m["high_quality"]
        return out

    # --- the check ------------------------------------------------------------------------
    def check(self, record: dict[str, Any]) -> list[str]:
        """Add diversity (and 2-D mode) measurements to `record`; return warnings, if any."""
        self.records += 1
        health = self.sample_health()
        for key, value in health.items():
            record[key] = round(value, 4) if isinstance(value, float) else value
        warnings = self._check_diverged(record)
        warnings += self._check_saturation(record)
        warnings += self._check_diversity(record)
        warnings += self._check_modes(record)
        return warnings

    def _report(self, kind: str, message: str, sustain: int = SUSTAIN) -> list[str]:
        """Once the condition has held `sustain` records; repeated every REPEAT_EVERY records."""
        if self.streaks[kind] < sustain:
            return []
        last = self.last_warned.get(kind)
        if last is not None and self.records - last < REPEAT_EVERY:
            return []
        self.last_warned[kind] = self.records
        return [message]

    def _check_diverged(self, record: dict[str, Any]) -> list[str]:
        keys = ("g_grad_norm", "d_grad_norm", "g_loss", "d_loss")
        bad = {k: record[k] for k in keys if isinstance(record.get(k), int | float)
               and not (math.isfinite(record[k]) and abs(record[k]) <= DIVERGED)}
        self.streaks["diverged"] = self.streaks["diverged"] + 1 if bad else 0
        if not bad:
            return []
        shown = ", ".join(f"{k} {v:.3g}" for k, v in bad.items())
        rates = ", ".join(f"{k} {record[k]:.3g}" for k in ("lr_g", "lr_d") if k in record)
        return self._report(
            "diverged",
            f"training has diverged: {shown} (not finite or above {DIVERGED:.0e}); the updates "
            f"are far too large, so nothing it learns now is worth keeping: lower the learning "
            f"rate ({rates}; e.g. --set optim.lr=1e-4) and start again",
            sustain=1,
        )

    def _check_saturation(self, record: dict[str, Any]) -> list[str]:
        g_grad = record.get("g_grad_norm")
        d_gz = record.get("d_gz")
        if g_grad is None or d_gz is None or not math.isfinite(g_grad):
            return []
        self.g_grad_peak = max(self.g_grad_peak, g_grad)
        if not self.probabilities:
            return []  # critic values of WGAN/LSGAN/hinge are not probabilities
        # log(1 - D(G(z))) has gradient D(G(z)) in the logit: with the minimax loss a small
        # D(G(z)) is itself the vanishing gradient (paper §3), even right from the start when
        # there is no peak to compare with. Other losses: compare with the largest norm seen.
        minimax = self.loss_name == "minimax"
        vanished = minimax or g_grad < GRAD_VANISHED * self.g_grad_peak
        if d_gz < D_GZ_LOW and vanished:
            self.streaks["saturation"] += 1
        else:
            self.streaks["saturation"] = 0
            return []
        fix = (
            "use loss=non-saturating, a lower d_optim.lr or a smaller train.k"
            if minimax
            else "lower d_optim.lr or train.k"
        )
        return self._report(
            "saturation",
            f"D overpowers G: D(G(z)) = {d_gz:.3g} for {self.streaks['saturation']} records and "
            f"G's gradient is vanishing (norm {g_grad:.2g}, peak {self.g_grad_peak:.2g}), so G "
            f"has stopped learning; {fix}",
        )

    def _check_diversity(self, record: dict[str, Any]) -> list[str]:
        diversity = record.get("diversity")
        if diversity is None:
            return []
        self.diversity_peak = max(self.diversity_peak, diversity)
        warnings: list[str] = []
        # A G that overshoots the data's spread early on is not more diverse in a useful way:
        # measure the drop from at most the data's own spread (1).
        reference = min(self.diversity_peak, 1.0)
        dropped = reference >= DIVERSITY_MEANINGFUL and diversity < DIVERSITY_DROP * reference
        # Nearly identical samples that were more diverse before: collapsing, even when the
        # earlier peak was too small for the drop above to count.
        identical = diversity < IDENTICAL and diversity < SHRINKING * self.diversity_peak
        if (dropped or identical) and not self.streaks["collapse"]:
            self.collapse_since = record.get("step", 0)
        self.streaks["collapse"] = self.streaks["collapse"] + 1 if dropped or identical else 0
        step = record.get("step", 0)
        if identical and step - self.collapse_since >= EARLY_SPAN:
            warnings += self._report(
                "collapse",
                f"G is collapsing: its samples are nearly identical (diversity {diversity:.3f} of "
                f"the data's, down from {self.diversity_peak:.2f}){self._d_sure(record)}; try a "
                "shallower generator (a DCGAN: generator.extra_layers=1), discriminator.pack=2 "
                "(PacGAN) or a lower learning rate",
                sustain=EARLY_SUSTAIN,
            )
        elif dropped:
            warnings += self._report(
                "collapse",
                f"possible mode collapse: sample diversity fell to {diversity:.2f} of the data's "
                f"(peak {self.diversity_peak:.2f}); {COLLAPSE_FIX}",
            )
        flat = self.diversity_peak < IDENTICAL and not identical  # one warning per record
        self.streaks["flat"] = self.streaks["flat"] + 1 if flat else 0
        if flat and step >= FLAT_AFTER_STEPS:
            warnings += self._report(
                "flat",
                f"G's samples are nearly identical: diversity {diversity:.2f} of the data's, never "
                f"above {IDENTICAL} in {step} steps{self._d_sure(record)}; check the learning "
                "rates and the loss, or try discriminator.pack=2",
                sustain=EARLY_SUSTAIN,
            )
        return warnings

    def _d_sure(self, record: dict[str, Any]) -> str:
        """', while D tells them from real data almost perfectly (...)' when it does."""
        d_x, d_gz = record.get("d_x"), record.get("d_gz")
        if not self.probabilities or d_x is None or d_gz is None:
            return ""
        if d_x > D_SURE and d_gz < 1 - D_SURE:
            return (f", while D tells them from real data almost perfectly (D(x) {d_x:.3f}, "
                    f"D(G(z)) {d_gz:.3f})")
        return ""

    def _check_modes(self, record: dict[str, Any]) -> list[str]:
        modes = record.get("modes")
        if modes is None:
            return []
        k = len(self.means)
        # While few samples are high quality the count swings with a handful of them; mode
        # hopping then is part of learning, so the peak counts only once G is precise.
        if record.get("high_quality", 0.0) >= MODES_ARMED_HQ:
            self.modes_peak = max(self.modes_peak, modes)
        lost = modes <= self.modes_peak - max(2, k // 4)
        self.streaks["modes"] = self.streaks["modes"] + 1 if lost else 0
        if not lost:
            return []
        return self._report(
            "modes",
            f"mode collapse: G covers {modes} of {k} modes (it covered {self.modes_peak}); "
            "try discriminator.pack=2 (PacGAN), a lower learning rate or train.ema=0.99",
        )

    # --- checkpointing ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Plain values saved in the checkpoint, so a resumed run warns as an unbroken one."""
        return {
            "records": self.records,
            "g_grad_peak": self.g_grad_peak,
            "diversity_peak": self.diversity_peak,
            "modes_peak": self.modes_peak,
            "streaks": dict(self.streaks),
            "last_warned": dict(self.last_warned),
            "collapse_since": self.collapse_since,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.records = int(state.get("records", 0))
        self.g_grad_peak = float(state.get("g_grad_peak", 0.0))
        self.diversity_peak = float(state.get("diversity_peak", 0.0))
        self.modes_peak = int(state.get("modes_peak", 0))
        self.streaks.update(state.get("streaks", {}))
        self.last_warned = dict(state.get("last_warned", {}))
        self.collapse_since = int(state.get("collapse_since", 0))


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between all pairs of rows of x (flattened per sample)."""
    flat = x.detach().float().reshape(len(x), -1).cpu()
    if len(flat) < 2:
        return 0.0
    return torch.pdist(flat).mean().item()
