"""DCGAN, conditional DCGAN and the paper's MLP GAN on MNIST under one CPU budget.

    nice -n 10 python benchmarks/dcgan.py                  # train (or reuse) and evaluate all
    python benchmarks/dcgan.py --cpu-minutes 2 --no-stacked  # a quick look

Every model trains from its config (configs/mnist-dcgan.yaml, mnist-cdcgan.yaml, mnist-paper.yaml)
until it has used --cpu-minutes of CPU time (the process's own time, one torch thread), so a
busy shared machine slows the benchmark down but does not change what each model gets. Finished
runs under --runs-dir are reused; delete them to train again.

Evaluation: `gankit.metrics.registry.evaluate` on 10,000 samples (Fréchet distance, KID,
classifier score, precision/recall, density/coverage with gankit's MNIST classifier features; the
Parzen estimate of Goodfellow et al. 2014; classes covered), plus, for the conditional model, the
share of samples the classifier assigns to the label they were generated for. Stacked MNIST
(1000 modes): 26,000 samples, each channel classified, modes hit and KL to uniform.
Writes docs/results/dcgan.md and its PNGs under docs/results/dcgan/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from gankit.config import load_config
from gankit.data.mnist import load_mnist
from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.registry import default_metrics, default_n, evaluate
from gankit.metrics.stacked import classify_digits
from gankit.train import run as runs
from gankit.train.loop import Trainer
from gankit.train.run import Run, load_run
from gankit.viz.grid import save_grid

ROOT = Path(__file__).resolve().parents[1]
METRICS = default_metrics("mnist")  # what `gankit eval` computes on MNIST by default
STACKED_SAMPLES = default_n("stacked-mnist")

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
# PacGAN (Lin et al. 2018), Table 3 (Stacked MNIST, 1000 modes): modes captured, KL to uniform.
STACKED_PUBLISHED = (
    ("DCGAN (Radford et al. 2016), as run by PacGAN", 99.0, 3.40),
    ("VEEGAN (Srivastava et al. 2017)", 150.0, 2.95),
    ("PacDCGAN2 (Lin et al. 2018)", 1000.0, 0.06),
)


class BudgetTrainer(Trainer):
    """A Trainer that also stops once the process has used `cpu_seconds` since it started."""

    def __init__(self, *args: Any, cpu_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cpu_start = time.process_time()
        self.cpu_seconds = cpu_seconds

    def done(self) -> bool:
        return super().done() or time.process_time() - self.cpu_start >= self.cpu_seconds


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
    trainer = BudgetTrainer(cfg, run_dir, cpu_seconds=cpu_minutes * 60)
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


def budget_text(facts: dict) -> str:
    """The training budgets, models with the same budget grouped together."""
    groups: dict[str, list[str]] = {}
    for key, f in facts.items():
        if key == "table1":
            continue
        b = f.get("budget")
        text = (
            f"{b['cpu_minutes']:g} CPU minutes or {b['epochs']} epochs"
            if b
            else "a budget its run did not record"
        )
        groups.setdefault(text, []).append(key)
    listed = "; ".join(f"{', '.join(keys)}: {text}" for text, keys in groups.items())
    return (
        "Budget: a model trains until its process has used its CPU minutes (one torch thread) "
        f"or reaches its epoch cap, whichever comes first ({listed}). Finished runs are reused "
        "with the budget they had. CPU time rather than wall time, because the 2 cores were "
        "shared with other jobs. DCGAN widths are the `base` channel unit of each config, "
        "G/D (64 is paper-sized); extra layers are stride-1 3x3 convolutions at every hidden "
        "resolution (`extra_layers` in the config). Each run's measured speed is in the "
        "images/s column below."
    )


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
        from gankit.viz import latent
    except ImportError:
        return pictures
    if run.config.generator.kind != "dcgan" or run.data_shape[0] != 1:
        return pictures
    latent.save_interpolation(
        run, out_dir / f"{key}-interpolation.png", n=8, points=2, slerp=True, seed=0
    )
    pictures.append(
        (
            f"dcgan/{key}-interpolation.png",
            "spherical interpolation between pairs of noise vectors (one row each)",
        )
    )
    if run.n_classes and run.config.data.conditional:
        latent.save_class_grid(run, out_dir / f"{key}-fixed-z.png", n=8, seed=0)
        pictures.append(
            (
                f"dcgan/{key}-fixed-z.png",
                "one noise vector per row, the 10 classes across: z carries the style",
            )
        )
    else:
        latent.save_arithmetic(run, out_dir / f"{key}-arithmetic.png", seed=0)
        pictures.append(
            (
                f"dcgan/{key}-arithmetic.png",
                "vector arithmetic: thick - thin + slanted (see gankit.viz.latent)",
            )
        )
    return pictures


def machine() -> str:
    cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()}, {platform.machine()}, {cores} CPU cores, torch "
        f"{torch.__version__} (1 thread per training), load average {load:.2f} at the end "
        "(other jobs shared the cores; CPU budgets are per process, so they are unaffected)"
    )


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def summary(
    results: dict, accuracy: dict | None, stacked: dict | None, names: dict[str, str]
) -> list[str]:
    """A few sentences computed from the tables below (nothing here is typed in by hand)."""
    lines = ["## Summary", ""]
    models = {k: r["metrics"] for k, r in results.items() if k != "real"}
    if models:
        ranked = sorted(models, key=lambda k: models[k]["fid"])
        order = ", ".join(f"{names[k]} {models[k]['fid']:.1f}" for k in ranked)
        lines.append(f"- Fréchet distance (classifier features, lower is better): {order}.")
        best = max(models, key=lambda k: models[k]["parzen"])
        lines.append(
            f"- Highest Parzen estimate: {names[best]} ({models[best]['parzen']:.1f} nats); "
            "Parzen and FD need not agree (see docs/results/table1.md on Parzen's limits)."
        )
    if "mlp" in models:
        lines += goal_check(models, names)
    if accuracy is not None:
        lines.append(
            f"- Conditional DCGAN: {accuracy['accuracy']:.1%} of its samples are classified as "
            f"the label they were generated for (lowest class: "
            f"{min(accuracy['per_class']):.1%})."
        )
    if stacked is not None:
        lines.append(
            f"- Stacked MNIST: {stacked['modes_covered']} of 1000 modes, KL to uniform "
            f"{stacked['kl_to_uniform']:.2f}."
        )
    return [*lines, ""] if len(lines) > 2 else []


# The comparison: better than the paper's MLP on FD, modes and precision / recall.
# (metric, True when higher is better)
GOAL_METRICS = (("fid", False), ("precision", True), ("recall", True), ("classes_covered", True),
                ("kl_to_uniform", False))


def goal_check(models: dict, names: dict[str, str]) -> list[str]:
    """For each DCGAN, the metrics on which it beats (or not) the paper MLP of this benchmark."""
    lines = []
    ref = models["mlp"]
    for key in ("dcgan", "cdcgan"):
        if key not in models:
            continue
        m = models[key]
        worse = []
        for metric, higher in GOAL_METRICS:
            a, b = m.get(metric), ref.get(metric)
            if a is None or b is None:
                continue
            if (a < b) if higher else (a > b):
                worse.append(f"{metric} {a:.3g} against {b:.3g}")
        verdict = (
            "better than or equal to the paper MLP on every one of "
            + ", ".join(g for g, _ in GOAL_METRICS)
            if not worse
            else "**not** better than the paper MLP on " + "; ".join(worse)
        )
        lines.append(f"- Goal check, {names[key]}: {verdict}.")
    return lines


def write_report(
    path: Path,
    args: argparse.Namespace,
    facts: dict,
    results: dict,
    accuracy: dict | None,
    pictures: dict,
    stacked: dict | None,
    protocol: dict,
) -> None:
    models = (*MNIST_MODELS, TABLE1_MODEL, STACKED_MODEL)
    names = {k: model_name(k, n, c, Path(args.runs_dir)) for k, c, n in models}
    names["real"] = "real MNIST (training images)"
    lines = [
        "# DCGAN and conditional DCGAN on MNIST, against the paper's MLP",
        "",
        f"Command: `{' '.join(['python benchmarks/dcgan.py', *args.argv])}`",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"Machine: {machine()}",
        "",
        budget_text(facts),
        "",
        (
            "The row marked benchmarks/table1.py is the paper-MLP run that script trained under "
            "its own budget (docs/results/table1.md; no CPU time recorded), evaluated here "
            "under the same protocol but not retrained."
            if "table1" in facts
            else ""
        ),
        "",
        *summary(results, accuracy, stacked, names),
        "## Training",
        "",
        "| model | config | G / D parameters | epochs | G steps | CPU min | wall min | images/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, f in facts.items():
        lines.append(
            f"| {names[key]} | `configs/{f['config']}` | {f['g_params']:,} / {f['d_params']:,} | "
            f"{f['epochs']:.2f} | {f['g_steps']:,} | {fmt(f['cpu_minutes'], 1)} | "
            f"{f['wall_minutes']:.1f} | {f['images_per_s']:.0f} |"
        )
    lines += [
        "",
        f"## Sample quality ({args.n:,} samples each)",
        "",
        "FD = Fréchet distance of gankit's MNIST-classifier features (128-D), lower is better;",
        "it is comparable across gankit runs only, not to Inception FIDs. IS = the Inception",
        "score formula with the MNIST classifier (1-10). P/R = precision/recall (k=3), D/C =",
        "density/coverage (k=5). Parzen = the paper's Parzen-window log-likelihood (nats; the",
        "paper reports 225 ± 2 for its MLP GAN). The first row scores the first n real MNIST",
        "training images under the same protocol: what a perfect model would get.",
        "",
        "| model | FD | KID | IS | precision | recall | density | coverage | classes | KL to uniform | Parzen |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        m = r["metrics"]
        lines.append(
            f"| {names[key]} | {fmt(m.get('fid'), 2)} | {fmt(m.get('kid'), 4)} | "
            f"{fmt(m.get('is'), 2)} | {fmt(m.get('precision'))} | {fmt(m.get('recall'))} | "
            f"{fmt(m.get('density'))} | {fmt(m.get('coverage'))} | "
            f"{fmt(m.get('classes_covered'))} | {fmt(m.get('kl_to_uniform'), 4)} | "
            f"{fmt(m.get('parzen'), 1)} ± {fmt(m.get('parzen_stderr'), 1)} |"
        )
    lines += ["", "Protocol: " + ", ".join(f"{k}={v}" for k, v in protocol.items()), ""]
    if accuracy is not None:
        target = "met" if accuracy["accuracy"] >= 0.95 else "NOT met"
        lines += [
            "## Conditional accuracy",
            "",
            f"{accuracy['n']:,} samples of the conditional DCGAN, labels 0-9 in equal numbers; "
            "the share that gankit's MNIST classifier assigns to the label the sample was "
            f"generated for: **{accuracy['accuracy']:.1%}** (target ≥ 95 %: {target}).",
            "",
            "| label | " + " | ".join(str(c) for c in range(len(accuracy["per_class"]))) + " |",
            "|---|" + "---|" * len(accuracy["per_class"]),
            "| accuracy | " + " | ".join(f"{a:.1%}" for a in accuracy["per_class"]) + " |",
            "",
        ]
    if stacked is not None:
        lines += [
            "## Stacked MNIST (1000 modes)",
            "",
            f"{STACKED_SAMPLES:,} samples; each channel classified by gankit's MNIST classifier; "
            "a mode is a digit triple. Published numbers are PacGAN's Table 3 (their nets and "
            "training length, not ours: compare loosely).",
            "",
            "| model | source | modes (of 1000) | KL to uniform |",
            "|---|---|---|---|",
            f"| {names['stacked']} | this run | {stacked['modes_covered']} | "
            f"{stacked['kl_to_uniform']:.2f} |",
        ]
        lines += [f"| {n} | published | {m:g} | {kl:.2f} |" for n, m, kl in STACKED_PUBLISHED]
        lines += [""]
    lines += ["## Pictures", ""]
    for key, items in pictures.items():
        for file, caption in items:
            lines += [f"**{names[key]}**: {caption}", "", f"![{key} {caption}]({file})", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"wrote {path}", flush=True)


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
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    runs_dir, out = Path(args.runs_dir), Path(args.out)
    picture_dir = out.parent / "dcgan"
    table1_run = find_table1_run(Path(args.table1_runs))
    models = list(MNIST_MODELS) + ([TABLE1_MODEL] if table1_run else [])
    models += [] if args.no_stacked else [STACKED_MODEL]
    if args.only:
        wanted = args.only.split(",")
        models = [m for m in models if m[0] in wanted]

    facts, results, pictures = {}, {}, {}
    accuracy, stacked, protocol = None, None, {}
    classifier = None
    for key, config, _ in models:
        if key == "table1":
            facts[key], run = table1_facts(table1_run), load_run(table1_run)
        else:
            facts[key] = train_model(key, config, runs_dir, args.cpu_minutes, args.epochs)
            run = load_run(runs_dir / key)
        classifier = classifier or load_mnist_classifier()
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
            stacked = evaluate(run.sample(STACKED_SAMPLES, seed=0), ["stacked-modes"],
                               "stacked-mnist", classifier=classifier)["metrics"]
            print(f"[{key}] {stacked}", flush=True)
        else:
            result = evaluate(
                run.sample(args.n, seed=0), METRICS, "mnist", classifier=classifier, n=args.n
            )
            results[key], protocol = result, result["protocol"]
            print(f"[{key}] {result['metrics']}", flush=True)
            if run.config.data.conditional:
                accuracy = conditional_accuracy(run, classifier, args.n)
                print(f"[{key}] conditional accuracy {accuracy['accuracy']:.4f}", flush=True)
        pictures[key] = write_grids(key, run, picture_dir)
        # Rewritten after every model, so a long benchmark leaves partial results behind.
        write_report(out, args, facts, results, accuracy, pictures, stacked, protocol)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
