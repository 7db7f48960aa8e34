"""Training and evaluation speed on this machine, with and without gankit's speed options.

    python benchmarks/speed.py --data-dir ../shared/data/mnist      # 6-9 minutes on 2 cores
    python benchmarks/speed.py --compile                            # adds train.compile (slow)

For each shipped MNIST config (mnist-paper, mnist-dcgan, mnist-cdcgan) and the ring, runs
`gankit.bench.speed.bench_speed` (what `gankit bench speed` prints) on the config as shipped and
with the speed options of `train:`; then times a 10,000-sample evaluation: Fréchet distance, KID,
precision/recall and density/coverage on gankit's MNIST classifier, and the Parzen protocol of
Goodfellow et al. (2014), with the first 10,000 MNIST training images as the samples.
Writes speed.json and, through speed_report.py, docs/results/speed.md (with a goal check per
goal of issue 15) beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from gankit.bench.compare import compare_steps
from gankit.bench.speed import bench_speed, machine_info
from gankit.config import load_config
from speed_report import read_saved, write_report

ROOT = Path(__file__).resolve().parents[1]
FP32 = ["train.fused_optim=true"]  # options that change results by float32 rounding only
CONV_FP32 = ["train.channels_last=true", *FP32]
GEMM = ["train.gemm_image_convs=true"]  # float32 rounding only, too
# Other dropout masks (same distribution, other stream; the ring has no dropout): not the
# default results, so the goal check names the best variant without them as well.
MLP = ["train.joint_d_pass=true", "train.fast_dropout=true"]
BF16 = ["train.amp=bf16"]
ONE = ["train.threads=1"]
TWO = ["train.threads=2"]  # both cores: more compute than the shipped DCGANs use
# (config, [(variant, overrides)]): "as shipped" first; "x shipped" divides by it.
PLAN: list[tuple[str, list[tuple[str, list[str]]]]] = [
    ("mnist-paper", [("as shipped (2 threads)", []), ("1 thread", ONE),
                     ("1 thread, fused_optim", ONE + FP32),
                     ("1 thread, fused_optim, joint_d_pass, fast_dropout", ONE + FP32 + MLP),
                     ("1 thread, fused_optim, amp=bf16", ONE + FP32 + BF16)]),
    ("mnist-dcgan", [("as shipped", []), ("channels_last, fused_optim", CONV_FP32),
                     ("channels_last, fused_optim, gemm_image_convs", CONV_FP32 + GEMM),
                     ("channels_last, fused_optim, gemm_image_convs, amp=bf16",
                      CONV_FP32 + GEMM + BF16),
                     ("channels_last, fused_optim, gemm_image_convs, 2 threads",
                      CONV_FP32 + GEMM + TWO)]),
    ("mnist-cdcgan", [("as shipped", []), ("channels_last, fused_optim", CONV_FP32),
                      ("channels_last, fused_optim, gemm_image_convs", CONV_FP32 + GEMM),
                      ("channels_last, fused_optim, gemm_image_convs, amp=bf16",
                       CONV_FP32 + GEMM + BF16),
                      ("channels_last, fused_optim, gemm_image_convs, 2 threads",
                       CONV_FP32 + GEMM + TWO)]),
    ("ring8", [("as shipped", []), ("fused_optim", FP32),
               ("fused_optim, joint_d_pass", FP32 + MLP[:1])]),
]


def run_benches(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """bench_speed for every variant of every config, then the variants of each config
    against each other in the same rounds (compare_steps): the "x shipped" column."""
    results: dict[str, list[dict[str, Any]]] = {}
    for name, variants in PLAN:
        if name not in args.configs:
            continue
        if args.compile:
            variants = [*variants, ("compile", ["train.compile=true"])]
        extra = [f"data.dir={args.data_dir}"] if args.data_dir and name != "ring8" else []
        configs = [load_config(ROOT / "configs" / f"{name}.yaml", [*overrides, *extra])
                   for _, overrides in variants]
        results[name] = []
        for (label, overrides), cfg in zip(variants, configs, strict=True):
            start = time.perf_counter()
            r = bench_speed(cfg, rounds=args.rounds, round_seconds=args.round_seconds)
            r.update(variant=label, overrides=overrides, bench_s=time.perf_counter() - start)
            print(f"{name} [{label}]: {r['images_per_s']:.0f} images/s, "
                  f"{r['gemm_limit_ratio']:.0%} of the GEMM limit, {r['peak_ratio']:.0%} of peak, "
                  f"{r['speedup_vs_reference']:.2f}x reference ({r['bench_s']:.0f} s)", flush=True)
            results[name].append(r)
        same_rounds = compare_steps(configs, rounds=args.rounds, round_seconds=args.round_seconds)
        for r, c in zip(results[name], same_rounds, strict=True):
            r["same_rounds"] = c
        ups = ", ".join(f"{c['speedup']:.2f}" for c in same_rounds)
        print(f"{name}: x shipped in the same rounds: {ups}", flush=True)
    return results


def time_evaluation(data_dir: str | None, repeats: int) -> dict[str, Any]:
    """Wall and CPU seconds of the feature metrics and of Parzen on 10,000 samples."""
    from gankit.data import load_mnist
    from gankit.metrics.classifier import load_mnist_classifier
    from gankit.metrics.evaluate import evaluate_samples
    from gankit.metrics.features import clear_feature_cache

    samples = load_mnist("train", data_dir)[0][:10000]
    start = time.perf_counter()
    classifier = load_mnist_classifier(data_dir=data_dir)  # trained once and cached; untimed
    out: dict[str, Any] = {"classifier_load_s": time.perf_counter() - start,
                           "threads": torch.get_num_threads()}
    for key, metrics in (("features", ["fid", "kid", "pr", "dc"]), ("parzen", ["parzen"])):
        wall, cpu = [], []
        for _ in range(repeats):
            clear_feature_cache()  # each repeat extracts the features again
            w0, c0 = time.perf_counter(), time.process_time()
            result = evaluate_samples(samples, metrics, data_dir, classifier, n=10000)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        out[key] = {"wall_s": wall, "cpu_s": cpu, "median_s": statistics.median(wall),
                    "metrics": result["metrics"]}
        print(f"evaluation {key}: median {out[key]['median_s']:.2f} s wall", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: gankit's)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-seconds", type=float, default=0.5)
    parser.add_argument("--eval-repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also measure train.compile")
    parser.add_argument("--configs", nargs="+", default=[name for name, _ in PLAN],
                        choices=[name for name, _ in PLAN], help="default: all")
    parser.add_argument("--out", default=str(ROOT / "docs/results/speed.md"))
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the page from the JSON beside --out; measure nothing")
    args = parser.parse_args()
    out = Path(args.out)
    if args.render_only:
        saved = read_saved(out.with_suffix(".json"))
        write_report(out, saved["train"], saved["evaluation"], saved["meta"])
        print(f"wrote {out} from {out.with_suffix('.json')}")
        return

    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_before, t0 = os.getloadavg()[0], time.perf_counter()
    results = run_benches(args)
    ev = time_evaluation(args.data_dir, args.eval_repeats)
    meta = {"command": f"python {' '.join(sys.argv)}", "started": started,
            "minutes": (time.perf_counter() - t0) / 60,
            "load": [load_before, os.getloadavg()[0]], "machine": machine_info()}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(out, results, ev, meta)
    out.with_suffix(".json").write_text(json.dumps({"train": results, "evaluation": ev,
                                                    "meta": meta}, indent=1) + "\n")
    print(f"wrote {out} and {out.with_suffix('.json')} in {meta['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
