"""One scored 2-D run and a cache of them, shared by toy2d_recipes.py (benchmark and search).

A run trains a config (plus overrides) for one seed in a normal gankit run folder, then scores
2,500 samples of its sampling network (the EMA copy when train.ema > 0) with
gankit.metrics.modes2d, as benchmarks/toy2d.py does. Rows are appended to results.jsonl in the
runs folder, keyed by (config, overrides, seed), so an interrupted benchmark continues.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from gankit.config import load_config
from gankit.data.dataset import load_training_data
from gankit.errors import GankitError
from gankit.metrics.modes2d import mode_metrics
from gankit.train.run import load_run

REPO = Path(__file__).resolve().parents[1]
N_SAMPLES = 2500  # PacGAN scores 2,500 generated samples
SAMPLE_SEED = 10_000  # + the run's seed: the scored noise, as in toy2d.py


def run_key(config: str, overrides: list[str], seed: int) -> str:
    digest = hashlib.sha1(json.dumps([config, sorted(overrides)]).encode()).hexdigest()[:10]
    return f"{Path(config).stem}-{digest}-s{seed}"


def run_one(config: str, overrides: list[str], seed: int, runs_dir: Path,
            drs_refit: int | None = None) -> dict:
    """Train `config` with `overrides` at `seed` (one thread) and score it: the result row;
    with drs_refit, also its samples kept by DRS (drs_scores)."""
    from gankit.train.loop import Trainer
    from gankit.train.run import read_metrics

    torch.set_num_threads(1)
    key = run_key(config, overrides, seed)
    run_dir = runs_dir / key
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a run cut short earlier: start it again
    sets = [*overrides, f"seed={seed}", "train.progress=false", "train.threads=1"]
    cfg = load_config(REPO / config, sets)
    row = {"key": key, "config": config, "overrides": overrides, "seed": seed,
           "dataset": cfg.data.dataset, "loss": cfg.loss, "diverged": False}
    cpu0 = time.process_time()
    try:
        trainer = Trainer(cfg, run_dir)
        trainer.run()
        samples = load_run(run_dir).sample(N_SAMPLES, seed=SAMPLE_SEED + seed,
                                           batch_size=N_SAMPLES)
        np.save(run_dir / "samples.npy", samples.numpy())
        row.update(mode_metrics(samples, trainer.data.means, trainer.data.std))
        row["g_steps"], row["d_steps"] = trainer.progress.g_steps, trainer.progress.d_steps
    except GankitError as exc:  # NaN loss or non-finite samples: scored as a collapse
        k = 8 if cfg.data.dataset == "ring" else cfg.data.side ** 2
        row.update(modes=0, high_quality=0.0, reverse_kl=math.log(k), n=0, diverged=True,
                   error=str(exc).splitlines()[0])
    row["warnings"] = sum(len(r.get("warnings", [])) for r in read_metrics(run_dir))
    row["cpu_s"] = round(time.process_time() - cpu0, 1)  # training and scoring, not DRS
    if drs_refit is not None and not row["diverged"]:
        row["drs"] = drs_scores(row, runs_dir, drs_refit)
    return row


def drs_scores(row: dict, runs_dir: Path, refit_steps: int) -> dict | None:
    """The same scores for samples kept by discriminator rejection sampling (`gankit sample
    --drs --drs-refit N`, the same noise seed) of the run in runs_dir/row["key"], where its D
    allows it (sigmoid losses, no packing); cpu_s is the refit's and the sampling's."""
    run = load_run(runs_dir / row["key"])
    if run.drs_problem():
        return None
    cpu0 = time.process_time()
    kept = run.sample_drs(N_SAMPLES, seed=SAMPLE_SEED + row["seed"], batch_size=N_SAMPLES,
                          refit_steps=refit_steps)
    data = load_training_data(run.config.data, run.config.seed)
    return {**mode_metrics(kept.samples, data.means, data.std), "refit_steps": refit_steps,
            "acceptance": round(kept.acceptance, 4),
            "cpu_s": round(time.process_time() - cpu0, 1)}


def cached_runs(runs_dir: Path) -> dict[str, dict]:
    done: dict[str, dict] = {}
    file = runs_dir / "results.jsonl"
    if file.exists():
        for line in file.read_text().splitlines():
            row = json.loads(line)
            done[row["key"]] = row
    return done


def run_many(jobs: list[tuple[str, list[str], int]], runs_dir: Path,
             drs_refit: int | None = None, workers: int = 1) -> list[dict]:
    """The rows of (config, overrides, seed) jobs, running those not cached, `workers` at a time
    (each on one thread, in its own process); with drs_refit, a cached row without DRS scores
    gets them from its run folder."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    done = cached_runs(runs_dir)
    todo = []
    for config, overrides, seed in jobs:
        key = run_key(config, overrides, seed)
        if key in done:
            if drs_refit is None or done[key].get("drs", {}).get("refit_steps") == drs_refit:
                continue
            if not (runs_dir / key / "checkpoint.pt").exists():
                raise SystemExit(f"{key}: no run folder to score with DRS; delete its row from "
                                 f"{runs_dir / 'results.jsonl'} to train it again")
            _finish({**done[key], "drs": drs_scores(done[key], runs_dir, drs_refit)}, done,
                    runs_dir)
        else:
            todo.append((config, overrides, seed, runs_dir, drs_refit))
    if workers > 1 and len(todo) > 1:
        # spawn: a fresh interpreter per worker, so no torch state is shared by fork
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
            for row in pool.map(_run_job, todo):
                _finish(row, done, runs_dir)
    else:
        for job in todo:
            _finish(run_one(*job), done, runs_dir)
    return [done[run_key(c, o, s)] for c, o, s in jobs]


def _run_job(job: tuple) -> dict:
    return run_one(*job)


def _finish(row: dict, done: dict[str, dict], runs_dir: Path) -> None:
    """Record a scored run in the cache (one line, appended) and say so."""
    done[row["key"]] = row
    with open(runs_dir / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{row['config']} {' '.join(row['overrides'])} s{row['seed']}: modes {row['modes']} "
          f"HQ {row['high_quality']:.1f} KL {row['reverse_kl']:.3f} "
          f"({row['cpu_s']:.0f} s cpu)", file=sys.stderr, flush=True)
