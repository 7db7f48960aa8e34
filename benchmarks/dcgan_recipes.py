"""DCGAN recipes for precision and recall together on MNIST (issue 18, item 4), checked against
the issue's goal: precision >= 0.80, recall >= 0.80 and classifier FD <= 10 together, within 60
CPU minutes, at 3 seeds. Writes docs/results/dcgan_recipes.md; every probe is saved in
docs/results/dcgan_recipes.json.

    python benchmarks/dcgan_recipes.py --search LABEL CONFIG SEEDS [KEY=VALUE ...]  # one probe
    python benchmarks/dcgan_recipes.py --render-only

A probe trains CONFIG (plus overrides) at each seed (a comma list) on one thread until the
process has spent --cpu-minutes on training, scoring its sampling network (G's EMA copy when
there is one) every --every epochs and at the end with the protocols of `gankit eval` (10,000
samples, gankit's MNIST classifier: FD and precision/recall, k = 3). Evaluation CPU time is not
counted in the budget. The goal is checked on the scores at the end of the budget, never on the
best epoch along the way: picking the epoch by its test score would flatter every row.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from common import machine, now, write_doc
from dcgan_recipes_report import (
    COPIED_STATS,
    DOC,
    EQUAL_COUNTS,
    GOAL_CPU_MINUTES,
    OWN_STATS,
    TRAINING_PROPORTIONS,
    plot,
    render,
)
from gankit.config import load_config
from gankit.train.evaluation import evaluate_generator
from gankit.train.hooks import EpochFacts, Hook
from gankit.train.loop import Trainer

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "dcgan-recipes"
SAVED = REPO / "docs/results/dcgan_recipes.json"
METRICS = ("fid", "pr")  # FD and precision/recall of gankit eval's MNIST protocols
# A recipe config and the probe (base config plus overrides) that measured it; the test suite
# checks they resolve to one config but for the name and the epoch cap (probes train to a budget).
AS_OVERRIDES = {
    "configs/mnist-cdcgan-r1.yaml": ("configs/mnist-cdcgan.yaml", [
        "losses.r1_weight=1", "train.gemm_image_convs=true", "train.channels_last=true"]),
    "configs/mnist-cdcgan-r1-ema.yaml": ("configs/mnist-cdcgan.yaml", [
        "losses.r1_weight=1", "generator.extra_layers=1", "discriminator.extra_layers=1",
        "train.ema=0.999", "train.ema_warmup=true", "train.gemm_image_convs=true",
        "train.channels_last=true"]),
    "configs/mnist-cdcgan-ttur.yaml": ("configs/mnist-cdcgan.yaml", [
        "generator.extra_layers=1", "discriminator.extra_layers=1", "losses.r1_weight=1",
        "train.ema=0.999", "train.ema_warmup=true", "train.gemm_image_convs=true",
        "train.channels_last=true", "d_optim.lr=0.0004", "train.ema_bn=recompute"]),
}


class Scores(Hook):
    """Scores the sampling network every `every` epochs (recording the result keys `keys`) and
    stops the run once training (not scoring) has used `cpu_minutes` of this process's CPU
    time."""

    def __init__(self, trainer: Trainer, every: int, cpu_minutes: float,
                 keys: tuple[str, ...] = ("fid", "precision", "recall")):
        self.trainer, self.every, self.cpu_minutes = trainer, every, cpu_minutes
        self.keys = keys
        self.start, self.scoring = time.process_time(), 0.0
        self.trajectory: list[dict[str, Any]] = []

    def training_cpu_minutes(self) -> float:
        return (time.process_time() - self.start - self.scoring) / 60

    def score(self, epoch: int) -> None:
        t = time.process_time()
        tr = self.trainer
        result = evaluate_generator(tr.objective.sampler, tr.cfg, tr.data, tr.data.n_classes)
        m = result["metrics"]
        self.trajectory.append({
            "epoch": epoch, "g_steps": tr.progress.g_steps,
            "cpu_minutes": round(self.training_cpu_minutes(), 3),
            **{k: round(float(m[k]), 5) for k in self.keys}})
        self.scoring += time.process_time() - t
        print(json.dumps(self.trajectory[-1]), flush=True)

    def on_epoch(self, facts: EpochFacts) -> None:
        if facts.epoch % self.every == 0:
            self.score(facts.epoch)

    def should_stop(self) -> bool:
        return self.training_cpu_minutes() >= self.cpu_minutes


def run_folder(label: str, seed: int, runs: Path = RUNS) -> Path:
    """Where one seed of a probe trains (and its final checkpoint stays)."""
    return runs / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', label)}-s{seed}"


def probe_one(label: str, config: str, overrides: list[str], seed: int, cpu_minutes: float,
              every: int, metrics: tuple[str, ...] = METRICS,
              keys: tuple[str, ...] = ("fid", "precision", "recall"), runs: Path = RUNS,
              finish: Callable[[Trainer], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train and score one seed of a probe: its record (see the module docstring). `metrics`
    are gankit eval's names, `keys` the result keys kept; `finish(trainer)`, when given, adds
    its entries to the record after the last score (table1_recipes.py picks psi there)."""
    torch.set_num_threads(1)
    run_dir = run_folder(label, seed, runs)
    shutil.rmtree(run_dir, ignore_errors=True)
    sets = [*overrides, f"seed={seed}", "train.progress=false", "train.threads=1",
            "train.epochs=1000", f"train.eval_metrics=[{','.join(metrics)}]"]
    cfg = load_config(REPO / config, sets)
    trainer = Trainer(cfg, run_dir)
    scores = Scores(trainer, every, cpu_minutes, keys)
    trainer.extra_hooks.append(scores)
    trainer.run()
    epoch = trainer.progress.d_steps / trainer.batches_per_epoch
    if not scores.trajectory or scores.trajectory[-1]["g_steps"] != trainer.progress.g_steps:
        scores.score(round(epoch, 2))  # the end of the budget, between two epochs
    return {"label": label, "config": config, "overrides": overrides, "seed": seed,
            "cpu_minutes_budget": cpu_minutes, "every": every,
            "eval_labels": eval_labels(cfg),
            "date": now(), "machine": machine(1, " per training"),
            "trajectory": scores.trajectory, "final": scores.trajectory[-1],
            **(finish(trainer) if finish else {})}


