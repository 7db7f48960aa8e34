"""InfoGAN's categorical code on MNIST (Chen et al. 2016, §7.1): do the categories become digits?

Trains configs/mnist-infogan.yaml (the paper's MLP G with a 10-category code in z, objective
infogan) and, as the control, the same config as objective gan (the code without Q), then draws
`--n` samples per category from each run's sampling network and labels them with gankit's MNIST
classifier. Per run: the categories read as a digit classifier under the best one-to-one
matching of categories to classes (Hungarian; InfoGAN reports a 5 % error rate this way),
their purity (each category scored against its own most common class) and how many classes
the categories' most common classes cover. Results go to docs/results/infogan_mnist.json; the
doc infogan_mnist.md and one picture per run (a row per category) are rendered from it.

    python benchmarks/infogan_mnist.py [--epochs 10] [--seeds 0] [--n 1000] [--workers 2]
        [--runs-dir runs/bench-infogan-mnist] [--data-dir DIR] [--render-only]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from common import header, load_average, machine, now, table, write_doc
from gankit.config import load_config
from gankit.metrics.classifier import load_mnist_classifier
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.viz.grid import save_grid

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "mnist-infogan.yaml"
RESULTS = REPO / "docs" / "results" / "infogan_mnist.json"
OUT = RESULTS.with_suffix(".md")
OBJECTIVES = {"infogan": "InfoGAN (code + Q)", "gan": "control: the code without Q"}
SAMPLE_SEED = 20_000  # + the run's seed: the scored noise
PAPER_ERROR = 5.0  # % (Chen et al. 2016, §7.1: c1 "achieves 5% error rate" on MNIST)


def with_category(G: torch.nn.Module, z: torch.Tensor, category: int) -> torch.Tensor:
    """z (drawn by G.sample_z) with its code set to `category`."""
    z = z.clone()
    z[:, G.z_continuous:] = F.one_hot(torch.full((len(z),), category), G.z_categories).to(z.dtype)
    return z


def category_z(G: torch.nn.Module, category: int, n: int, g: torch.Generator) -> torch.Tensor:
    """n draws of z whose code is `category` (the continuous part drawn as in training)."""
    return with_category(G, G.sample_z(n, generator=g), category)


def confusion(G: torch.nn.Module, classifier: torch.nn.Module, n: int, seed: int) -> np.ndarray:
    """counts[category, digit class] over n samples per category."""
    g = torch.Generator().manual_seed(seed)
    counts = np.zeros((G.z_categories, 10), dtype=np.int64)
    with torch.no_grad():
        for k in range(G.z_categories):
            labels = classifier(G(category_z(G, k, n, g))).argmax(1).numpy()
            counts[k] = np.bincount(labels, minlength=10)
    return counts


def code_scores(counts: np.ndarray) -> dict:
    """Matched accuracy (best one-to-one categories -> classes), purity, classes covered."""
    rows, cols = linear_sum_assignment(-counts)
    total = counts.sum()
    return {"matched_accuracy": float(counts[rows, cols].sum() / total),
            "purity": float(counts.max(axis=1).sum() / total),
            "classes_covered": int(len(set(counts.argmax(axis=1).tolist()))),
            "confusion": counts.tolist()}


def run_one(objective: str, seed: int, epochs: int, runs_dir: Path, n: int,
            data_dir: str | None) -> dict:
    torch.set_num_threads(1)
    run_dir = runs_dir / f"{objective}-s{seed}"
    sets = [f"objective={objective}", f"seed={seed}", f"train.epochs={epochs}",
            "train.progress=false"]
    if data_dir:
        sets.append(f"data.dir={data_dir}")
    cpu0 = time.process_time()
    Trainer(load_config(CONFIG, sets), run_dir, force=True).run()
    cpu_s = time.process_time() - cpu0
    run = load_run(run_dir)
    G = run.generator.eval()
    classifier = load_mnist_classifier(data_dir=data_dir, verbose=False)
    counts = confusion(G, classifier, n, SAMPLE_SEED + seed)
    picture = OUT.parent / f"infogan_mnist-{objective}-s{seed}.png"
    with torch.no_grad():
        g = torch.Generator().manual_seed(SAMPLE_SEED + seed)
        z = G.sample_z(10, generator=g)  # the same 10 continuous draws in every row
        rows = torch.cat([G(with_category(G, z, k)) for k in range(G.z_categories)])
    save_grid(rows, picture, nrow=10)
    return {"objective": objective, "seed": seed, "epochs": epochs, "n_per_category": n,
            "cpu_s": round(cpu_s, 1), "picture": picture.name, **code_scores(counts)}


def _run_job(job: tuple) -> dict:
    return run_one(*job)


def render(saved: dict) -> str:
    lines = [*header("InfoGAN's categorical code on MNIST", saved["command"], saved["date"],
                     saved["machine"], style="breaks"), "",
             f"Config `configs/mnist-infogan.yaml` (the paper's MLP G and maxout D with "
             f"mnist-paper-ema's optimiser, 10 categories in z), {saved['rows'][0]['epochs']} "
             "epochs per run, one thread; the control is the same config as objective gan. "
             f"{saved['rows'][0]['n_per_category']:,} samples per category from each run's EMA "
             "G, labelled by gankit's MNIST classifier. *Matched accuracy*: the categories as a "
             "digit classifier under the best one-to-one matching of categories to classes "
             f"(InfoGAN reports {PAPER_ERROR:g} % error this way, with convolutional nets); "
             "*purity*: each category against its own most common class; *classes*: how many "
             "of the 10 digits are some category's most common class. One seed per row unless "
             "the seeds say more.", ""]
    lines += table(["run", "seed", "CPU min", "matched accuracy %", "purity %", "classes"],
                   [[OBJECTIVES[r["objective"]], r["seed"], f"{r['cpu_s'] / 60:.1f}",
                     f"{100 * r['matched_accuracy']:.1f}", f"{100 * r['purity']:.1f}",
                     r["classes_covered"]] for r in saved["rows"]])
    for r in saved["rows"]:
        lines += ["", f"![{OBJECTIVES[r['objective']]}]({r['picture']})", "",
                  f"*{OBJECTIVES[r['objective']]}, seed {r['seed']}: a row per category, a "
                  "column per draw of the continuous z (the same in every row).*"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--n", type=int, default=1000, help="samples per category")
    parser.add_argument("--runs-dir", default=str(REPO / "runs" / "bench-infogan-mnist"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--workers", type=int, default=2, help="runs trained at once")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        jobs = [(objective, int(seed), args.epochs, Path(args.runs_dir), args.n, args.data_dir)
                for seed in args.seeds.split(",") for objective in OBJECTIVES]
        # one thread per run, `--workers` runs at once, each in a fresh (spawned) process
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            rows = list(pool.map(_run_job, jobs))
        saved = {"command": ("python benchmarks/infogan_mnist.py " + " ".join(sys.argv[1:])
                             ).strip(),
                 "date": now(), "rows": rows,
                 "machine": f"{machine(1, ' per run')}; load average at the end "
                            + load_average("other jobs shared the cores")}
        RESULTS.write_text(json.dumps(saved, indent=1))
    write_doc(OUT, render(json.loads(RESULTS.read_text())))


if __name__ == "__main__":
    main()
