"""Table 1 of Goodfellow et al. (2014), MNIST row: Parzen-window log-likelihood of a trained GAN.

Trains the paper's architecture (G 100-1200-1200-784, maxout D 240x5-240x5 with dropout) with the
recipe in configs/mnist-paper-fast.yaml, evaluates it with the authors' Parzen protocol, scores
real data with the same protocol for scale, draws samples and the Figure 2 neighbours, and writes
docs/results/table1.md. Optionally also trains the literal 2014 recipe (configs/mnist-paper.yaml)
for a short budget as a second row.

    python benchmarks/table1.py [--config configs/mnist-paper-fast.yaml] [--epochs N]
        [--literal-epochs N] [--eval-every 2] [--out docs/results/table1.md] [--quick]

The Parzen protocol is gankit's one implementation (`gankit.metrics.evaluate.evaluate_samples`,
the authors' parzen_ll.py); the doc is rendered by table1_report.py from the table1.json saved
in the first run's folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from common import load_average, machine, now, write_doc
from gankit.config import Config, load_config
from gankit.data import load_mnist
from gankit.metrics.evaluate import PARZEN_VALID_POINTS, evaluate_samples
from gankit.train.hooks import EpochFacts, Hook, StepFacts
from gankit.train.loop import Trainer
from gankit.train.run import generate, load_run
from gankit.viz.grid import save_grid
from gankit.viz.neighbours import save_neighbours
from table1_report import fmt, plot_curve, render_doc, samples_key

REPO = Path(__file__).resolve().parents[1]


def parzen_of_samples(samples: torch.Tensor, data_dir: str | None) -> dict[str, Any]:
    """The library's Parzen protocol on these samples, as table1.json records it."""
    start = time.perf_counter()
    result = evaluate_samples(samples, ["parzen"], data_dir=data_dir, n=len(samples))
    m, p = result["metrics"], result["protocol"]
    return {"mean": m["parzen"], "stderr": m["parzen_stderr"], "sigma": p["parzen_sigma"],
            "n_samples": p["n"], "n_valid": PARZEN_VALID_POINTS, "n_test": p["parzen_n_test"],
            "eval_s": time.perf_counter() - start}


def parzen_of(G: torch.nn.Module, n: int, data_dir: str | None) -> dict[str, Any]:
    """n samples of G in eval mode from noise seed 0, scored: the same noise at every epoch."""
    was_training = G.training
    G.eval()
    try:
        samples = generate(G, n, None, torch.Generator().manual_seed(0))
    finally:
        G.train(was_training)
    return parzen_of_samples(samples, data_dir)


class ParzenCurve(Hook):
    """Scores Parzen every `every` epochs (0: never). Evaluation time is kept apart from
    training time, so `training_seconds()` is what training alone took; given the `previous`
    result of this run, its clock and curve continue where an earlier invocation stopped."""

    def __init__(self, score: Callable[[torch.nn.Module], dict[str, Any]], every: int,
                 previous: dict[str, Any] | None = None):
        self.score, self.every = score, every
        self.curve: list[dict[str, Any]] = list(previous["curve"]) if previous else []
        self.earlier = previous["train_s"] if previous else 0.0
        self.started: float | None = None
        self.eval_seconds = 0.0

    def on_step(self, facts: StepFacts) -> None:
        if self.started is None:  # the clock starts with the first iteration, not the set-up
            self.started = time.perf_counter() - facts.seconds

    def training_seconds(self) -> float:
        if self.started is None:
            return self.earlier
        return self.earlier + time.perf_counter() - self.started - self.eval_seconds

    def on_epoch(self, facts: EpochFacts) -> None:
        if not self.every or facts.epoch % self.every:
            return
        start = time.perf_counter()
        trained = self.training_seconds()
        result = self.score(facts.sampler)
        point = {"epoch": facts.epoch, "train_s": trained, "mean": result["mean"],
                 "stderr": result["stderr"], "sigma": result["sigma"]}
        if facts.sampler is not facts.generator:
            # The raw G too, to show what the weight average buys.
            point["raw_mean"] = self.score(facts.generator)["mean"]
        self.curve.append(point)
        print(f"epoch {facts.epoch}: Parzen {fmt(result)} (sigma {result['sigma']:.3f}; raw G "
              f"{point.get('raw_mean', float('nan')):.1f}) after {trained / 60:.1f} min of "
              "training", flush=True)
        self.eval_seconds += time.perf_counter() - start


