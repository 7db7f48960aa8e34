"""docs/results/speed.md from benchmarks/speed.py's measurements: the goal check of issue 15,
one table per config, the threads and evaluation sections and the notes on each option.

Only formatting and verdicts live here (no measuring), so `speed.py --render-only` and the
tests can rebuild the page from a saved speed.json.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from common import MARGIN_SE, Row, goal_check

OTHER_MASKS = ("fast_dropout", "joint_d_pass")  # variants whose dropout masks differ
GOALS = {"mlp_gemm_limit": 0.90, "dcgan_speedup": 1.5, "feature_eval_s": 10.0, "parzen_s": 5.0}


def _row(r: dict[str, Any]) -> str:
    return (f"| {r['variant']} | {r['threads']} | {r['images_per_s']:,.0f} | "
            f"{r['iteration_s'] * 1e3:.1f} | {r['gflops_per_s']:.1f} | {r['peak_ratio']:.0%} | "
            f"{r['gemm_limit_ratio']:.0%} | {r['reference_images_per_s']:,.0f} | "
            f"{r['speedup_vs_reference']:.2f}x | {r['same_rounds']['speedup']:.2f}x |")


def shares_table(rows: list[dict[str, Any]]) -> list[str]:
    """Where each variant's iteration spends its CPU time (results saved before time_shares was
    measured have none, and get no table)."""
    if not all(r.get("time_shares") for r in rows):
        return []
    kinds = list(rows[0]["time_shares"])
    return ["Where the time goes (share of the iteration's self CPU time, torch.profiler; "
            "everything but the matrix products separates an iteration from its GEMM limit):",
            "", "| variant | " + " | ".join(kinds) + " |", "|" + "---|" * (len(kinds) + 1),
            *(f"| {r['variant']} | " + " | ".join(f"{r['time_shares'][k]:.0%}" for k in kinds)
              + " |" for r in rows), ""]


def shares_text(r: dict[str, Any]) -> str:
    """What the best variant spends besides matrix products, from its time_shares."""
    shares = r.get("time_shares")
    if not shares:
        return ""
    rest = ", ".join(f"{kind} {share:.0%}" for kind, share in shares.items()
                     if kind != "matrix products")
    return (f". In that variant the profiler counts {shares['matrix products']:.0%} of the self "
            f"CPU time in matrix products and the rest in: {rest}")


def reference_text(fast: dict[str, Any], shipped: dict[str, Any]) -> str:
    """Met only when the float32 options lead the reference loop (1.00x) by more than two
    standard errors of the per-round speed-ups (target_text)."""
    met, spread = target_text(fast["speedup_vs_reference"], fast.get("speedup_vs_reference_se"),
                              1.0, percent=False)
    return (f"{'**met**' if met else '**not met**'} with the float32 options "
            f"({fast['variant']}: {spread}), as shipped {shipped['speedup_vs_reference']:.2f}x")


def target_text(value: float, se: float | None, target: float, percent: bool) -> tuple[bool, str]:
    """Is `value` above `target` by more than two standard errors of its per-round ratios
    (common.goal_check)? The verdict, and the value with its spread and the margin it needed;
    results saved before the rounds' spread was recorded get no margin, and the text says so."""
    check = goal_check(value, se or 0.0, [Row("the goal", target)], digits=2)
    shown = f"{value:.0%}" if percent else f"{value:.2f}x"
    if se is None:
        return check.met, f"{shown}, no per-round spread saved with these results: no margin"
    needed = target + check.margin
    spread, needed_text = ((f"± {se * 100:.1f} points", f"{needed:.1%}") if percent
                           else (f"± {se:.2f}", f"{needed:.2f}x"))
    return check.met, f"{shown} {spread} over the rounds, needed more than {needed_text}"