def eval_labels(cfg: Any) -> str:
    """How the scored samples' labels were drawn (a conditional G only; see
    gankit.train.evaluation): the record keeps it, since it changed on 2026-12-01."""
    return TRAINING_PROPORTIONS if cfg.data.conditional else "–"


def label_protocol_check(label: str, seed: int, runs: Path = RUNS) -> dict[str, Any]:
    """The final checkpoint of one probe's seed scored twice with the same noise: labels in
    the training proportions (the protocol) and in equal counts per class (the earlier one)."""
    from gankit.data.dataset import load_training_data
    from gankit.train.run import load_run

    torch.set_num_threads(1)
    run = load_run(run_folder(label, seed, runs))
    cfg = run.config
    data = load_training_data(cfg.data, cfg.seed)
    n = cfg.train.eval_n or 10_000
    scores = {}
    for name, labels in ((TRAINING_PROPORTIONS, None),
                         (EQUAL_COUNTS, torch.arange(n) % data.n_classes)):
        m = evaluate_generator(run.generator, cfg, data, data.n_classes, labels=labels)["metrics"]
        scores[name] = {k: round(float(m[k]), 5) for k in ("fid", "precision", "recall")}
    return {"label": label, "seed": seed, "scores": scores, "date": now(),
            "machine": machine(1, " per scoring")}


