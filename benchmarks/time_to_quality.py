"""Time to quality: training CPU minutes to fixed quality levels, gankit against the reference loop.

    python benchmarks/time_to_quality.py                  # 8 + 8 + 6 + 6 CPU min, ~35 in all
    python benchmarks/time_to_quality.py --quick                      # smoke test, ~1 CPU min
    python benchmarks/time_to_quality.py --keep --models dcgan --budget-dcgan 45 --workers 2
    python benchmarks/time_to_quality.py --keep --models dcgan --budget-dcgan 45 --seeds 1 ...
    python benchmarks/time_to_quality.py --render-only                # the doc from the JSON

For the paper MLP with gankit's best recipe (configs/mnist-paper-fast.yaml) and the DCGAN
(configs/mnist-dcgan.yaml), trains (a) gankit's training loop (`Trainer.run`, as `gankit train`
runs it) and (b) the tutorial-style reference loop of gankit.bench.reference on the same nets
and data (`--loops gankit-fast` adds (c) gankit's loop with the speed options that change
results by float32 rounding only), one run after the other in this process (or, with
--workers 2, side by side in two processes of one thread each), each for --budget minutes of
its process's CPU time (evaluation excluded). Every --eval-every CPU minutes it scores --n
samples with the metric registry: the Parzen protocol of Goodfellow et al. (2014) for the MLP,
the classifier Fréchet distance for both. time_to_quality_report.py finds the minutes to each level and
renders docs/results/time_to_quality.md, its JSON and plot. With --keep, runs already in the
JSON with the same budget and evaluation interval are not trained again (a long benchmark can
be done in several invocations; a model given another budget is trained again). --seeds sets
the training seeds (the config's `seed`: initialisation, data order, noise) of both loops;
the evaluation noise is seed 0 in every run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch

from common import load_average, machine, now, write_doc
from gankit.bench.reference import ReferenceLoop
from gankit.config import Config, load_config
from gankit.data.dataset import TrainingData, load_training_data
from gankit.metrics.registry import evaluate
from gankit.train.hooks import Hook, StepFacts
from gankit.train.loop import Trainer, seed_everything
from gankit.train.run import generate
from time_to_quality_report import (
    LOOPS,
    MODELS,
    SPEED_OPTIONS,
    has_fast,
    migrate,
    plot,
    render_doc,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs/results/time_to_quality.md"


class Clock:
    """Training CPU time: the process's CPU time since start(), less the time spent in
    `excluded()` blocks (evaluation). Wall time of everything is kept beside it."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.cpu0 = time.process_time()
        self.wall0 = time.perf_counter()
        self.excluded_cpu = 0.0

    def train_cpu(self) -> float:
        return time.process_time() - self.cpu0 - self.excluded_cpu

    def wall(self) -> float:
        return time.perf_counter() - self.wall0


class Checkpoints:
    """Scores the generator each time training CPU time passes the next mark; done after the
    last mark (the budget)."""

    def __init__(self, clock: Clock, marks: list[float],
                 score: Callable[[], dict[str, Any]], steps: Callable[[], int]):
        self.clock, self.marks, self.score, self.steps = clock, marks, score, steps
        self.curve: list[dict[str, Any]] = []
        self.name = ""  # "model, loop: " when runs print side by side

    @property
    def done(self) -> bool:
        return len(self.curve) >= len(self.marks)

    def check(self) -> None:
        trained = self.clock.train_cpu()
        if self.done or trained < self.marks[len(self.curve)]:
            return
        start = time.process_time()
        point = {"cpu_min": trained / 60, "g_steps": self.steps(), **self.score()}
        point["eval_cpu_s"] = time.process_time() - start
        self.clock.excluded_cpu += point["eval_cpu_s"]
        self.curve.append(point)
        shown = ", ".join(f"{k} {point[k]:.1f}" for k in ("parzen", "fid") if k in point)
        print(f"  {self.name}{point['cpu_min']:.2f} CPU min, {point['g_steps']} G steps: {shown} "
              f"(evaluation {point['eval_cpu_s']:.0f} CPU s, wall {self.clock.wall() / 60:.1f} "
              "min)", flush=True)


