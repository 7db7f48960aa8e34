"""2-D Gaussian-mixture benchmarks of PacGAN (Lin et al. 2018) and a 1-D Gaussian.

PacGAN's "2D-ring" is 8 modes on a circle of radius 1 with std 0.01, and its "2D-grid" is
25 modes at (2i-4, 2j-4), i, j in 0..4, with std 0.05 (Lin et al. 2018, following
VEEGAN, Srivastava et al. 2017).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.errors import GankitError

TOY_NAMES = ("ring", "grid")
DEFAULT_STD = {"ring": 0.01, "grid": 0.05}


def ring_means(modes: int = 8, radius: float = 1.0) -> Tensor:
    """Means of ``modes`` Gaussians evenly spaced on a circle: angle 2*pi*i/K, shape (K, 2)."""
    if modes < 1:
        raise GankitError(f"ring needs at least 1 mode, got modes={modes}; pass modes >= 1.")
    # 2*pi*i/K for i < K; linspace(0, 2*pi, K) would include both 0 and 2*pi, i.e. the same
    # point twice, leaving only K-1 distinct modes.
    angles = 2.0 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return means.float()


def grid_means(side: int = 5, spacing: float = 2.0) -> Tensor:
    """Means on a side×side grid centred on 0: (spacing*i - spacing*(side-1)/2, same for j)."""
    if side < 1:
        raise GankitError(f"grid needs side >= 1, got side={side}; pass a positive side.")
    coords = spacing * torch.arange(side, dtype=torch.float64) - spacing * (side - 1) / 2.0
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1).float()


def sample_mixture(means: Tensor, std: float, n: int, seed: int) -> Tensor:
    """``n`` points from an equal-weight isotropic Gaussian mixture, shape (n, D)."""
    if n < 1:
        raise GankitError(f"need n >= 1 samples, got n={n}.")
    if std < 0:
        raise GankitError(f"mixture std must be >= 0, got std={std}.")
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(means.shape[0], (n,), generator=generator)
    noise = torch.randn(n, means.shape[1], generator=generator)
    return (means[which] + std * noise).float()


def make_toy(
    name: str,
    n: int = 100_000,
    seed: int = 0,
    modes: int = 8,
    radius: float = 1.0,
    std: float | None = None,
    side: int = 5,
    spacing: float = 2.0,
) -> tuple[Tensor, Tensor, float]:
    """A PacGAN 2-D benchmark: (data N×2, mode means K×2, per-mode std).

    ``name`` is "ring" (uses ``modes``, ``radius``) or "grid" (uses ``side``, ``spacing``);
    ``std`` defaults to 0.01 for the ring and 0.05 for the grid.
    """
    if name == "ring":
        means = ring_means(modes, radius)
    elif name == "grid":
        means = grid_means(side, spacing)
    else:
        raise GankitError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_NAMES)}.")
    std = DEFAULT_STD[name] if std is None else float(std)
    return sample_mixture(means, std, n, seed), means, std


def make_gauss1d(n: int = 10_000, mean: float = 4.0, std: float = 0.5, seed: int = 0) -> Tensor:
    """``n`` samples of a 1-D Gaussian N(mean, std²), shape (n, 1), for the 1-D demo."""
    if n < 1:
        raise GankitError(f"need n >= 1 samples, got n={n}.")
    if std < 0:
        raise GankitError(f"std must be >= 0, got std={std}.")
    generator = torch.Generator().manual_seed(seed)
    return mean + std * torch.randn(n, 1, generator=generator)
