"""What a BiGAN's encoder learns about MNIST, against a plain autoencoder with the same networks.

Trains configs/mnist-bigan.yaml (objective bigan) and configs/mnist-autoencoder.yaml (the same
encoder and decoder, L2 reconstruction) for the same number of updates, one thread each, then
scores both on the MNIST test set:

- 1-NN accuracy: each test code E(x) takes the label of the nearest (Euclidean) code among the
  50,000 training images' codes (the training split the runs learned from);
- linear probe: multinomial logistic regression on the standardised codes, fitted (L-BFGS, full
  batch) on the training codes and scored on the test codes;
- reconstructions: the share of G(E(x)) that gankit's MNIST classifier puts in x's class.

Raw pixels get the first two scores too, as a scale. The results are saved as
RUNS/bigan.json and rendered into docs/results/bigan.md by bigan_report.py.

    python benchmarks/bigan.py [--steps 3000] [--runs-dir runs/bench-bigan]
        [--only PART] [--render-only] [--quick]

`--only PART` computes one part (bigan, autoencoder, pixels, untrained; processes can share the
work); a later call without it computes what is missing and writes the doc.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from bigan_report import render_doc
from common import load_average, machine, now, write_doc
from gankit.config import load_config
from gankit.data import load_mnist
from gankit.encode import encode, reconstruct
from gankit.metrics.classifier import load_mnist_classifier
from gankit.train.bigan import build_nets
from gankit.train.loop import Trainer, seed_everything
from gankit.train.run import load_run
from gankit.train.stopping import Interrupted
from gankit.viz.grid import save_grid

REPO = Path(__file__).resolve().parents[1]
MODELS = {"bigan": "configs/mnist-bigan.yaml", "autoencoder": "configs/mnist-autoencoder.yaml"}
PROBE_ITERS = 200  # L-BFGS iterations of the linear probe
PROBE_L2 = 1e-4  # its weight decay (on the standardised codes)


def one_nn_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                    test_y: torch.Tensor, chunk: int = 1000) -> float:
    """Share of test rows whose nearest training row (Euclidean) has the same label."""
    hits = 0
    for i in range(0, len(test), chunk):
        nearest = torch.cdist(test[i : i + chunk], train).argmin(dim=1)
        hits += int((train_y[nearest] == test_y[i : i + chunk]).sum())
    return hits / len(test)


def linear_probe_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                          test_y: torch.Tensor, n_classes: int = 10) -> float:
    """Logistic regression fitted on (train, train_y), its accuracy on (test, test_y)."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    a, b = (train - mean) / std, (test - mean) / std
    torch.manual_seed(0)
    w = torch.zeros(a.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], max_iter=PROBE_ITERS, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(a @ w + bias, train_y) + PROBE_L2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == test_y).float().mean())