class CheckpointHook(Hook):
    """Checkpoints inside gankit's loop: checked after every iteration, stops after the last."""

    def __init__(self, checkpoints: Checkpoints):
        self.checkpoints = checkpoints

    def on_step(self, facts: StepFacts) -> None:
        self.checkpoints.check()

    def should_stop(self) -> bool:
        return self.checkpoints.done


def score(samples: torch.Tensor, metrics: tuple[str, ...], n: int,
          data_dir: str | None) -> dict[str, Any]:
    """The registry's protocols on `samples`, as one curve point records them."""
    result = evaluate(samples, list(metrics), "mnist", n=n, seed=0, data_dir=data_dir)
    m, p = result["metrics"], result["protocol"]
    out: dict[str, Any] = {}
    if "fid" in metrics:
        out["fid"] = float(m["fid"])
    if "parzen" in metrics:
        out.update(parzen=float(m["parzen"]), parzen_stderr=float(m["parzen_stderr"]),
                   parzen_sigma=float(p["parzen_sigma"]))
    return out


def gankit_samples(G: torch.nn.Module, n: int) -> torch.Tensor:
    """n samples of G in eval mode from noise seed 0 (the same noise at every evaluation)."""
    was_training = G.training
    G.eval()
    try:
        with torch.no_grad():
            return generate(G, n, None, torch.Generator().manual_seed(0))
    finally:
        G.train(was_training)


def run_gankit(cfg: Config, data: TrainingData, marks: list[float], metrics: tuple[str, ...],
               n: int, data_dir: str | None, name: str = "") -> tuple[list[dict[str, Any]], Clock, int]:
    with tempfile.TemporaryDirectory(prefix="gankit-ttq-") as tmp:
        holder: dict[str, Trainer] = {}
        clock = Clock()
        points = Checkpoints(
            clock, marks,
            lambda: score(gankit_samples(holder["t"].objective.sampler, n), metrics, n, data_dir),
            lambda: holder["t"].progress.g_steps)
        points.name = name
        trainer = Trainer(cfg, Path(tmp) / "run", data=data, hooks=[CheckpointHook(points)])
        holder["t"] = trainer
        clock.restart()  # the clock starts with training, not with the set-up
        trainer.run()
        return points.curve, clock, trainer.progress.g_steps


def run_reference(cfg: Config, data: TrainingData, marks: list[float], metrics: tuple[str, ...],
                  n: int, data_dir: str | None, name: str = "") -> tuple[list[dict[str, Any]], Clock, int]:
    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.train.threads or torch.get_num_threads())
    loop = ReferenceLoop(cfg, data, torch.device("cpu"))
    steps = [0]
    clock = Clock()
    points = Checkpoints(
        clock, marks,
        lambda: score(loop.samples(n, torch.Generator().manual_seed(0)), metrics, n, data_dir),
        lambda: steps[0])
    points.name = name
    while not points.done:
        loop.iteration()
        steps[0] += 1
        points.check()
    return points.curve, clock, steps[0]


def to_train(results: dict[str, Any], models: list[str], loops: list[str],
             budgets: dict[str, float], every: float,
             seeds: tuple[int, ...] = (0,)) -> list[tuple[str, str, int]]:
    """The (model, loop, seed) runs to train: all asked for, less those the JSON already holds
    with the same budget and evaluation interval (--keep). A model asked for with another budget
    or interval loses its saved runs (every seed's), so no two runs of a model are compared
    across budgets."""
    pending = []
    for model in models:
        same = (results["budget_cpu_min"].get(model) == budgets[model]
                and results["eval_every_cpu_min"].get(model) == every)
        if not same:
            results["runs"].pop(model, None)
        for seed in seeds:
            for loop in loops:
                label = f"{MODELS[model][1]}, {LOOPS[loop]}, seed {seed}"
                if same and str(seed) in results["runs"].get(model, {}).get(loop, {}):
                    print(f"{label}: kept", flush=True)
                else:
                    print(f"{label}: {budgets[model]:g} CPU min", flush=True)
                    pending.append((model, loop, seed))
    return pending


