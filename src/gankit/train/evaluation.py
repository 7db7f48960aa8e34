"""Metrics during training (`train.eval_every` epochs), with the protocols of `gankit eval`.

The samples come from G's EMA copy when there is one, in eval mode, from a noise generator of
their own; a conditional G's labels come in the training labels' proportions (the mixture it
learnt, data.dataset.marginal_labels). Every RNG state is restored afterwards, so a run with
evaluations trains exactly as the same run without them (and resumes exactly too). Which
metrics a dataset has, its default set and its default n come from gankit.metrics.registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gankit.config import Config
from gankit.data.dataset import label_protocol, marginal_labels
from gankit.errors import GankitError
from gankit.metrics import registry
from gankit.train.checkpoint import rng_state, set_rng_state
from gankit.train.hooks import EpochFacts, Hook
from gankit.train.objective import eval_mode
from gankit.train.run import generate

EVAL_SEED = 12_345  # the evaluation noise: the same at every evaluation, so values are comparable


def eval_metric_names(cfg: Config) -> list[str]:
    """train.eval_metrics, or the dataset's training default set when it is empty."""
    return registry.training_metrics(cfg.train.eval_metrics, cfg.data.dataset)


def evaluate_generator(G: torch.nn.Module, cfg: Config, data: Any, n_classes: int = 0,
                       truncation: float = 1.0, seed: int = EVAL_SEED,
                       labels: torch.Tensor | None = None) -> dict[str, Any]:
    """Score G on its dataset: {"metrics": {...}, "protocol": {...}} as `gankit eval` gives;
    `truncation` psi != 1 scores samples of psi * z (see gankit.train.run.generate); `seed`
    draws the noise and subsets (another seed: fresh samples for a held-out check); `labels`
    (a conditional G only) replaces the training proportions, e.g. to compare protocols."""
    dataset = cfg.data.dataset
    if dataset not in registry.DATASETS:
        raise GankitError(f"no in-training metrics for data.dataset {dataset}; "
                          "set train.eval_every=0")
    names = registry.check_metrics(eval_metric_names(cfg), dataset, training=True,
                                   where="train.eval_metrics")
    n = cfg.train.eval_n or registry.default_n(dataset)
    saved = rng_state()
    try:
        if not (n_classes and cfg.data.conditional):
            labels = None
        elif labels is None:
            labels = marginal_labels(data.y, n_classes, n)
        with eval_mode(G):
            samples = generate(G, n, labels, torch.Generator().manual_seed(seed),
                               truncation=truncation)
        result = registry.evaluate(samples, names, dataset, n=n, seed=seed,
                                   data_dir=cfg.data.dir, data=data)
        if labels is not None:
            result["protocol"]["labels"] = label_protocol(labels, data.y, n_classes)
        return result
    finally:
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