def goal_lines(results: dict[str, list[dict[str, Any]]], ev: dict[str, Any]) -> list[str]:
    """One line per goal of issue 15 with its verdict and the numbers behind it."""
    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    lines = []
    if "mnist-paper" in results:
        paper = [r for r in results["mnist-paper"] if "bf16" not in r["variant"]]
        best = max(paper, key=lambda r: r["gemm_limit_ratio"])
        same = max((r for r in paper if not any(k in r["variant"] for k in OTHER_MASKS)),
                   key=lambda r: r["gemm_limit_ratio"])
        masks = ("; its dropout masks are other draws of the same distribution, so its results "
                 "are not the default's; best with the default masks "
                 f"({same['variant']}) {same['gemm_limit_ratio']:.0%}"
                 if best is not same else "")
        met, spread = target_text(best["gemm_limit_ratio"], best.get("gemm_limit_ratio_se"),
                                  GOALS["mlp_gemm_limit"], percent=True)
        lines.append(
            f"- paper MLP step at >= 90 % of its GEMM limit: "
            f"{verdict(met)} — best float32 variant ({best['variant']}) {spread}{masks}; as shipped "
            f"{paper[0]['gemm_limit_ratio']:.0%} (issue 15 measured 57–62 % before this work)"
            + shares_text(best))
    for name in ("mnist-dcgan", "mnist-cdcgan"):
        if name not in results:
            continue
        shipped = results[name][0]
        # The goal is the same cores' work done faster: rows with more threads than the
        # shipped config are reported beside it, not counted.
        same_cores = [r for r in results[name] if r["threads"] <= shipped["threads"]]
        fast = max((r for r in same_cores[1:] if "bf16" not in r["variant"]),
                   key=lambda r: r["same_rounds"]["speedup"])
        bf16 = max((r for r in same_cores if "bf16" in r["variant"]),
                   key=lambda r: r["same_rounds"]["speedup"])
        f_up, b_up = fast["same_rounds"]["speedup"], bf16["same_rounds"]["speedup"]
        more = [r for r in results[name] if r["threads"] > shipped["threads"]]
        cores = "".join(
            f"; with {r['threads']} threads ({r['variant']}) {r['same_rounds']['speedup']:.2f}x,"
            f" not counted: {r['threads']} threads against the shipped config's {shipped['threads']}"
            for r in more)
        f_met, f_spread = target_text(f_up, fast["same_rounds"].get("speedup_se"),
                                      GOALS["dcgan_speedup"], percent=False)
        b_met, _ = target_text(b_up, bf16["same_rounds"].get("speedup_se"),
                               GOALS["dcgan_speedup"], percent=False)
        lines.append(
            f"- {name} >= 1.5x the shipped images/s: float32 options "
            f"{verdict(f_met)} ({fast['variant']}: {f_spread}"
            f"{ceiling_text(fast) if not f_met else ''}); with bf16 autocast "
            f"{verdict(b_met)} ({b_up:.2f}x){cores}")
        lines.append(f"- {name} ahead of the reference loop: " + reference_text(fast, shipped))
    lines.append("- 10,000-sample FD/KID/PR/DC in under 10 s: "
                 + time_verdict(ev["features"], GOALS["feature_eval_s"]))
    lines.append("- Parzen (10,000 samples) in under 5 s: "
                 + time_verdict(ev["parzen"], GOALS["parzen_s"]))
    return lines


def ceiling_text(fast: dict[str, Any]) -> str:
    """How far the fastest float32 variant, short of the goal, could go with these kernels:
    its matrix products and convolutions alone (its GEMM limit) against the shipped iteration,
    i.e. its x shipped divided by its GEMM-limit ratio. Below the goal, no removal of
    element-wise work, Python or copies reaches it; only faster convolutions (or fewer FLOPs)
    would."""
    ceiling = fast["same_rounds"]["speedup"] / fast["gemm_limit_ratio"]
    below = ceiling < GOALS["dcgan_speedup"]
    return (f"; its matrix products and convolutions alone take {fast['gemm_limit_ratio']:.0%} "
            f"of its iteration, so with all other work removed it would reach {ceiling:.2f}x"
            + (", still short of the goal: the float32 convolutions themselves are the limit"
               if below else ""))


def time_verdict(timing: dict[str, Any], target_s: float) -> str:
    """Met when the mean wall time of the repeats is below `target_s` by more than two standard
    errors: on shared cores a median just under the target could be noise."""
    runs = timing.get("wall_s") or [timing["median_s"]]
    mean = statistics.fmean(runs)
    se = statistics.stdev(runs) / math.sqrt(len(runs)) if len(runs) > 1 else 0.0
    met = mean + MARGIN_SE * se < target_s
    return (f"{'**met**' if met else '**not met**'} (median {timing['median_s']:.1f} s; mean "
            f"{mean:.2f} ± {se:.2f} s over {len(runs)} runs, needed mean + {MARGIN_SE:g} "
            f"standard errors < {target_s:g} s)")