def train_run(model: str, loop: str, seed: int, overrides: list[str], marks: list[float], n: int,
              data_dir: str | None) -> dict[str, Any]:
    """One (model, loop, seed) run for the marks' CPU minutes: its curve and totals (a JSON
    record)."""
    config, _, metrics = MODELS[model]
    options = SPEED_OPTIONS[model] if loop == "gankit-fast" else []
    cfg = load_config(ROOT / "configs" / f"{config}.yaml", [*overrides, *options, f"seed={seed}"])
    data = load_training_data(cfg.data, cfg.seed)
    train = run_reference if loop == "reference" else run_gankit
    curve, clock, g_steps = train(cfg, data, marks, metrics, n, data_dir,
                                  f"{MODELS[model][1]}, {LOOPS[loop]}, seed {seed}: ")
    train_cpu = clock.train_cpu()
    return {"config": config, "options": options, "curve": curve, "train_cpu_min": train_cpu / 60,
            "wall_min": clock.wall() / 60, "g_steps": g_steps,
            "epochs": g_steps * cfg.train.batch_size / len(data.x),
            "images_per_cpu_s": g_steps * cfg.train.batch_size / train_cpu,
            "eval_cpu_min": sum(p["eval_cpu_s"] for p in curve) / 60}


def differences(cfg_mlp: Config | None, fast: bool = False) -> list[str]:
    """What the reference loop does not do of the configs' recipes, read from the configs."""
    out = [
        "- Same networks (built by gankit.nets from the config), optimisers (Adam, the config's "
        "learning rates and betas), batch size, loss (non-saturating, as BCE on sigmoid "
        "outputs), data (the same TrainingData object) and seed.",
        "- Order: the reference updates G first and then D on the same G(z) (tutorial style); "
        "gankit's Algorithm 1 updates D (k = 1) and then G on fresh noise.",
        "- Batching: the reference draws minibatches from a shuffling DataLoader over single "
        "examples; gankit indexes its shuffled training tensor.",
        "- gankit's loop also logs, writes sample grids and saves a checkpoint every epoch; that "
        "cost is in its CPU time.",
        "- Evaluation: gankit scores its sampler (G's EMA copy where the config has one) and the "
        "reference its G, both in eval mode, on the same number of samples from noise seed 0.",
    ]
    if cfg_mlp is not None:
        g = cfg_mlp.generator
        out.append(
            f"- Paper MLP only: the reference has no EMA of G (gankit samples an EMA with decay "
            f"{cfg_mlp.train.ema:g}{', warmed up' if cfg_mlp.train.ema_warmup else ''}); its "
            f"z is N(0, I) (the config's z_dist is {g.z_dist}); its G's sigmoid output bias "
            "starts at 0 (gankit's at the logit of each pixel's training mean: "
            f"output_bias_from_data {str(g.output_bias_from_data).lower()}). So the MLP rows "
            "compare gankit's recipe with a plain loop, not the loop alone.")
    out.append("- DCGAN: the config has no EMA and normal z, so the two differ in the loop only "
               "(update order, batching, bookkeeping).")
    if fast:
        out.append("- gankit + speed options: gankit's loop and recipe as above, with the "
                   "speed options set in the config (" + "; ".join(
                       f"{MODELS[m][1]}: {' '.join(o)}" for m, o in SPEED_OPTIONS.items())
                   + "); the reference loop runs the plain layers and the plain optimiser.")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=8.0, help="training CPU minutes per run")
    ap.add_argument("--budget-dcgan", type=float, default=6.0, help="the same, for the DCGAN")
    ap.add_argument("--eval-every", type=float, default=1.0, help="CPU minutes between scores")
    ap.add_argument("--n", type=int, default=10_000, help="samples per evaluation")
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--loops", nargs="+", choices=list(LOOPS), default=["gankit", "reference"],
                    help="gankit-fast: gankit's loop with the float32 speed options (default: "
                         "gankit reference)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0],
                    help="training seeds, each run for both loops (default 0)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1,
                    help="runs trained side by side, one process each (2: both loops at once)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=None, help=f"doc (default {DOC})")
    ap.add_argument("--keep", action="store_true", help="reuse the runs already in the JSON")
    ap.add_argument("--quick", action="store_true", help="smoke test: tiny budget, n=600")
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args(argv)
    out = args.out or (ROOT / "runs/time_to_quality-quick/time_to_quality.md" if args.quick
                       else DOC)
    json_path = out.with_suffix(".json")
    command = "python benchmarks/time_to_quality.py " + shlex.join(sys.argv[1:] if argv is None
                                                                   else argv)
    if args.render_only:
        if not json_path.exists():
            ap.error(f"--render-only: {json_path} does not exist; run the benchmark first")
        results = migrate(json.loads(json_path.read_text()))
        return write(results, out, rendered_by=command)
    if args.quick:
        args.budget, args.budget_dcgan, args.eval_every, args.n = 0.1, 0.1, 0.05, 600
    budgets = {"mlp": args.budget, "dcgan": args.budget_dcgan}
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        ap.error(f"--seeds must be distinct non-negative integers, got {args.seeds}")
    if args.workers < 1:
        ap.error(f"--workers must be >= 1, got {args.workers}")
    if not 0 < args.eval_every <= min(budgets[m] for m in args.models):
        ap.error(f"--eval-every {args.eval_every:g} must be > 0 and at most the budget of "
                 f"every model run ({', '.join(f'{m} {budgets[m]:g}' for m in args.models)})")
    results: dict[str, Any] = {"runs": {}, "commands": []}
    if args.keep and json_path.exists():
        results = migrate(json.loads(json_path.read_text()))
    results["commands"] = [*results.get("commands", []), command]
    results.setdefault("budget_cpu_min", {})
    results.setdefault("eval_every_cpu_min", {})
    results.update(n_eval=args.n, quick=args.quick, threads=args.threads)
    overrides = [f"train.threads={args.threads}", "train.epochs=100000", "train.progress=false"]
    overrides += [f"data.dir={args.data_dir}"] if args.data_dir else []
    jobs = []
    for model, loop, seed in to_train(results, args.models, args.loops, budgets, args.eval_every,
                                      tuple(args.seeds)):
        marks = [args.eval_every * 60 * i
                 for i in range(1, round(budgets[model] / args.eval_every) + 1)]
        jobs.append((model, loop, seed, overrides, marks, args.n, args.data_dir))
    workers = min(args.workers, len(jobs)) or 1

    def save(model: str, loop: str, seed: int, run: dict[str, Any]) -> None:
        run.update(side_by_side=workers, date=now(), machine=machine(args.threads))
        results["runs"].setdefault(model, {}).setdefault(loop, {})[str(seed)] = run
        results["budget_cpu_min"][model] = budgets[model]
        results["eval_every_cpu_min"][model] = args.eval_every
        results.update(date=now(), machine=machine(args.threads), load_average=load_average())
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n")  # saved after every run

    if workers == 1:
        for job in jobs:
            save(job[0], job[1], job[2], train_run(*job))
    else:
        # One process per run, one thread each: the clock is each process's own CPU time, so
        # side by side the numbers are the same work's, and the two loops share one load.
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(train_run, *job): job for job in jobs}
            for future in as_completed(futures):
                save(*futures[future][:3], future.result())
    return write(results, out)


def write(results: dict[str, Any], out: Path, rendered_by: str | None = None) -> int:
    """Plot and doc; the differences are read from the shipped configs, not from the JSON."""
    mlp = (load_config(ROOT / "configs" / f"{MODELS['mlp'][0]}.yaml")
           if "mlp" in results["runs"] else None)
    results = {**results, "differences": differences(mlp, has_fast(results))}
    png = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(results, png)
    write_doc(out, render_doc(results, png.name, rendered_by))
    return 0


if __name__ == "__main__":
    sys.exit(main())
