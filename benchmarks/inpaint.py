"""Inpainting MNIST (objective inpaint): a GAN completion net against an L2 completion net.

    nice -n 10 python benchmarks/inpaint.py                 # train (or reuse) both, evaluate
    python benchmarks/inpaint.py --cpu-minutes 1 --n 200    # a quick look
    python benchmarks/inpaint.py --render-only              # rewrite the doc from its JSON

Both models train from configs/mnist-inpaint.yaml under the same CPU budget (the process's own
time, one torch thread; the library's CpuBudget hook): the GAN as configured, the L2 baseline
with `inpaint.adversarial=false` (the same G, z fixed at 0, no D, trained with the mean squared
error of the hidden pixels; it takes more steps in the same time, having no D to update).
Evaluation, per mask kind, on the first --n MNIST test digits with one fixed mask each and --k
completions from different z: the share of completions gankit's MNIST classifier gives the
original's class, the diversity (mean pairwise L2 distance between the k completions of one
input, averaged over inputs), the mean squared error of the hidden pixels to the original, and
the share of hidden pixels that are grey (in [0.25, 0.75]): blur makes grey pixels. The results
go to docs/results/inpaint.json, beside the doc (the runs folder is not kept), and
inpaint_report.py renders docs/results/inpaint.md from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from common import load_average, machine, now, write_doc
from gankit.config import load_config
from gankit.data.mnist import load_mnist
from gankit.metrics.classifier import load_mnist_classifier
from gankit.train import run as runs
from gankit.train.hooks import CpuBudget
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.viz.inpaint import complete_many, run_masks, save_inpainting
from inpaint_report import render_doc

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "mnist-inpaint.yaml"
# The L2 baseline is the plain completion net whatever the GAN's recipe: the GAN's extra terms
# need noise and D, and z_every_layer only adds inputs that are 0 when z is fixed at 0.
MODELS = (("gan", []), ("l2", ["inpaint.adversarial=false", "inpaint.mode_seeking=0",
                               "inpaint.reconstruction=0", "inpaint.z_every_layer=false"]))
MASKS = ("top", "bottom", "left", "right", "quarter", "box")
PICTURES = ("top", "left", "box")
GREY = (0.25, 0.75)
RESULTS_FILE = "inpaint.json"


def train_model(key: str, extra: list[str], runs_dir: Path, cpu_minutes: float) -> dict:
    """Train one model under the CPU budget (or reuse a finished run); returns timing facts."""
    run_dir = runs_dir / key
    facts_file = run_dir / "benchmark.json"
    if runs.read_status(run_dir).get("finished") and facts_file.exists():
        print(f"[{key}] reusing the finished run {run_dir}", flush=True)
        return json.loads(facts_file.read_text())
    if run_dir.exists():
        shutil.rmtree(run_dir)  # an unfinished run: its budget clock is lost, start over
    overrides = ["train.progress=false", "train.threads=1", "train.max_steps=1000000", *extra]
    cfg = load_config(ROOT / "configs" / CONFIG, overrides)
    print(f"[{key}] training {CONFIG} {' '.join(extra)} for {cpu_minutes} CPU minutes", flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(cfg, run_dir, hooks=[CpuBudget(cpu_minutes * 60)])
    trainer.run()
    facts = {
        "overrides": extra,
        "cpu_minutes": (time.process_time() - cpu) / 60,
        "wall_minutes": (time.perf_counter() - wall) / 60,
        "g_steps": trainer.progress.g_steps,
        "epochs": trainer.progress.d_steps / trainer.batches_per_epoch,
        "g_params": sum(p.numel() for p in trainer.G.parameters()),
        "d_params": sum(p.numel() for p in trainer.D.parameters()) if trainer.D else 0,
        "budget_cpu_minutes": cpu_minutes,
    }
    facts_file.write_text(json.dumps(facts, indent=2))
    print(f"[{key}] done: {facts}", flush=True)
    return facts


def mean_se(values: torch.Tensor) -> tuple[float, float]:
    """The mean of per-input values and its standard error."""
    values = values.double()
    return values.mean().item(), (values.std() / len(values) ** 0.5).item()


@torch.no_grad()
def score(run, x: torch.Tensor, y: torch.Tensor, kind: str, k: int, classifier) -> dict:
    """One model on one mask kind: class kept, diversity, hidden MSE, grey share."""
    mask = run_masks(run, kind, len(x), seed=0)
    done = complete_many(run.generator, x, mask, k, torch.Generator().manual_seed(1))  # k x N ...
    pred = torch.stack([classifier(c).argmax(1) for c in done])  # k x N
    kept = (pred == y).float().mean(0)  # per input
    flat = done.flatten(2)  # k x N x pixels
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    diversity = torch.stack([(flat[i] - flat[j]).norm(dim=1) for i, j in pairs]).mean(0)
    hidden = mask.expand_as(x).flatten(1).bool()  # N x pixels
    n_hidden = hidden.sum(1).clamp_min(1)
    mse = (((flat - x.flatten(1)) ** 2) * hidden).sum(2).div(n_hidden).mean(0)
    grey = (((flat > GREY[0]) & (flat < GREY[1])) & hidden).sum(2).div(n_hidden).float().mean(0)
    return {"class_kept": mean_se(kept), "diversity": mean_se(diversity), "mse": mean_se(mse),
            "grey": mean_se(grey), "share_hidden": mask.mean().item()}


def reference(x: torch.Tensor, y: torch.Tensor, kind: str, run, classifier) -> dict:
    """What the classifier says of the originals and of the masked inputs (hidden pixels 0),
    and the grey share of the originals' hidden pixels."""
    mask = run_masks(run, kind, len(x), seed=0)
    blank = torch.where(mask.expand_as(x) > 0, torch.zeros_like(x), x)
    hidden = mask.expand_as(x).flatten(1).bool()
    flat = x.flatten(1)
    grey = (((flat > GREY[0]) & (flat < GREY[1])) & hidden).sum(1) / hidden.sum(1).clamp_min(1)
    with torch.no_grad():
        return {"original": mean_se((classifier(x).argmax(1) == y).float()),
                "masked": mean_se((classifier(blank).argmax(1) == y).float()),
                "grey": mean_se(grey.float())}