@torch.no_grad()
def classifier_agreement(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of `images` gankit's MNIST classifier puts in the class `labels` says."""
    model = load_mnist_classifier(verbose=False)
    preds = torch.cat([model(images[i : i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return float((preds == labels).float().mean())


def train_model(name: str, steps: int, runs_dir: Path, resume: bool = False) -> dict[str, Any]:
    overrides = ["train.threads=1", "train.epochs=0", f"train.max_steps={steps}",
                 "train.progress=false", "train.log_every=500", f"name=bench-{name}"]
    cfg = load_config(REPO / MODELS[name], overrides)
    run_dir = runs_dir / name
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        Trainer(cfg, run_dir, resume=resume).run()
    except Interrupted:  # SIGTERM or Ctrl-C: the checkpoint was saved; score what it holds
        pass
    return {"config": MODELS[name], "overrides": overrides, "steps": load_run(run_dir).step,
            "train_cpu_s": time.process_time() - cpu, "train_wall_s": time.perf_counter() - wall}


def score_model(run_dir: Path, data: dict[str, torch.Tensor]) -> dict[str, Any]:
    cpu = time.process_time()
    run = load_run(run_dir)
    z_train, z_test = encode(run, data["train_x"]), encode(run, data["test_x"])
    recon = reconstruct(run, data["test_x"]).clamp(0, 1)
    return {
        "knn": one_nn_accuracy(z_train, data["train_y"], z_test, data["test_y"]),
        "probe": linear_probe_accuracy(z_train, data["train_y"], z_test, data["test_y"]),
        "recon_class": classifier_agreement(recon, data["test_y"]),
        "recon_mse": float(((recon - data["test_x"]) ** 2).mean()),
        "z_dim": z_test.shape[1],
        "eval_cpu_s": time.process_time() - cpu,
    }


@torch.no_grad()
def score_untrained(data: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The BiGAN run's encoder before its first update: the same seed and build order as the
    trainer, so this is the trained encoder's starting point (random features, as a scale)."""
    cpu = time.process_time()
    cfg = load_config(REPO / MODELS["bigan"])
    seed_everything(cfg.seed)
    E = build_nets(cfg, tuple(data["train_x"].shape[1:]), data["train_x"].mean(0))["encoder"]
    E.eval()
    z_train = torch.cat([E(data["train_x"][i : i + 1000]) for i in range(0, 50_000, 1000)])
    z_test = E(data["test_x"])
    return {
        "knn": one_nn_accuracy(z_train, data["train_y"], z_test, data["test_y"]),
        "probe": linear_probe_accuracy(z_train, data["train_y"], z_test, data["test_y"]),
        "eval_cpu_s": time.process_time() - cpu,
    }


def score_pixels(data: dict[str, torch.Tensor]) -> dict[str, Any]:
    cpu = time.process_time()
    flat = {k: data[k].reshape(len(data[k]), -1) for k in ("train_x", "test_x")}
    return {
        "knn": one_nn_accuracy(flat["train_x"], data["train_y"], flat["test_x"], data["test_y"]),
        "probe": linear_probe_accuracy(flat["train_x"], data["train_y"], flat["test_x"],
                                       data["test_y"]),
        "recon_class": classifier_agreement(data["test_x"], data["test_y"]),
        "eval_cpu_s": time.process_time() - cpu,
    }


def pictures(runs_dir: Path, data: dict[str, torch.Tensor], out_dir: Path) -> list[str]:
    """Test digits above the BiGAN's and the autoencoder's reconstructions; BiGAN samples."""
    x = data["test_x"][:12]
    rows = [x] + [reconstruct(load_run(runs_dir / m), x).clamp(0, 1) for m in MODELS]
    recon = save_grid(torch.cat(rows), out_dir / "bigan-reconstructions.png", nrow=12)
    samples = save_grid(load_run(runs_dir / "bigan").sample(60, seed=0),
                        out_dir / "bigan-samples.png", nrow=12)
    return [recon.name, samples.name]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3000, help="updates per model (default 3000)")
    p.add_argument("--runs-dir", default="runs/bench-bigan")
    p.add_argument("--only", choices=PARTS, help="compute this part of the results only")
    p.add_argument("--out", default=str(REPO / "docs/results/bigan.md"))
    p.add_argument("--render-only", action="store_true", help="re-render the doc from the JSON")
    p.add_argument("--quick", action="store_true", help="a 50-step smoke run")
    args = p.parse_args()
    torch.set_num_threads(1)
    runs_dir = Path(args.runs_dir)
    steps = 50 if args.quick else args.steps
    if args.only:
        part(args.only, steps, runs_dir)
        return
    results_file = runs_dir / "bigan.json"
    if not args.render_only:
        data = test_data()
        # Models are scored here, from their run folders, by this code (a part saved by a
        # `--only` process records the training).
        models = {m: {**part(m, steps, runs_dir), **score_model(runs_dir / m, data)}
                  for m in MODELS}
        results = {"steps": steps, "models": models, "pixels": part("pixels", steps, runs_dir),
                   "untrained": part("untrained", steps, runs_dir)}
        results["pictures"] = pictures(runs_dir, data, Path(args.out).parent)
        results.update(date=now(), machine=machine(threads=1), load=load_average(),
                       command=f"python benchmarks/bigan.py --steps {steps}")
        save(results_file, results)
    write_doc(args.out, render_doc(json.loads(results_file.read_text())))


PARTS = [*MODELS, "pixels", "untrained"]


def part(name: str, steps: int, runs_dir: Path) -> dict[str, Any]:
    """One part of the results, computed once and saved as RUNS/<part>.json (so parts can be
    computed by processes of their own, `--only PART`)."""
    file = runs_dir / f"{name}.json"
    if file.exists():
        return json.loads(file.read_text())
    if name in MODELS:
        result = run_one(name, steps, runs_dir)
    else:
        result = (score_pixels if name == "pixels" else score_untrained)(test_data())
    save(file, {**result, "machine": machine(threads=1), "load": load_average()})
    return json.loads(file.read_text())


def test_data() -> dict[str, torch.Tensor]:
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


def run_one(name: str, steps: int, runs_dir: Path) -> dict[str, Any]:
    """Train, or continue the run an earlier, stopped invocation left (a resume is bit-identical
    to a straight run, tests/test_bigan.py); that invocation's CPU time was not recorded."""
    run_dir = runs_dir / name
    earlier = (run_dir / "checkpoint.pt").exists()
    if earlier and load_run(run_dir).step >= steps:
        trained = {"config": MODELS[name], "steps": load_run(run_dir).step}
    else:
        trained = train_model(name, steps, runs_dir, resume=earlier)
    if earlier:
        trained.update(train_cpu_s=None, note="resumed from the checkpoint of an earlier, "
                       "stopped invocation, whose CPU time was not recorded")
    print(f"{name}: trained {trained['steps']} updates", flush=True)
    return {**trained, "target_steps": steps}


def save(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


if __name__ == "__main__":
    main()
