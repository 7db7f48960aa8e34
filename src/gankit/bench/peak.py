"""This machine's fp32 matrix-product peak: large square products, timed in the same process.

A product of two n x n matrices is 2 n^3 floating-point operations; at n = 1024 and 2048 the
BLAS library runs close to what the cores can do, so the faster of the two sizes stands for the
peak. It is timed with the same number of threads as the step, in the same rounds.
"""

from __future__ import annotations

import torch

from gankit.bench.timing import Workload

PEAK_SIZES = (1024, 2048)


def peak_workloads(sizes: tuple[int, ...], device: torch.device) -> list[Workload]:
    """One workload per size; a unit is one n x n product (into a preallocated output)."""
    works = []
    for n in sizes:
        g = torch.Generator().manual_seed(n)
        a = torch.rand(n, n, generator=g).to(device)
        b = torch.rand(n, n, generator=g).to(device)
        out = torch.empty(n, n, device=device)

        def run(units: int, a: torch.Tensor = a, b: torch.Tensor = b,
                out: torch.Tensor = out) -> None:
            for _ in range(units):
                torch.mm(a, b, out=out)

        works.append(Workload(f"matmul-{n}", run))
    return works


def peak_gflops(works: list[Workload], sizes: tuple[int, ...]) -> float:
    """The best size's median rate, in GFLOP/s."""
    return max(2 * n**3 / w.median / 1e9 for w, n in zip(works, sizes, strict=True))
