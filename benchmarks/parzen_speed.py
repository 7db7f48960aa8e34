"""Time gankit's Parzen-window evaluation at the paper's full size and record it.

Protocol (Goodfellow et al. 2014, parzen_ll.py), as `gankit.metrics.evaluate` runs it: 10,000
samples as kernel centres, sigma chosen on the first 1,000 validation images, 10,000 test images
scored, D = 784. As the "samples" this uses the first 10,000 MNIST training images, so the result
doubles as a check against the real-data figure in shared/notes/baselines.md (241.2 +- 2.1 nats,
sigma 0.167).

    python benchmarks/parzen_speed.py [--repeats 3] [--out docs/results/parzen_speed.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from common import header, machine, now, table, write_doc
from gankit.data import load_mnist
from gankit.metrics.evaluate import PARZEN_VALID_POINTS
from gankit.metrics.parzen import parzen_evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="docs/results/parzen_speed.md")
    args = parser.parse_args()

    # The centres, validation and test points of `evaluate_samples`; parzen_evaluate is called
    # directly so that the timing is the estimate's alone, without loading the data.
    samples = load_mnist("train", args.data_dir)[0][:10000]
    valid = load_mnist("valid", args.data_dir)[0][:PARZEN_VALID_POINTS]
    test = load_mnist("test", args.data_dir)[0]

    load_before = os.getloadavg()[0]
    times, cpu_times = [], []
    for i in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = parzen_evaluate(samples, valid, test)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        print(f"run {i + 1}: {times[-1]:.2f} s wall, {cpu_times[-1]:.2f} s CPU  mean "
              f"{result['mean']:.1f} +- {result['stderr']:.1f}  sigma {result['sigma']:.3f}")

    grid = ", ".join(f"{s:.3f}: {v:.1f}" for s, v in zip(result["sigmas"],
                                                         result["valid_mean_ll"], strict=True))
    top = header("Parzen-window evaluation speed", f"python {' '.join(sys.argv)}", now(),
                 machine(),
                 [f"Load average (1 min) before / after: {load_before:.2f} / "
                  f"{os.getloadavg()[0]:.2f} (well above 0 means other jobs shared the cores and "
                  "the wall times are inflated; with one thread, the CPU time is close to what "
                  "the run takes on one idle core)"])
    rows = [
        [f"wall time, whole evaluation (sigma search + test), {args.repeats} runs",
         f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"],
        ["CPU time of this process (all threads), median",
         f"{statistics.median(cpu_times):.2f} s"],
        ["target", "< 10 s on 2 cores"],
        ["test log-likelihood",
         f"{result['mean']:.1f} +- {result['stderr']:.1f} nats (stderr = std / sqrt(n))"],
        ["selected sigma", f"{result['sigma']:.4f}"],
        ["shared/notes/baselines.md, same protocol on the same images",
         "241.2 +- 2.1 nats, sigma 0.167"],
    ]
    nl = "\n"
    text = f"""{nl.join(top)}

Protocol (Goodfellow et al. 2014, the authors' parzen_ll.py): 10,000 centres (here the first
10,000 MNIST training images), sigma chosen from numpy.logspace(-1, 0, 10) on the first 1,000
validation images, all 10,000 test images scored, D = 784, float64 throughout.

{nl.join(table(["what", "value"], rows))}

Validation mean log-likelihood per sigma: {grid}.

How: squared distances come from one float64 matrix product per batch of 1,000 points
(||x||^2 + ||mu||^2 - 2 x.mu) and are reused for all 10 sigmas; log-sum-exp in float64. Kernel
terms whose exp rounds to 0 are set to -inf before exp (the CPU math library's exp is several
times slower on underflowing inputs, and at the small sigmas most terms underflow): the same
numbers, bit for bit.
"""
    write_doc(args.out, text)


if __name__ == "__main__":
    main()