def ema_bn_check(label: str, seed: int, runs: Path = RUNS) -> dict[str, Any]:
    """The final checkpoint of one probe's seed scored twice with the same noise and labels:
    G's EMA copy with the batch-norm statistics it saved (the live G's, train.ema_bn copy) and
    with its own (`gankit eval --ema-bn recompute`; gankit/train/standing_stats.py)."""
    from gankit.data.dataset import load_training_data
    from gankit.train.run import load_run
    from gankit.train.standing_stats import recompute_for_run

    torch.set_num_threads(1)
    run = load_run(run_folder(label, seed, runs))
    cfg = run.config
    if cfg.train.ema_bn != "copy":
        raise SystemExit(f"{label!r} was trained with train.ema_bn={cfg.train.ema_bn}: its "
                         "checkpoint holds recomputed statistics already, nothing to compare")
    data = load_training_data(cfg.data, cfg.seed)
    scores = {}
    for name in (COPIED_STATS, OWN_STATS):
        if name == OWN_STATS:
            recompute_for_run(run)
        m = evaluate_generator(run.generator, cfg, data, data.n_classes)["metrics"]
        scores[name] = {k: round(float(m[k]), 5) for k in ("fid", "precision", "recall")}
    return {"label": label, "seed": seed, "g_steps": run.step, "scores": scores,
            "eval_labels": eval_labels(cfg), "date": now(), "machine": machine(1, " per scoring")}


def load_saved() -> dict[str, Any]:
    return json.loads(SAVED.read_text()) if SAVED.exists() else {"probes": []}


def save(saved: dict[str, Any]) -> None:
    SAVED.write_text(json.dumps(saved, indent=1) + "\n")
    plot(saved)
    write_doc(DOC, render(saved))


def saved_in_turn(update: Any = None, load: Any = load_saved, store: Any = save) -> None:
    """Re-save the JSON, plot and doc (after `update(saved)`, if given), holding a lock: probes
    run side by side in separate processes and save in turn. `load` and `store` default to this
    script's results; truncation.py passes its own, saving under the same lock."""
    RUNS.mkdir(parents=True, exist_ok=True)
    with open(RUNS / "save.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = load()  # read under the lock: another process may have saved meanwhile
        if update is not None:
            update(saved)
        store(saved)


def adding(record: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The update that puts a probe's record into the saved results, replacing the same label
    and seed's earlier one."""
    def add(saved: dict[str, Any]) -> None:
        key = (record["label"], record["seed"])
        saved["probes"] = [p for p in saved["probes"]
                           if (p["label"], p["seed"]) != key] + [record]
    return add


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", nargs="+", metavar="ARG",
                        help="LABEL CONFIG SEEDS [KEY=VALUE ...]: one probe, its seeds in turn")
    parser.add_argument("--cpu-minutes", type=float, default=GOAL_CPU_MINUTES)
    parser.add_argument("--every", type=int, default=3, help="epochs between scores")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--label-check", nargs=2, metavar=("LABEL", "SEED"),
                        help="score a probe seed's final checkpoint with both label protocols")
    parser.add_argument("--ema-bn-check", nargs=2, metavar=("LABEL", "SEED"),
                        help="score a probe seed's final checkpoint with its EMA G's saved and "
                        "its own batch-norm statistics")
    args = parser.parse_args()
    for option, check, key in ((args.label_check, label_protocol_check, "label_checks"),
                               (args.ema_bn_check, ema_bn_check, "ema_bn_checks")):
        if option:
            record = check(option[0], int(option[1]))

            def add(saved: dict[str, Any], record=record, key=key) -> None:
                same = (record["label"], record["seed"])
                saved[key] = [c for c in saved.get(key, [])
                              if (c["label"], c["seed"]) != same] + [record]
            saved_in_turn(add)
            return
    if args.render_only or not args.search:
        saved_in_turn()
        return
    if len(args.search) < 3:
        raise SystemExit("--search needs LABEL CONFIG SEEDS [KEY=VALUE ...], "
                         "e.g. --search base configs/mnist-dcgan.yaml 0,1,2")
    label, config, seeds, *overrides = args.search
    for seed in (int(s) for s in seeds.split(",")):
        record = probe_one(label, config, overrides, seed, args.cpu_minutes, args.every)
        saved_in_turn(adding(record))


if __name__ == "__main__":
    main()
