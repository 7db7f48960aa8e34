"""`gankit bench speed CONFIG`: how fast a config trains on this machine, and how close to the limit.

The measuring is `gankit.bench.speed.bench_speed`; this file parses the command line and prints.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

SPEED_HELP = """\
Warm-up, then interleaved rounds of: the config's training iteration (Trainer.algorithm1_iteration
or simultaneous_iteration), its GEMM limit (the iteration's own matrix products and convolutions,
recorded at the dispatcher and replayed alone at their shapes), large square fp32 matrix products
(the machine's peak at the same thread count) and a tutorial-style reference loop of the same
networks. Medians over the rounds; every ratio compares numbers measured in this one run.

--json keys (a contract; times in seconds, rates per second):
  config, update, k, batch_size     the config's name and its schedule
  options                           the speed options of train: (compile, channels_last,
                                    fused_optim, amp, fast_dropout, gemm_image_convs,
                                    joint_d_pass) as the bench ran them
  device, threads, torch, machine   where it ran (machine: platform, cpu, cpu_count; gpu
                                    on CUDA)
  date, load_average                when; the 1-minute load before and after (others' jobs)
  rounds, iterations_per_round      the protocol
  iteration_s, iteration_s_all      median time of one iteration, and each round's
  images_per_iteration              real training images one iteration consumes (k x batch)
  images_per_s                      images_per_iteration / iteration_s
  flops_per_iteration               FLOPs of one iteration (torch.utils.flop_counter, forward
                                    and backward matrix products and convolutions)
  flops_per_image, gflops_per_s     per real image; achieved rate
  matmul_peak_gflops                fp32 matrix-product peak (max over 1024^2 and 2048^2)
  peak_ratio                        gflops_per_s / matmul_peak_gflops
  gemm_calls, gemm_limit_s          the iteration's matrix products and convolutions, and the
                                    median time they take replayed alone
  gemm_limit_ratio                  gemm_limit_s / iteration_s (1.0 = nothing but GEMMs)
  gemm_limit_ratio_se               its standard error over the interleaved rounds
  time_shares                       share of the iteration's self CPU time (torch.profiler)
                                    in matrix products, optimiser, random numbers and
                                    other work; null on a GPU
  reference_images_per_s            the tutorial-style loop (null with --no-reference)
  reference_iteration_s             (one G update and one D update on one minibatch)
  reference_flops_per_iteration     its FLOPs: it reuses one G(z) for both updates but also
                                    computes D's weight gradients in G's update
  speedup_vs_reference              images_per_s / reference_images_per_s
  speedup_vs_reference_se           its standard error over the interleaved rounds
  config_file, overrides            the command line's CONFIG and --set/--data-dir values
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure training speed",
                       description="Measure how fast gankit trains on this machine.")
    kinds = p.add_subparsers(dest="bench", metavar="WHAT")
    kinds.required = True
    s = kinds.add_parser("speed", help="images/s, FLOPs and ratios of a config's training step",
                         description=SPEED_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("config", help="YAML config file, e.g. configs/mnist-paper.yaml")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.channels_last=true")
    s.add_argument("--data-dir", help="MNIST folder (same as --set data.dir=DIR)")
    s.add_argument("--json", action="store_true", help="print one JSON object (keys above)")
    s.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    s.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    s.add_argument("--round-seconds", type=float, default=1.0,
                   help="about how long each workload runs per round (default 1.0)")
    s.add_argument("--no-reference", action="store_true", help="skip the reference loop")
    s.add_argument("--peak-sizes", default="1024,2048", metavar="N,N",
                   help="square matrix sizes timed for the peak (default 1024,2048)")


def speed_text(r: dict[str, Any]) -> str:
    """The result as the lines `gankit bench speed` prints without --json."""
    on = [k if v is True else f"{k}={v}" for k, v in r["options"].items()
          if v not in (False, None, "off")]
    lines = [
        f"{r['config']} ({r['update']}, k={r['k']}, batch {r['batch_size']}) on {r['device']}, "
        f"{r['threads']} threads, torch {r['torch']}; options: {', '.join(on) or 'none'}",
        f"  step        {r['images_per_s']:,.0f} images/s ({r['iteration_s'] * 1e3:.1f} ms per "
        f"iteration, median of {r['rounds']} rounds of {r['iterations_per_round']})",
        f"  FLOPs       {r['flops_per_iteration'] / 1e9:.3g} GFLOP per iteration "
        f"({r['flops_per_image'] / 1e6:.3g} MFLOP per image): {r['gflops_per_s']:.1f} GFLOP/s",
        f"  peak        {r['matmul_peak_gflops']:.0f} GFLOP/s fp32 matmul: "
        f"{r['peak_ratio']:.0%} of peak",
        f"  GEMM limit  {r['gemm_calls']} products/convolutions alone take "
        f"{r['gemm_limit_s'] * 1e3:.1f} ms: {r['gemm_limit_ratio']:.0%} of the limit",
    ]
    if r.get("time_shares"):
        lines.append("  time        " + ", ".join(f"{kind} {share:.0%}"
                                                  for kind, share in r["time_shares"].items()))
    if r["reference_images_per_s"] is not None:
        lines.append(f"  reference   {r['reference_images_per_s']:,.0f} images/s (tutorial loop): "
                     f"gankit {r['speedup_vs_reference']:.2f}x")
    load = r["load_average"]
    lines.append(f"  load        {load[0]:.1f} before, {load[1]:.1f} after (1-minute average)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from gankit.bench.speed import bench_speed
    from gankit.config import load_config

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    cfg = load_config(args.config, overrides)
    result = bench_speed(cfg, rounds=args.rounds, warmup=args.warmup,
                         round_seconds=args.round_seconds, reference=not args.no_reference,
                         peak_sizes=tuple(int(n) for n in args.peak_sizes.split(",")))
    result.update(config_file=str(args.config), overrides=overrides)
    print(json.dumps(result) if args.json else speed_text(result))
    return 0
