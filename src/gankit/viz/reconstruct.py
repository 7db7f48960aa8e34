"""Reconstructions of a run with an encoder: images x, and below each row of them G(E(x))."""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.encode import reconstruct
from gankit.errors import GankitError
from gankit.train.run import Run
from gankit.viz.grid import save_grid


def reconstruction_rows(run: Run, x: torch.Tensor, n: int, rows: int, seed: int = 0) -> torch.Tensor:
    """2 * rows * n images: `rows` pairs of rows, n digits of x drawn by `seed` above G(E(x))."""
    if n * rows > len(x):
        raise GankitError(f"{n * rows} digits asked for, {len(x)} available; lower --n or --rows")
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[: n * rows]
    chosen = x[pick]
    recon = reconstruct(run, chosen).clamp(0, 1)
    pairs = [torch.cat([chosen[r * n : (r + 1) * n], recon[r * n : (r + 1) * n]])
             for r in range(rows)]
    return torch.cat(pairs)


def save_reconstructions(run: Run, x: torch.Tensor, out: str | Path, n: int = 10, rows: int = 2,
                         seed: int = 0) -> Path:
    try:
        return save_grid(reconstruction_rows(run, x, n, rows, seed), out, nrow=n)
    except OSError as exc:
        raise GankitError(f"cannot write --out {out} ({exc.strerror}); choose another path") from None
