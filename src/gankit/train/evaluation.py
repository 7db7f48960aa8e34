"""Metrics during training (`train.eval_every` epochs), with the protocols of `gankit eval`.

The samples come from G's EMA copy when there is one, in eval mode, from a noise generator of
their own; every RNG state is restored afterwards, so a run with evaluations trains exactly as
the same run without them (and resumes exactly too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gankit.config import Config
from gankit.data.stacked import STACKED_SAMPLES
from gankit.errors import GankitError
from gankit.train.checkpoint import rng_state, set_rng_state
from gankit.train.hooks import EpochFacts, Hook
from gankit.train.run import generate

# What a dataset is scored on when train.eval_metrics is empty. Parzen is left out of the MNIST
# default because its 10,000 x 10,000 distances cost more than the rest together.
DEFAULT_METRICS = {
    "mnist": ["fid", "pr", "modes"],
    "ring": ["modes"],
    "grid": ["modes"],
    "stacked-mnist": ["stacked-modes"],
}
DEFAULT_N = {"mnist": 10_000, "ring": 2_500, "grid": 2_500, "stacked-mnist": STACKED_SAMPLES}
EVAL_SEED = 12_345  # the evaluation noise: the same at every evaluation, so values are comparable


def eval_metric_names(cfg: Config) -> list[str]:
    return list(cfg.train.eval_metrics) or DEFAULT_METRICS[cfg.data.dataset]


def check_eval_config(cfg: Config) -> None:
    """Fail before training, not after the first epoch, on metric names that cannot be computed."""
    if not cfg.train.eval_every:
        return
    names = eval_metric_names(cfg)
    if cfg.data.dataset == "mnist":
        from gankit.metrics.evaluate import METRICS

        bad = [m for m in names if m not in METRICS]
        valid = METRICS
    else:
        valid = DEFAULT_METRICS[cfg.data.dataset]
        bad = [m for m in names if m not in valid]
    if bad:
        raise GankitError(f"train.eval_metrics: {bad[0]!r} is not a metric for "
                          f"{cfg.data.dataset}; choose from {', '.join(valid)}")


def evaluate_generator(G: torch.nn.Module, cfg: Config, data: Any,
                       n_classes: int = 0) -> dict[str, Any]:
    """Score G on its dataset: {"metrics": {...}, "protocol": {...}} as `gankit eval` gives."""
    dataset = cfg.data.dataset
    if dataset not in DEFAULT_METRICS:
        raise GankitError(f"no in-training metrics for data.dataset {dataset}; "
                          "set train.eval_every=0")
    names = eval_metric_names(cfg)
    n = cfg.train.eval_n or DEFAULT_N[dataset]
    saved = rng_state()
    was_training = G.training
    G.eval()
    try:
        labels = None
        if n_classes and cfg.data.conditional:
            labels = torch.arange(n) % n_classes
        samples = generate(G, n, labels, torch.Generator().manual_seed(EVAL_SEED))
        if dataset in ("ring", "grid"):
            from gankit.metrics.modes2d import evaluate_modes2d

            return evaluate_modes2d(samples, data.means, data.std, dataset, EVAL_SEED)
        if dataset == "stacked-mnist":
            from gankit.metrics.stacked import evaluate_stacked

            return evaluate_stacked(samples, data_dir=cfg.data.dir, seed=EVAL_SEED)
        from gankit.metrics.evaluate import evaluate_samples

        return evaluate_samples(samples, names, data_dir=cfg.data.dir, n=n, seed=EVAL_SEED)
    finally:
        G.train(was_training)
        set_rng_state(saved)


class EvaluationHook(Hook):
    """Every `train.eval_every` epochs (and after the last), score the sampling network with the
    protocols of `gankit eval` and hand the result to `log(epoch, result)`."""

    def __init__(self, cfg: Config, data: Any, log: Callable[[int, dict[str, Any]], None],
                 done: Callable[[], bool]):
        self.cfg, self.data, self.log, self.done = cfg, data, log, done

    def on_epoch(self, facts: EpochFacts) -> None:
        every = self.cfg.train.eval_every
        if every and (facts.epoch % every == 0 or self.done()):
            result = evaluate_generator(facts.sampler, self.cfg, self.data, self.data.n_classes)
            self.log(facts.epoch, result)