def thread_lines(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Rows that differ only in train.threads, as a ratio measured in the same rounds."""
    def options(r: dict[str, Any]) -> frozenset[str]:
        return frozenset(o for o in r["overrides"] if not o.startswith("train.threads="))

    lines = []
    for name, rows in results.items():
        for more in rows:
            fewer = [r for r in rows if options(r) == options(more)
                     and r["threads"] < more["threads"]]
            for r in fewer:
                ratio = more["same_rounds"]["speedup"] / r["same_rounds"]["speedup"]
                lines.append(f"- {name}: {more['threads']} threads ({more['variant']}) against "
                             f"{r['threads']} ({r['variant']}): {ratio:.2f}x the images/s")
    if not lines:
        return []
    return ["## Threads", "",
            "Rows that differ only in the thread count, from the same rounds (a busy core stalls",
            "every parallel region of the other, so under other jobs a second thread can lose):",
            "", *lines, ""]


def peak_text(results: dict[str, list[dict[str, Any]]]) -> str:
    """Whether float32 rows beat the matrix-product peak (oneDNN's convolutions can: on some
    CPUs MKL's sgemm does not use every vector unit that oneDNN does)."""
    over = [(name, r) for name, rows in results.items() for r in rows
            if "bf16" not in r["variant"] and r["peak_ratio"] > 1.0]
    if not over:
        return ""
    name, r = max(over, key=lambda nr: nr[1]["peak_ratio"])
    return (f" Here float32 rows exceeded it too (up to {r['peak_ratio']:.0%}, {name}, "
            f"{r['variant']}): the peak is MKL's matrix product, and on this CPU the "
            "convolutions (oneDNN) ran faster than it.")


def write_report(path: Path, results: dict, ev: dict, meta: dict[str, Any]) -> None:
    """speed.md from the measurements and `meta` (command, date, minutes, load, machine: what
    main() saves beside them in speed.json, so --render-only can write the same page)."""
    first = next(iter(results.values()))[0]
    m, load = meta["machine"], meta["load"]
    text = [
        "# Training and evaluation speed",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['started']}, {meta['minutes']:.1f} minutes  ",
        f"Machine: {m['cpu']} ({m['cpu_capability']}; bfloat16 "
        f"{'native' if m['cpu_native_bf16'] else 'not native'}), {m['cpu_count']} cores, "
        f"{m['platform']}, torch {first['torch']}  ",
        f"Load average (1 min) before / after: {load[0]:.1f} / {load[1]:.1f} (above 0, other "
        "jobs shared the cores: absolute times are inflated, ratios measured in one run are not)",
        "",
        "Each row is one `gankit bench speed` run (`benchmarks/speed.py` calls the same function):",
        "a warm-up, then interleaved rounds of the training iteration, its GEMM limit (the",
        "iteration's own matrix products and convolutions replayed alone at their shapes), large",
        "fp32 matrix products (the peak, same threads) and a tutorial-style loop of the same nets",
        "(the reference); medians. *x shipped* comes from a separate measurement in which the",
        "variants of a config alternate within the same rounds (`gankit.bench.compare`), so the",
        "load's drift between two bench runs does not enter it. `speed.json` beside this file has",
        "every number. The peak is the float32 rate, so bf16 rows can exceed 100 % of it."
        + peak_text(results),
        "",
        "## Goal check (issue 15)",
        "",
        *goal_lines(results, ev),
        "",
    ]
    header = ("| variant | threads | images/s | ms/iteration | GFLOP/s | of peak | of GEMM limit "
              "| reference images/s | x reference | x shipped (same rounds) |")
    for name, rows in results.items():
        r0 = rows[0]
        text += [f"## {name}", "",
                 f"{r0['flops_per_iteration'] / 1e9:.2f} GFLOP per iteration "
                 f"({r0['flops_per_image'] / 1e6:.1f} MFLOP per real image), {r0['gemm_calls']} "
                 f"matrix products and convolutions, batch {r0['batch_size']}; the reference loop "
                 f"{r0['reference_flops_per_iteration'] / 1e9:.2f} GFLOP per iteration; "
                 f"fp32 matmul peak {r0['matmul_peak_gflops']:.0f} GFLOP/s as shipped "
                 f"({r0['threads']} thread{'s' if r0['threads'] > 1 else ''}).",
                 "", header, "|" + "---|" * 10]
        text += [_row(r) for r in rows]
        text += ["", *shares_table(rows)]
    text += thread_lines(results)
    feat, parzen = ev["features"], ev["parzen"]
    text += [
        "## Evaluation",
        "",
        f"10,000 samples (the first 10,000 MNIST training images), {ev['threads']} threads. The "
        f"MNIST classifier was loaded beforehand ({ev['classifier_load_s']:.2f} s; it is trained "
        "once and cached in the user cache), and the features are extracted afresh in each run. "
        "CPU s is the process's CPU time, both threads together.",
        "",
        "| what | wall s (median) | wall s, each run | CPU s, each run |",
        "|---|---|---|---|",
        f"| FD, KID, precision/recall, density/coverage (gankit classifier) | {feat['median_s']:.2f} "
        f"| {', '.join(f'{s:.2f}' for s in feat['wall_s'])} | "
        f"{', '.join(f'{s:.2f}' for s in feat['cpu_s'])} |",
        f"| Parzen (Goodfellow et al. 2014 protocol) | {parzen['median_s']:.2f} | "
        f"{', '.join(f'{s:.2f}' for s in parzen['wall_s'])} | "
        f"{', '.join(f'{s:.2f}' for s in parzen['cpu_s'])} |",
        "",
        f"Values: FD {feat['metrics']['fid']:.3f}, precision {feat['metrics']['precision']:.3f}, "
        f"recall {feat['metrics']['recall']:.3f}; Parzen {parzen['metrics']['parzen']:.1f} nats "
        "(real training images against the test set: the floor of each metric).",
        "",
    ]
    path.write_text("\n".join(text) + NOTES.replace("{bf16_here}", bf16_here(results, m)))


def bf16_here(results: dict, m: dict) -> str:
    """What bf16 autocast did on this CPU: each bf16 row against the row with the same options
    in float32, both from the same rounds."""
    parts = []
    for name, rows in results.items():
        by_variant = {r["variant"]: r for r in rows}
        for r in rows:
            fp32 = by_variant.get(r["variant"].replace(", amp=bf16", ""))
            if "amp=bf16" in r["variant"] and fp32 is not None and fp32 is not r:
                ratio = r["same_rounds"]["speedup"] / fp32["same_rounds"]["speedup"]
                parts.append(f"{name} {ratio:.2f}x")
    native = "has" if m["cpu_native_bf16"] else "lacks"
    return (f"this CPU {native} them; bf16 against the same options in float32, same rounds: "
            + (", ".join(parts) if parts else "no bf16 row measured"))


NOTES = """
## What the options do, and what did not help

- `train.channels_last` keeps convolution weights and activations in NHWC, the layout oneDNN
  computes in, so no layer reorders its input or output; batch norm also has a faster NHWC
  kernel on the CPU. Results differ by float32 rounding (other summation orders). The DCGAN
  nets keep one layout throughout: G's projection (a view in NCHW order) is converted once
  before its first convolution, and D reads its last map in its own (H, W, C) order against
  reordered logit and embedding weights (nets/layers.py), because PyTorch's CPU kernels for
  element-wise backward passes and convolutions are several times slower when their inputs
  differ in layout (tests/test_speedups.py watches every operator of an iteration for that).
- `train.fused_optim` runs each optimiser step as one fused kernel (SGD, Adam) or a foreach
  loop (RMSprop). Fused SGD is bit-identical to the default (tests/test_speedups.py); fused Adam
  differs by rounding. Its share of an iteration is in the tables above (*where the time
  goes*): on the paper MLP (SGD with momentum over G's 2.5 million and D's 1.2 million
  parameters) it is one of the largest parts that are not matrix products, and fusing it
  only shortens it.
- `train.amp=bf16` runs the forward passes under bfloat16 autocast. On a CPU with bfloat16
  instructions (AVX-512 BF16, AMX) oneDNN's bf16 kernels outrun float32; on one without them
  each bf16 operation is computed through conversions to float32, and autocast only costs
  time ({bf16_here}). Results change by bfloat16 rounding (8-bit mantissa), more than float32
  tolerance, so it is an option to choose knowingly.
- `train.compile` (torch.compile) is not in this script's default plan: compiling G and D takes
  minutes on these 2 cores, longer than the rest of the benchmark. `--compile` adds it to every
  config. While building this it gained less on the DCGAN than channels-last and nothing on top
  of it, and lost on the paper MLP; on a GPU it is worth trying (benchmarks/gpu.sh).
- `train.gemm_image_convs` (train/fastops.py): oneDNN runs a transposed convolution with one
  output channel (the DCGAN generator's image layer) and the input gradient of a convolution
  with one input channel (the discriminator's first layer) several times slower than its other
  layers. With the option, those run as one matrix product onto the k x k patches and a `fold`
  that adds the patches up (the first layer's forward pass and weight gradient stay oneDNN's:
  the unfold that a matrix-product form needs there costs more than it saves). The same sums
  in another order: float32 rounding only, also in WGAN-GP's second-order gradients
  (tests/test_fastops.py). Matrix-product forms of the wide layers were 3-5x slower than oneDNN.
- The paper MLP's maxout layers take amax's exact gradient by a faster path (no tie: g times
  the winner mask, the mask written as floats by `>=`, which is faster than `==` to a bool mask
  that the product then converts; the bit-identity goldens pass).
- `train.fast_dropout` (train/fastops.py): PyTorch's CPU dropout draws each mask element with
  `bernoulli_`, one double-precision draw at a time from the Mersenne Twister; `torch.rand(...)
  < keep` draws the same distribution (keep probability exact to 2^-24) from the same global
  generator about four times faster. Seeded runs repeat and resumed runs continue bit for bit
  (the checkpoint saves that generator; tests/test_fastops.py), but the masks are other draws,
  so the results are not the default's, as bf16 rounding makes them not the default's: an
  option to choose knowingly. (numpy's PCG64 gives bits faster still, but outside the
  generator that checkpoints save.)
- `train.joint_d_pass` (objective gan with an MLP D, no minibatch std or spectral norm): D
  scores the real and the generated minibatch as one stacked minibatch, so each of D's weight
  gradients is one matrix product over both instead of two products and a sum, and D's
  element-wise layers run once on twice the rows. Without dropout this is float32 rounding
  (tests/test_fastops.py); with dropout each sample gets another mask (the draws come in
  another order), so, like fast_dropout, it changes the stream, not the distribution. It
  makes the iteration faster but can lower the GEMM-limit ratio: the limit replays the larger
  products, which run closer to the peak.
- What remains between the paper MLP step and its GEMM limit is spread thin: the masks
  (fewer with fast_dropout, not free), maxout's amax and winner mask over a 5-wide inner
  dimension, the optimiser's pass over 3.7 million parameters, a few hundred operator calls
  of Python and dispatcher per iteration, and the minibatch gather. A transposed
  (pieces, units) layout for maxout was no faster (the copy costs what the faster reductions
  save); torch.compile, which fuses the element-wise work, lost here (`train.compile` above).
- mnist-cdcgan counts more FLOPs per iteration than the reference loop because of Algorithm 1,
  not extra work in gankit's nets (the two loops run the same networks): gankit draws new noise
  for G's update, so G runs forward twice per iteration (once without a graph for D's update),
  where the reference reuses one G(z) but computes D's weight gradients in G's update and
  discards them. G's forward pass has the FLOPs of D's weight gradients plus those of G's
  projection layer: that layer is the difference. In time the extra forward pass costs more
  than its FLOPs say, since G's image layer is one of oneDNN's slow cases; that is where
  gemm_image_convs gains most (the reference loop runs the plain layers).
- The tutorial-style reference loop is no slouch on these small networks: the data are
  tensors already (a DataLoader over single images costs little beside the step), and it does
  about as many FLOPs per image as gankit (it reuses one G(z) for both updates where Algorithm 1
  draws new noise for G's update, but computes D's weight gradients in G's update and throws
  them away). So the two run at about the same rate with the same kernels, and the ratio moves
  by several per cent between runs on a loaded machine (compare the x reference column of
  rows that should not differ).
- Evaluation keeps its numbers bit for bit (the eval goldens of tests/test_bit_identity.py):
  Parzen raises kernel terms below exp(-708) to exp(-708) before the exp (the math library's
  exp takes a slow path for every input whose result is subnormal or 0, and for -inf; at the
  small sigmas most terms are there; each row's sum is at least 1, so terms that small leave it
  as it was), converts the test points to float64 one batch at a time, reuses its distance
  buffers and runs everything after the matrix product over blocks of rows that stay in cache
  (the sigmas reuse a block instead of streaming the whole batch once each); the MNIST classifier pools by four strided maxima at inference
  (PyTorch's CPU max_pool2d in this layout also computes indices); precision/recall and
  density/coverage count ball memberships as matrix-vector products of 0/1 floats instead of
  summing bool matrices; KID computes the element-wise cube, most of its time, on one
  triangle of each symmetric within-set kernel and mirrors it.
- `train.threads` is a config key, not a speed option: the DCGAN configs and the ring ship
  with one thread, the paper MLP with two. The *Threads* section above compares the counts as
  measured in this run.
"""


def read_saved(path: Path) -> dict[str, Any]:
    """A speed.json that --render-only can render; one line saying why not otherwise."""
    if not path.is_file():
        sys.exit(f"speed.py: {path} does not exist; measure first (without --render-only)")
    saved = json.loads(path.read_text())
    if "meta" not in saved:
        sys.exit(f"speed.py: {path} was written before speed.json kept its command, date and "
                 "machine, so the page cannot name them; measure again (without --render-only)")
    return saved