def training_log(runs_dir: Path) -> dict:
    """What each run's log says about training: health warnings and D's output on fakes."""
    out = {}
    for key, _ in MODELS:
        records = runs.read_metrics(runs_dir / key)
        out[key] = {
            "warnings": [[r["step"], w] for r in records for w in r.get("warnings") or []],
            "d_gz": [[r["step"], r["d_gz"]] for r in records if "d_gz" in r],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-minutes", type=float, default=4.0,
                        help="CPU minutes of training per model (default 4)")
    parser.add_argument("--runs-dir", default="runs/bench-inpaint", help="where the runs go")
    parser.add_argument("--out", default=str(ROOT / "docs/results/inpaint.md"))
    parser.add_argument("--n", type=int, default=1000, help="test digits per mask kind")
    parser.add_argument("--k", type=int, default=5, help="completions per digit")
    parser.add_argument("--render-only", action="store_true",
                        help=f"rewrite --out from {RESULTS_FILE} beside it (no training)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    runs_dir, out = Path(args.runs_dir), Path(args.out)
    results = out.parent / RESULTS_FILE
    if args.render_only:
        write_doc(out, render_doc(json.loads(results.read_text())))
        return 0
    torch.set_num_threads(1)
    eval_cpu = 0.0
    saved: dict = {"command": " ".join(["python benchmarks/inpaint.py", *argv]), "n": args.n,
                   "k": args.k, "masks": list(MASKS), "grey": list(GREY), "facts": {},
                   "results": {}, "reference": {}, "pictures": [],
                   "recipe": dataclasses.asdict(load_config(ROOT / "configs" / CONFIG).inpaint)}
    classifier = load_mnist_classifier()
    for key, extra in MODELS:
        saved["facts"][key] = train_model(key, extra, runs_dir, args.cpu_minutes)
    start = time.process_time()
    x, y = (t[: args.n] for t in load_mnist("test"))
    for key, _ in MODELS:
        run = load_run(runs_dir / key)
        saved["results"][key] = {}
        for kind in MASKS:
            saved["reference"].setdefault(kind, reference(x, y, kind, run, classifier))
            saved["results"][key][kind] = score(run, x, y, kind, args.k, classifier)
            print(f"[{key}] {kind}: {saved['results'][key][kind]}", flush=True)
        for kind in PICTURES:
            name = f"inpaint/{key}-{kind}.png"
            save_inpainting(run, out.parent / name, kind, rows=8, k=6, seed=0)
            saved["pictures"].append(name)
    eval_cpu += time.process_time() - start
    saved["training_log"] = training_log(runs_dir)
    saved.update(eval_cpu_minutes=eval_cpu / 60, date=now(),
                 machine=f"{machine(1)}; load average at the end "
                 + load_average("other jobs shared the cores; CPU budgets are per process, "
                                "so they are unaffected"))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(saved, indent=2) + "\n")
    write_doc(out, render_doc(saved))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
