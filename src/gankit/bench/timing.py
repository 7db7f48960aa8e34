"""Interleaved timing: every workload runs once per round, rounds repeat, medians are kept.

On a shared machine the load changes from second to second. Timing the step, its GEMM replay,
the matmul peak and the reference loop one after the other within each round means that a
ratio of two medians compares them under the same conditions; timing each in its own block
would compare one minute's load with another's.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Workload:
    """`run(n)` does n units of work (n iterations, n replays, n matmuls)."""

    name: str
    run: Callable[[int], None]
    units: int = 1  # units per round, set by calibrate()
    seconds: list[float] = field(default_factory=list)  # per unit, one entry per round

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _timed(work: Workload, n: int, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    work.run(n)
    sync()
    return (time.perf_counter() - start) / n


def calibrate(work: Workload, warmup: int, round_seconds: float,
              sync: Callable[[], None] = lambda: None) -> None:
    """Run `warmup` units untimed, then choose how many units make a round of ~round_seconds."""
    if warmup:
        work.run(warmup)
    once = _timed(work, 1, sync)
    work.units = max(1, round(round_seconds / max(once, 1e-9)))


def measure(works: list[Workload], rounds: int,
            sync: Callable[[], None] = lambda: None) -> None:
    """`rounds` rounds; in each, every workload runs its units once and records seconds/unit."""
    for _ in range(rounds):
        for work in works:
            work.seconds.append(_timed(work, work.units, sync))


def paired_ratio_se(numerator_s: list[float], denominator_s: list[float], scale: float) -> float:
    """Standard error of a ratio of two workloads' medians, from their interleaved rounds: each
    round gives its own ratio, scale x numerator / denominator (the two ran side by side, under
    the same load), and the spread of those ratios says how far the median one can be trusted.
    0 for a single round."""
    ratios = [scale * n / d for n, d in zip(numerator_s, denominator_s, strict=True)]
    if len(ratios) < 2:
        return 0.0
    return statistics.stdev(ratios) / math.sqrt(len(ratios))