def train_and_score(cfg: Config, run_dir: Path, n_samples: int, data_dir: str | None,
                    eval_every: int, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (or, given the `previous` result of this run, continue training) and score."""
    def score(G: torch.nn.Module) -> dict[str, Any]:
        return parzen_of(G, n_samples, data_dir)

    curve = ParzenCurve(score, eval_every, previous)
    trainer = Trainer(cfg, run_dir, resume=previous is not None, hooks=[curve])
    trainer.run()
    seconds = curve.training_seconds()
    images = trainer.progress.d_steps * cfg.train.batch_size
    final = score(trainer.G_ema or trainer.G)
    raw = score(trainer.G) if trainer.G_ema is not None else None
    result = {
        "name": cfg.name, "run_dir": str(run_dir),
        "epochs": trainer.epoch_of(trainer.progress.d_steps) - 1,
        "g_steps": trainer.progress.g_steps, "train_s": seconds,
        "images_per_s": images / seconds, "parzen": final, "curve": curve.curve,
        "ema": cfg.train.ema, "raw_parzen": raw,
    }
    print(f"{cfg.name}: Parzen {fmt(final)} (sigma {final['sigma']:.3f}), {result['epochs']} "
          f"epochs in {seconds / 60:.1f} min", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs/mnist-paper-fast.yaml"))
    parser.add_argument("--epochs", type=int, help="override the config's train.epochs")
    parser.add_argument("--literal-epochs", type=int, default=0,
                        help="also train configs/mnist-paper.yaml for this many epochs (0: skip; "
                        "with --resume, beside the resumed run)")
    parser.add_argument("--eval-every", type=int, default=2,
                        help="epochs between Parzen evaluations during training (0: only at the end)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--runs-dir", default="runs/table1", help="where the runs are written")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: found as usual)")
    parser.add_argument("--out", default=str(REPO / "docs/results/table1.md"))
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 epoch of 50 steps, 1,000 samples")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue a run this script made (to --epochs in all) and redo "
                        "the doc; its table1.json keeps the earlier time and curve")
    parser.add_argument("--render", metavar="TABLE1_JSON",
                        help="rewrite the doc and pictures from a finished run's table1.json "
                        "(no training)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.render:
        return render(Path(args.render), Path(args.out))
    n_samples = 1000 if args.quick else 10_000
    sets = [f"train.threads={args.threads}", "train.progress=false"]
    if args.data_dir:
        sets.append(f"data.dir={args.data_dir}")
    if args.epochs:
        sets.append(f"train.epochs={args.epochs}")
    if args.quick:
        sets += ["train.epochs=1", "train.max_steps=50"]
    plans = [(args.config, sets)]
    if args.literal_epochs:
        literal_sets = [s for s in sets if not s.startswith("train.epochs")]
        plans.append((str(REPO / "configs/mnist-paper.yaml"),
                      [*literal_sets, f"train.epochs={args.literal_epochs}"]))

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results, configs = [], []
    commands = []
    if args.resume:
        run_dir = Path(args.resume)
        before = json.loads((run_dir / "table1.json").read_text())
        if not args.epochs:
            raise SystemExit("--resume needs --epochs (the total number of epochs to reach)")
        cfg = load_run(run_dir).config
        cfg.train.epochs = args.epochs
        commands = before.get("commands", ["python " + " ".join(before["argv"])])
        configs.append(cfg)
        results.append(train_and_score(cfg, run_dir, n_samples, args.data_dir, args.eval_every,
                                       previous=before["results"][0]))
        plans = plans[1:]  # the literal recipe, if asked for, is trained afresh beside it
    for path, overrides in plans:
        cfg = load_config(path, overrides)
        run_dir = Path(args.runs_dir) / f"{cfg.name}-{stamp}"
        configs.append(cfg)
        results.append(train_and_score(cfg, run_dir, n_samples, args.data_dir, args.eval_every))

    load = load_average("well above the thread count means other jobs shared the cores, which "
                        "slows training but does not change what it computes")
    real = parzen_of_samples(load_mnist("train", args.data_dir)[0][:n_samples], args.data_dir)
    print(f"real data: {fmt(real)} (sigma {real['sigma']:.3f})")

    commands.append("python " + " ".join(sys.argv))
    summary = {"results": results, "real": real, "argv": sys.argv, "quick": args.quick,
               "commands": commands, "date": now(), "machine": machine(), "load": load}
    (Path(results[0]["run_dir"]) / "table1.json").write_text(json.dumps(summary, indent=2))
    write_doc(Path(args.out), render_doc(summary, configs, pictures(summary, Path(args.out))))
    return 0


def pictures(summary: dict[str, Any], out: Path) -> dict[str, Path | None]:
    """Samples grid, Figure 2 neighbours and the Parzen curve, next to the doc (without the
    run folders: the pictures already there, see render())."""
    stem = out.with_suffix("")
    if not all(Path(r["run_dir"]).exists() for r in summary["results"]):
        keys = ["samples", "neighbours", *(samples_key(r) for r in summary["results"][1:])]
        found = {key: Path(f"{stem}-{key}.png") for key in keys}
        found["curve"] = Path(f"{stem}-parzen-curve.png")
        return {key: path if path.exists() else None for key, path in found.items()}
    run = load_run(summary["results"][0]["run_dir"])
    others = {
        samples_key(r): save_grid(
            load_run(r["run_dir"]).sample(100, seed=0), f"{stem}-{samples_key(r)}.png", nrow=10
        )
        for r in summary["results"][1:]
    }
    return {
        **others,
        "samples": save_grid(run.sample(100, seed=0), f"{stem}-samples.png", nrow=10),
        "neighbours": save_neighbours(run, f"{stem}-neighbours.png", rows=6, cols=6, seed=0),
        "curve": plot_curve(summary["results"], summary["real"]["mean"],
                            Path(f"{stem}-parzen-curve.png")),
    }


def render(path: Path, out: Path) -> int:
    """Rewrite the doc from a saved table1.json (the run's, or tests/data/benchmarks/table1.json)
    after a change to the doc's wording or to table1_recipes.json, without training again. The
    numbers are the saved ones; the rendering command is stated."""
    summary = json.loads(path.read_text())
    summary["rendered_by"] = "python " + " ".join(sys.argv)
    summary.setdefault("quick", "--quick" in summary["argv"])
    summary["machine"] = summary.get("machine") or machine()  # older summaries: this machine
    if "date" not in summary:  # older summaries: the file's time is when the run finished
        stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime)
        summary["date"] = stamp.isoformat(timespec="seconds")
    configs = [run_config(r) for r in summary["results"]]
    write_doc(out, render_doc(summary, configs, pictures(summary, out)))
    return 0


def run_config(result: dict[str, Any]) -> Config:
    """A saved result's config: its run folder's, or, once that folder is gone (a fresh
    checkout, where tests/data/benchmarks/table1.json keeps the results), the shipped file of
    that name. The pictures are then the ones already beside the doc."""
    run = Path(result["run_dir"])
    if run.exists():
        return load_run(run).config
    return load_config(REPO / "configs" / f"{result['name']}.yaml")


if __name__ == "__main__":
    sys.exit(main())
