"""PacGAN's 2-D mode-collapse benchmark (Lin et al. 2018, Table 1) for every gankit loss.

Datasets: the 8-mode ring (std 0.01) and the 25-mode grid (std 0.05) of PacGAN/VEEGAN.
Score: 2,500 samples of the trained G (its EMA copy when train.ema > 0) against the true modes
with gankit.metrics.modes2d (modes captured, % high-quality samples, reverse KL).

gankit's protocol (CPU budget ~1 hour; PacGAN's own runs were far longer):
  1. sweep: every loss x {no packing, PacGAN packing (2 for the ring, 4 for the grid)} x both
     datasets, SWEEP_SEEDS seeds, SWEEP_EPOCHS epochs;
  2. final: per dataset, the best (loss, packing) of the sweep at FINAL_SEEDS seeds and the
     plain GAN baseline (non-saturating loss, no packing) at as many, FINAL_EPOCHS epochs; the
     final seeds follow the sweep's, so a recipe is never confirmed on the seeds it was chosen on.
All runs use the dataset's recipe config (configs/ring8-demo.yaml, configs/grid25-pacgan.yaml);
only the loss and the packing change. One epoch is 1,000 discriminator steps (100,000 points,
batch 100), so losses with k = 5 (wgan, wgan-gp) get a fifth of the generator steps.

    python benchmarks/toy2d.py [--quick] [--seeds N] [--jobs N] [--out docs/results/toy2d.md]
    python benchmarks/toy2d.py --render-only   # rewrite the doc from --runs-dir/toy2d.json

Runs are cached in --runs-dir (results.jsonl): an interrupted benchmark continues where it
stopped. Each run is a normal gankit run folder (config, metrics.jsonl, samples/final.png).
The doc is rendered by toy2d_report.py from toy2d.json, saved beside results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from common import load_average, machine, now, write_doc
from gankit.config import LOSS_NAMES, load_config
from gankit.errors import GankitError
from gankit.metrics.modes2d import mode_metrics
from toy2d_report import DATASETS, group, method_name, plot_dataset, rank_key, render_doc, summarise

REPO = Path(__file__).resolve().parents[1]
N_SAMPLES = 2500  # PacGAN scores 2,500 generated samples
BASELINE = ("non-saturating", 1)  # "GAN" in PacGAN's Table 1
SWEEP_SEEDS, SWEEP_EPOCHS = 3, {"ring": 2, "grid": 2}
FINAL_SEEDS, FINAL_EPOCHS = 10, {"ring": 5, "grid": 5}
# The plain GAN's final runs: as many seeds as the best row's, so the two rows compare alike.
QUICK = {"sweep_seeds": 1, "final_seeds": 2, "epochs": 0.2}
SUMMARY_FILE = "toy2d.json"  # in --runs-dir: what --render-only renders


@dataclass(frozen=True)
class Job:
    dataset: str
    loss: str
    pack: int
    seed: int
    epochs: float
    stage: str

    @property
    def key(self) -> str:
        return f"{self.dataset}-{self.loss}-pack{self.pack}-e{self.epochs:g}-s{self.seed}"


def job_overrides(job: Job) -> list[str]:
    """The recipe with this job's loss, packing, seed and length.

    `--set loss=X` brings X's paper optimiser; the recipe's Adam schedule is put back so that
    only the loss function (and its k and WGAN warm-up) differ between rows.
    """
    base = load_config(REPO / DATASETS[job.dataset].config)
    o = base.optim
    return [
        f"loss={job.loss}",
        f"optim.name={o.name}",
        f"optim.lr={o.lr}",
        f"optim.betas=[{o.betas[0]},{o.betas[1]}]",
        f"optim.lr_decay={o.lr_decay}",
        f"optim.lr_min={o.lr_min}",
        f"discriminator.pack={job.pack}",
        f"seed={job.seed}",
        f"train.epochs={max(1, math.ceil(job.epochs))}",
        f"train.max_steps={_max_steps(job)}",
        "train.progress=false",
        "train.threads=1",
    ]


def _max_steps(job: Job) -> int:
    # Fractional epochs (--quick) are a cap on generator steps; whole epochs need none.
    if job.epochs == int(job.epochs):
        return 0
    return max(1, int(job.epochs * 1000))


def run_job(job: Job, runs_dir: str) -> dict:
    """Train one run and score 2,500 samples; returns the result row."""
    from gankit.train.loop import Trainer
    from gankit.train.run import load_run, read_metrics

    torch.set_num_threads(1)
    run_dir = Path(runs_dir) / job.key
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a run cut short earlier: start it again
    cfg = load_config(REPO / DATASETS[job.dataset].config, job_overrides(job))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    row = {**asdict(job), "key": job.key, "diverged": False}
    try:
        trainer = Trainer(cfg, run_dir)
        trainer.run()
        # The saved run's sampling network (the EMA copy), in one batch so the noise is the
        # same draw however the library batches by default.
        samples = load_run(run_dir).sample(N_SAMPLES, seed=10_000 + job.seed,
                                           batch_size=N_SAMPLES)
        np.save(run_dir / "samples.npy", samples.numpy())
        row.update(mode_metrics(samples, trainer.data.means, trainer.data.std))
        row["g_steps"] = trainer.progress.g_steps
        row["d_steps"] = trainer.progress.d_steps
    except GankitError as exc:  # a NaN loss or non-finite samples: the run diverged
        k = DATASETS[job.dataset].k_modes
        row.update(modes=0, high_quality=0.0, reverse_kl=math.log(k), n=0, diverged=True)
        row["error"] = str(exc).splitlines()[0]
    row["warnings"] = sum(len(r.get("warnings", [])) for r in read_metrics(run_dir))
    row["cpu_s"] = round(time.process_time() - cpu0, 1)
    row["wall_s"] = round(time.perf_counter() - wall0, 1)
    return row


def run_all(jobs: list[Job], runs_dir: Path, n_jobs: int) -> list[dict]:
    """Run the jobs not yet in results.jsonl; return the rows of all of them."""
    results_file = runs_dir / "results.jsonl"
    done = {}
    if results_file.exists():
        for line in results_file.read_text().splitlines():
            row = json.loads(line)
            done[row["key"]] = row
    todo = [j for j in jobs if j.key not in done]
    print(f"{len(jobs) - len(todo)} runs cached, {len(todo)} to run", file=sys.stderr)
    runs_dir.mkdir(parents=True, exist_ok=True)

    def record(row: dict) -> None:
        done[row["key"]] = row
        with open(results_file, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{row['key']}: modes {row['modes']} HQ {row['high_quality']:.1f} "
            f"KL {row['reverse_kl']:.3f} ({row['cpu_s']:.0f} s cpu)",
            file=sys.stderr,
            flush=True,
        )

    if n_jobs <= 1:
        for job in todo:
            record(run_job(job, str(runs_dir)))
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_jobs, mp_context=ctx) as pool:
            futures = [pool.submit(run_job, job, str(runs_dir)) for job in todo]
            for future in futures:
                record(future.result())
    return [done[j.key] for j in jobs]


def run_final(sweep: dict[str, list[dict]], args: argparse.Namespace,
              runs_dir: Path) -> dict[str, dict[str, list[dict]]]:
    """Per dataset, the best sweep row and the plain GAN at their final seeds: rows by label."""
    final_jobs, labels = [], {}
    for d in args.datasets:
        groups = group(sweep[d])
        best = min(groups, key=lambda g: rank_key(summarise(groups[g])))
        for label, (loss, pack) in (("best", best), ("baseline", BASELINE)):
            if label == "baseline" and best == BASELINE:
                continue  # the plain GAN won the sweep: its 10 seeds are the best row's
            name = f"{method_name(loss, pack)} ({'best of sweep' if label == 'best' else 'GAN'})"
            labels[(d, loss, pack)] = name
            # Fresh seeds: the recipe is confirmed on seeds it was not chosen on.
            start = args.final_seed_start
            final_jobs += [Job(d, loss, pack, seed, args.final_epochs[d], "final")
                           for seed in range(start, start + args.final_seeds)]
    final: dict[str, dict[str, list[dict]]] = {}
    for r in run_all(list(dict.fromkeys(final_jobs)), runs_dir, args.jobs):
        name = labels[(r["dataset"], r["loss"], r["pack"])]
        final.setdefault(r["dataset"], {}).setdefault(name, []).append(r)
    return final


def plot(d: str, sweep: list[dict], final: dict[str, list[dict]], runs_dir: Path,
         path: Path) -> None:
    """Row per packing: the six losses (seed 0 of the sweep), then a final run."""
    finals = list(final.items())
    panels = []
    for i, pack in enumerate((1, DATASETS[d].pack)):
        for loss in LOSS_NAMES:
            row = next(r for r in sweep if (r["loss"], r["pack"], r["seed"]) == (loss, pack, 0))
            panels.append((method_name(loss, pack), row))
        if i < len(finals):
            panels.append((f"final: {finals[i][0]}", finals[i][1][0]))
    plot_dataset(d, panels, runs_dir, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1 seed, short runs")
    parser.add_argument("--seeds", type=int, default=None, help=f"final seeds ({FINAL_SEEDS})")
    parser.add_argument("--sweep-seeds", type=int, default=None, help=f"({SWEEP_SEEDS})")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (1 thread each)")
    parser.add_argument("--runs-dir", default=None, help="default runs/toy2d[-quick]")
    parser.add_argument("--out", default=None, help="default docs/results/toy2d.md")
    parser.add_argument("--render-only", action="store_true",
                        help=f"rewrite the doc from --runs-dir/{SUMMARY_FILE} (no training)")
    args = parser.parse_args()
    quick = args.quick
    args.sweep_seeds = args.sweep_seeds or (QUICK["sweep_seeds"] if quick else SWEEP_SEEDS)
    args.final_seeds = args.seeds or (QUICK["final_seeds"] if quick else FINAL_SEEDS)
    args.baseline_seeds = args.final_seeds
    args.final_seed_start = args.sweep_seeds
    args.sweep_epochs = {d: QUICK["epochs"] if quick else SWEEP_EPOCHS[d] for d in DATASETS}
    args.final_epochs = {d: QUICK["epochs"] if quick else FINAL_EPOCHS[d] for d in DATASETS}
    suffix = "-quick" if quick else ""
    runs_dir = Path(args.runs_dir or REPO / "runs" / f"toy2d{suffix}")
    out = Path(args.out or (runs_dir / "toy2d.md" if quick else REPO / "docs/results/toy2d.md"))
    if args.render_only:
        write_doc(out, with_recipes(render_doc(json.loads((runs_dir / SUMMARY_FILE).read_text()))))
        return

    sweep_jobs = [
        Job(d, loss, pack, seed, args.sweep_epochs[d], "sweep")
        for d in args.datasets
        for loss in LOSS_NAMES
        for pack in (1, DATASETS[d].pack)
        for seed in range(args.sweep_seeds)
    ]
    sweep_rows = run_all(sweep_jobs, runs_dir, args.jobs)
    sweep = {d: [r for r in sweep_rows if r["dataset"] == d] for d in args.datasets}
    final = run_final(sweep, args, runs_dir)
    for d in args.datasets:
        plot(d, sweep[d], final[d], runs_dir, out.parent / f"toy2d-{d}.png")

    rows = [*sweep_rows, *(r for groups in final.values() for g in groups.values() for r in g)]
    saved = {
        "command": ("python benchmarks/toy2d.py " + " ".join(sys.argv[1:])).strip(),
        "date": now(),
        "machine": f"{machine(1, ' per run')}; load average at the end "
                   + load_average("other jobs shared the cores"),
        "cpu_minutes": sum(r["cpu_s"] for r in rows) / 60,
        "protocol": {key: getattr(args, key) for key in ("sweep_seeds", "final_seeds",
                     "baseline_seeds", "final_seed_start", "sweep_epochs", "final_epochs")},
        "sweep": sweep,
        "final": final,
    }
    (runs_dir / SUMMARY_FILE).write_text(json.dumps(saved, indent=1))
    write_doc(out, with_recipes(render_doc(saved)))


def with_recipes(doc: str) -> str:
    """The doc with toy2d_recipes.py's goal checks of the recipes as its last section."""
    import toy2d_recipes  # its module reads the saved recipe rows

    if not toy2d_recipes.SAVED.exists():
        return doc
    return toy2d_recipes.with_recipes_section(doc, json.loads(toy2d_recipes.SAVED.read_text()))


if __name__ == "__main__":
    main()
