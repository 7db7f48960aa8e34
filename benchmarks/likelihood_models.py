"""The likelihood models the GAN paper compares itself with, beside its GANs: a VAE (Kingma &
Welling 2014) trained by gankit's loop (objective: vae, configs/mnist-vae.yaml), scored by its
exact bounds (ELBO, IWAE bound; gankit.metrics.likelihood), by the paper's Parzen protocol and by
gankit's sample metrics, next to the GAN rows of Table 1 read from the saved docs.

    python benchmarks/likelihood_models.py [--epochs 30] [--small-epochs 10] [--k 100]
    python benchmarks/likelihood_models.py --render runs/likelihood_models/likelihood_models.json

Three VAE rows, so that Parzen's ranking can be set against the likelihood's (Theis et al.
2016): the mnist-vae run after 1 epoch and after --epochs (the same run, resumed), and a VAE with
a 2-D latent space. Each is scored twice under Parzen and the sample metrics: on the decoder's
means (what `gankit sample` draws) and on binary samples drawn from them (the model's own
samples). No GAN is trained here: its numbers are read from docs/results/table1.md and
docs/results/dcgan.md. No PixelCNN (not built). The doc is written by likelihood_models_report.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import load_average, machine, now
from gankit.config import load_config
from gankit.data import load_mnist
from gankit.metrics.evaluate import evaluate_samples
from gankit.metrics.likelihood import binarize, likelihood_bounds
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.viz.grid import save_grid
from likelihood_models_report import gan_rows, render

REPO = Path(__file__).resolve().parents[1]
RESULTS = "likelihood_models.json"
METRICS = ["parzen", "fid", "pr"]
N_SAMPLES = 10_000  # the Parzen protocol's centres, and the sample metrics' n


def _epochs(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''}"


def train(cfg_overrides: list[str], run_dir: Path, epochs: int, resume: bool) -> float:
    """Train (or continue) a run to `epochs`; returns this process's CPU seconds spent."""
    cfg = load_config(REPO / "configs/mnist-vae.yaml",
                      [*cfg_overrides, f"train.epochs={epochs}", "train.threads=1",
                       "train.progress=false"])
    start = time.process_time()
    Trainer(cfg, run_dir, resume=resume).run()
    return time.process_time() - start


def score(run_dir: Path, test_bin: torch.Tensor, k: int, grid_prefix: Path | None,
          n: int = N_SAMPLES) -> dict:
    """Exact bounds on the binarised test set; Parzen, FD and precision/recall of the decoder's
    means and of binary samples drawn from them."""
    run = load_run(run_dir)
    out: dict[str, Any] = {"run_dir": str(run_dir), "epoch": run.epoch, "step": run.step,
                           "params": sum(p.numel() for net in run.nets.values()
                                         for p in net.parameters())}
    start = time.process_time()
    out["bounds"] = likelihood_bounds(run.nets["encoder"], run.generator, test_bin, k=k)
    out["bounds_cpu_s"] = time.process_time() - start
    means = run.sample(n, seed=0)
    binary = torch.bernoulli(means, generator=torch.Generator().manual_seed(1))
    for name, samples in (("means", means), ("binary", binary)):
        start = time.process_time()
        result = evaluate_samples(samples, METRICS, n=n)
        out[name] = {**result["metrics"], "protocol": result["protocol"],
                     "cpu_s": time.process_time() - start}
        if grid_prefix is not None:
            save_grid(samples[:100], f"{grid_prefix}-{name}.png", nrow=10)
    print(json.dumps({k_: v for k_, v in out.items() if k_ in ("bounds", "epoch")}), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the mnist-vae run")
    parser.add_argument("--small-epochs", type=int, default=10,
                        help="epochs of the VAE with a 2-D latent space")
    parser.add_argument("--k", type=int, default=100, help="importance samples of the IWAE bound")
    parser.add_argument("--runs-dir", default="runs/likelihood_models")
    parser.add_argument("--out", default=str(REPO / "docs/results/likelihood_models.md"))
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="rewrite the doc from saved results, without training")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 1 epoch each, 500 test images, K = 10")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.small_epochs, args.k = 2, 1, 10
    if args.render:
        summary = json.loads(Path(args.render).read_text())
        summary["rendered_by"] = f"python benchmarks/likelihood_models.py --render {args.render}"
        render(summary, Path(args.out))
        return 0
    torch.set_num_threads(1)
    runs = Path(args.runs_dir)
    results_dir = Path(args.out).parent
    x_test, _ = load_mnist("test")
    test_bin = binarize(x_test)  # one fixed binarisation (seed 0) for every model
    n = N_SAMPLES
    if args.quick:
        test_bin, n = test_bin[:500], 1000
    started = now()
    wall = time.perf_counter()
    models: list[dict[str, Any]] = []
    main_dir, small_dir = runs / "mnist-vae", runs / "mnist-vae-z2"
    cpu = train([], main_dir, 1, resume=False)
    models.append({"name": "VAE (mnist-vae) after 1 epoch", "key": "vae-1", "z_dim": 50,
                   "train_cpu_s": cpu, **score(main_dir, test_bin, args.k, None, n)})
    cpu += train([], main_dir, args.epochs, resume=True)
    models.append({"name": f"VAE (mnist-vae) after {_epochs(args.epochs)}", "key": "vae",
                   "z_dim": 50, "train_cpu_s": cpu,
                   **score(main_dir, test_bin, args.k,
                           results_dir / "likelihood_models-vae", n)})
    z2 = ["vae.z_dim=2", "name=mnist-vae-z2"]
    cpu = train(z2, small_dir, args.small_epochs, resume=False)
    models.append({"name": f"VAE, 2-D latent, after {_epochs(args.small_epochs)}", "key": "vae-z2",
                   "z_dim": 2, "train_cpu_s": cpu,
                   **score(small_dir, test_bin, args.k, results_dir / "likelihood_models-z2", n)})
    summary = {
        "date": started, "machine": machine(1), "load_average": load_average(),
        "command": " ".join(["python benchmarks/likelihood_models.py", *(argv or sys.argv[1:])]),
        "epochs": args.epochs, "small_epochs": args.small_epochs, "k": args.k,
        "n_test": len(test_bin), "n_samples": n, "cpu_s_total": time.process_time(),
        "wall_s_total": time.perf_counter() - wall, "models": models,
        "gan_rows": gan_rows(),  # Table 1's GAN rows as the saved docs give them today
    }
    runs.mkdir(parents=True, exist_ok=True)
    (runs / RESULTS).write_text(json.dumps(summary, indent=2))
    render(summary, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
