"""DCGAN, conditional DCGAN and the paper's MLP GAN on MNIST under one CPU budget.

    nice -n 10 python benchmarks/dcgan.py                  # train (or reuse) and evaluate all
    python benchmarks/dcgan.py --cpu-minutes 2 --no-stacked  # a quick look
    python benchmarks/dcgan.py --render-only                # rewrite the doc from dcgan.json

Every model trains from its config (configs/mnist-dcgan.yaml, mnist-cdcgan.yaml, mnist-paper.yaml)
until it has used --cpu-minutes of CPU time (the process's own time, one torch thread; the
library's CpuBudget hook), so a busy shared machine slows the benchmark down but does not change
what each model gets. Finished runs under --runs-dir are reused; delete them to train again.

Evaluation: `gankit.metrics.registry.evaluate` on 10,000 samples (Fréchet distance, KID,
classifier score, precision/recall, density/coverage with gankit's MNIST classifier features; the
Parzen estimate of Goodfellow et al. 2014; classes covered), plus, for the conditional model, the
share of samples the classifier assigns to the label they were generated for. Stacked MNIST
(1000 modes): 26,000 samples, each channel classified, modes hit and KL to uniform.
The results are saved in dcgan.json beside the doc (docs/results/, committed with it, so the doc
can be re-rendered on any checkout); dcgan_report.py renders docs/results/dcgan.md from them, with
its PNGs under docs/results/dcgan/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

import dcgan_recipes
import dcgan_recipes_report
from common import load_average, machine, now, write_doc
from dcgan_report import render_doc
from gankit.config import load_config
from gankit.data.dataset import label_protocol, load_training_data, marginal_labels
from gankit.data.mnist import load_mnist
from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.registry import default_metrics, default_n, evaluate
from gankit.metrics.stacked import classify_digits
from gankit.train import run as runs
from gankit.train.hooks import CpuBudget
from gankit.train.loop import Trainer
from gankit.train.run import Run, load_run
from gankit.viz.grid import save_grid

ROOT = Path(__file__).resolve().parents[1]
METRICS = default_metrics("mnist")  # what `gankit eval` computes on MNIST by default
STACKED_SAMPLES = default_n("stacked-mnist")
RESULTS_SUFFIX = ".json"  # beside --out (docs/results/dcgan.json): what --render-only renders

# (key, config, what it is); the order is the order of the table.
MNIST_MODELS = (
    ("dcgan", "mnist-dcgan.yaml", "DCGAN"),
    ("cdcgan", "mnist-cdcgan.yaml", "conditional DCGAN"),
    ("mlp", "mnist-paper.yaml", "paper MLP + maxout (Goodfellow et al. 2014)"),
)
TABLE1_MODEL = (
    "table1",
    "mnist-paper-fast.yaml",
    "paper MLP, Adam + EMA (benchmarks/table1.py run)",
)
STACKED_MODEL = ("stacked", "stacked-mnist-dcgan.yaml", "DCGAN on Stacked MNIST")


def train_model(key: str, config: str, runs_dir: Path, cpu_minutes: float, epochs: int) -> dict:
    """Train one model under the CPU budget (or reuse a finished run); returns timing facts."""
    run_dir = runs_dir / key
    facts_file = run_dir / "benchmark.json"
    if runs.read_status(run_dir).get("finished") and facts_file.exists():
        print(f"[{key}] reusing the finished run {run_dir}", flush=True)
        return json.loads(facts_file.read_text())
    if run_dir.exists():
        shutil.rmtree(run_dir)  # an unfinished run: its budget clock is lost, start over
    overrides = ["train.progress=false", "train.threads=1", f"train.epochs={epochs}"]
    cfg = load_config(ROOT / "configs" / config, overrides)
    print(
        f"[{key}] training {config} for {cpu_minutes} CPU minutes (cap {epochs} epochs)", flush=True
    )
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(cfg, run_dir, hooks=[CpuBudget(cpu_minutes * 60)])
    trainer.run()
    records = runs.read_metrics(run_dir)
    rates = [r["images_per_s"] for r in records if r.get("images_per_s")]
    facts = {
        "config": config,
        "cpu_minutes": (time.process_time() - cpu) / 60,
        "wall_minutes": (time.perf_counter() - wall) / 60,
        "g_steps": trainer.progress.g_steps,
        "epochs": trainer.progress.d_steps / trainer.batches_per_epoch,
        "images_per_s": sum(rates) / len(rates) if rates else 0.0,
        "g_params": sum(p.numel() for p in trainer.G.parameters()),
        "d_params": sum(p.numel() for p in trainer.D.parameters()),
        "budget": {"cpu_minutes": cpu_minutes, "epochs": epochs},
    }
    facts_file.write_text(json.dumps(facts, indent=2))
    print(f"[{key}] done: {facts}", flush=True)
    return facts


def find_table1_run(root: Path) -> Path | None:
    """The newest finished run of benchmarks/table1.py (its own budget), if there is one."""
    finished = [
        p.parent
        for p in sorted(root.glob("*/table1.json"))
        if runs.read_status(p.parent).get("finished")
    ]
    return finished[-1] if finished else None


def table1_facts(run_dir: Path) -> dict:
    """Training facts of a table1.py run, from its table1.json (no CPU time was recorded)."""
    entry = json.loads((run_dir / "table1.json").read_text())["results"][0]
    run = load_run(run_dir)
    return {
        "config": TABLE1_MODEL[1],
        "cpu_minutes": None,
        "wall_minutes": entry["train_s"] / 60,
        "g_steps": entry["g_steps"],
        "epochs": float(entry["epochs"]),
        "images_per_s": entry["images_per_s"],
        "g_params": sum(p.numel() for p in run.generator.parameters()),
        "d_params": sum(p.numel() for p in run.discriminator.parameters()),
    }


def model_name(key: str, name: str, config: str, runs_dir: Path) -> str:
    """The table's name for a model, with the DCGAN width (and extra layers, if any) read from its
    run's config (or, for a model not trained yet, from the config file)."""
    run_dir = runs_dir / key
    cfg = runs.read_config(run_dir) if (run_dir / "config.yaml").exists() else (
        load_config(ROOT / "configs" / config)
    )
    if cfg.generator.kind == "dcgan":
        g, d = cfg.generator, cfg.discriminator
        extra = ""
        if g.extra_layers or d.extra_layers:
            extra = f", {g.extra_layers}/{d.extra_layers} extra layers per resolution"
        return f"{name} (G/D base {g.base}/{d.base}{extra})"
    return name


def model_names(runs_dir: Path) -> dict[str, str]:
    """The table's names of every model (and of the real-data row)."""
    models = (*MNIST_MODELS, TABLE1_MODEL, STACKED_MODEL)
    return {**{k: model_name(k, n, c, runs_dir) for k, c, n in models},
            "real": "real MNIST (training images)"}


def conditional_accuracy(run: Run, classifier: MnistClassifier, n: int = 10_000) -> dict:
    """Share of samples generated for label c that the classifier calls c, overall and per class."""
    labels = torch.arange(n) % run.n_classes
    predicted = classify_digits(classifier, run.sample(n, labels=labels, seed=1))
    hit = predicted == labels
    per_class = [hit[labels == c].float().mean().item() for c in range(run.n_classes)]
    return {"accuracy": hit.float().mean().item(), "per_class": per_class, "n": n}


def write_grids(key: str, run: Run, out_dir: Path) -> list[tuple[str, str]]:
    """Sample grids (and latent-space pictures when gankit.viz.latent is present)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pictures = []
    if run.n_classes and run.config.data.conditional:
        # 10 rows of the 10 classes in order: each column is one class, each row one z.
        samples = run.sample(100, labels=torch.arange(100) % run.n_classes, seed=0)
        caption = "samples, one class per column (labels 0-9), one noise vector per row"
    else:
        samples = run.sample(100, seed=0)
        caption = "100 samples"
    save_grid(samples, out_dir / f"{key}-samples.png", nrow=10)
    pictures.append((f"dcgan/{key}-samples.png", caption))
    try:
        from gankit.viz import arithmetic, latent
    except ImportError:
        return pictures
    if run.config.generator.kind != "dcgan" or run.data_shape[0] != 1:
        return pictures
    latent.save_interpolation(
        run, out_dir / f"{key}-interpolation.png", n=8, points=2, slerp=True, seed=0
    )
    pictures.append((f"dcgan/{key}-interpolation.png",
                     "spherical interpolation between pairs of noise vectors (one row each)"))
    if run.n_classes and run.config.data.conditional:
        latent.save_class_grid(run, out_dir / f"{key}-fixed-z.png", n=8, seed=0)
        pictures.append((f"dcgan/{key}-fixed-z.png",
                         "one noise vector per row, the 10 classes across: z carries the style"))
    else:
        arithmetic.save_arithmetic(run, out_dir / f"{key}-arithmetic.png", seed=0)
        pictures.append((f"dcgan/{key}-arithmetic.png",
                         "vector arithmetic: thick - thin + slanted (see gankit.viz.arithmetic)"))
    return pictures


def recipe_section(recipes_file: Path = dcgan_recipes.SAVED) -> list[str]:
    """The tuned recipes of benchmarks/dcgan_recipes.py with issue 18's goal check, rendered
    from its saved probes (none yet: no section)."""
    if not recipes_file.exists():
        return []
    probes = json.loads(recipes_file.read_text())
    newest = max(p["date"] for p in probes["probes"])
    goal = {metric: value for metric, value, _ in dcgan_recipes_report.GOALS}
    return ["## Recipes toward issue 18's goal", "",
            f"Issue 18 asks for precision ≥ {goal['precision']:.2f} and recall ≥ "
            f"{goal['recall']:.2f} together with classifier FD ≤ {goal['fid']:g} within "
            f"{dcgan_recipes_report.GOAL_CPU_MINUTES:g} CPU minutes at {dcgan_recipes_report.GOAL_SEEDS} "
            "seeds. The recipe search "
            "(benchmarks/dcgan_recipes.py; every probe's trajectory and command in "
            "[dcgan_recipes.md](dcgan_recipes.md), the truncation trick's trade in "
            f"[truncation.md](truncation.md)) trained these, newest {newest}, on the "
            "machine named there; scores at the end of each budget, 10,000 samples:", "",
            *dcgan_recipes_report.recipe_table(probes), ""]


def save_results(saved: dict[str, Any], out: Path) -> None:
    """dcgan.json beside the doc (everything the doc is rendered from), then the doc itself."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(RESULTS_SUFFIX).write_text(json.dumps(saved, indent=2) + "\n")
    write_doc(out, render_doc(saved, recipe_section()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu-minutes",
        type=float,
        default=60.0,
        help="CPU minutes of training per model (default 60; the epoch cap usually ends it first)",
    )
    parser.add_argument("--epochs", type=int, default=12, help="epoch cap per model (default 12)")
    parser.add_argument("--runs-dir", default="runs/bench-dcgan", help="where the runs go")
    parser.add_argument("--out", default=str(ROOT / "docs/results/dcgan.md"))
    parser.add_argument("--n", type=int, default=10_000, help="samples per evaluation")
    parser.add_argument("--no-stacked", action="store_true", help="skip Stacked MNIST")
    parser.add_argument(
        "--table1-runs",
        default="runs/table1",
        help="also evaluate the newest finished benchmarks/table1.py run found here",
    )
    parser.add_argument("--only", help="comma-separated model keys (dcgan,cdcgan,mlp,stacked)")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite --out from the .json beside it (no training)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    runs_dir, out = Path(args.runs_dir), Path(args.out)
    if args.render_only:
        results = out.with_suffix(RESULTS_SUFFIX)
        if not results.exists():
            raise SystemExit(f"{results} not found: run benchmarks/dcgan.py without "
                             "--render-only first")
        write_doc(out, render_doc(json.loads(results.read_text()), recipe_section()))
        return 0
    picture_dir = out.parent / "dcgan"
    table1_run = find_table1_run(Path(args.table1_runs))
    models = list(MNIST_MODELS) + ([TABLE1_MODEL] if table1_run else [])
    models += [] if args.no_stacked else [STACKED_MODEL]
    if args.only:
        wanted = args.only.split(",")
        models = [m for m in models if m[0] in wanted]

    saved: dict[str, Any] = {
        "command": " ".join(["python benchmarks/dcgan.py", *argv]), "n": args.n,
        "facts": {}, "results": {}, "accuracy": None, "stacked": None, "protocol": {},
        "pictures": {},
    }
    classifier = None
    for key, config, _ in models:
        if key == "table1":
            saved["facts"][key], run = table1_facts(table1_run), load_run(table1_run)
        else:
            saved["facts"][key] = train_model(key, config, runs_dir, args.cpu_minutes, args.epochs)
            run = load_run(runs_dir / key)
        classifier = classifier or load_mnist_classifier()
        results = saved["results"]
        if key != "stacked" and "real" not in results:
            # Real training images under the same protocol: the reference row of the table.
            # Not the validation split: Parzen picks sigma on valid[:1000], which would then
            # also be kernel centres and drive sigma to the smallest value.
            real, _ = load_mnist("train")
            results["real"] = evaluate(
                real[: args.n], METRICS, "mnist", classifier=classifier, n=args.n
            )
            print(f"[real] {results['real']['metrics']}", flush=True)
        print(f"[{key}] evaluating", flush=True)
        if key == "stacked":
            saved["stacked"] = evaluate(run.sample(STACKED_SAMPLES, seed=0), ["stacked-modes"],
                                        "stacked-mnist", classifier=classifier)["metrics"]
            print(f"[{key}] {saved['stacked']}", flush=True)
        else:
            labels = None
            if run.config.data.conditional:
                # scored as the mixture it learnt: labels in the training proportions
                y = load_training_data(run.config.data, run.config.seed).y
                labels = marginal_labels(y, run.n_classes, args.n)
            result = evaluate(run.sample(args.n, labels=labels, seed=0), METRICS, "mnist",
                              classifier=classifier, n=args.n)
            if labels is not None:
                result["protocol"]["labels"] = label_protocol(labels, y, run.n_classes)
            results[key] = result
            saved["protocol"] = {k: v for k, v in result["protocol"].items() if k != "labels"}
            print(f"[{key}] {result['metrics']}", flush=True)
            if run.config.data.conditional:
                saved["accuracy"] = conditional_accuracy(run, classifier, args.n)
                print(f"[{key}] conditional accuracy {saved['accuracy']['accuracy']:.4f}",
                      flush=True)
        saved["pictures"][key] = write_grids(key, run, picture_dir)
        # Saved (and the doc rewritten) after every model, so a long benchmark leaves partial
        # results behind; the date and machine are those of the latest write.
        saved.update(names=model_names(runs_dir), date=now(),
                     machine=f"{machine(1, ' per training')}; load average at the end "
                     + load_average("other jobs shared the cores; CPU budgets are per process, "
                                    "so they are unaffected"))
        save_results(saved, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
