"""Section 4 of Goodfellow et al. (2014) as a picture: `gankit viz theory`.

Left: p_data = N(0, 1), p_g = N(mean, std^2) and the optimal discriminator
D* = p_data / (p_data + p_g) (Proposition 1). Right: the virtual training criterion C(G) along a
path of Gaussians N(t mean, std^(2t)) that passes through p_data (t = 0) and p_g (t = 1), beside
-log 4 + 2 JSD (Theorem 1: the two curves are one) and the global minimum -log 4, reached only at
p_g = p_data. Every number comes from
gankit.theory, the functions `gankit theory` checks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gankit.theory import (
    gaussian_grid,
    gaussian_pdf,
    jensen_shannon,
    optimal_discriminator,
    virtual_training_criterion,
)

SWEEP = np.linspace(-0.5, 1.5, 41)  # t along the right panel's path of p_g
SHOWN = (-5.0, 5.0)  # x range drawn on the left (the integrals use the whole grid)


def draw_theory(path: str | Path, mean: float = 1.0, std: float = 1.5,
                points: int | None = None) -> Path:
    """Write the two-panel PNG to `path` and return it."""
    x = gaussian_grid(mean, std, points)
    p_data, p_g = gaussian_pdf(x, 0.0, 1.0), gaussian_pdf(x, mean, std)
    fig = Figure(figsize=(11, 4.2), dpi=100)
    left, right = fig.subplots(1, 2)
    shown = (x >= min(SHOWN[0], mean - 3 * std)) & (x <= max(SHOWN[1], mean + 3 * std))
    left.plot(x[shown], p_data[shown], color="black", label="p_data = N(0, 1)")
    left.plot(x[shown], p_g[shown], color="green", label=f"p_g = N({mean:g}, {std:g}²)")
    twin = left.twinx()
    twin.plot(x[shown], optimal_discriminator(p_data, p_g)[shown], color="blue", linestyle="--",
              label="D*(x) = p_data / (p_data + p_g)")
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("D*(x)")
    left.set_xlabel("x")
    left.set_ylabel("density")
    left.set_title("Proposition 1: the optimal discriminator", fontsize=10)
    handles = left.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    left.legend(handles=handles, fontsize=8, loc="upper left")

    # A path of Gaussians through p_data (t = 0) and this p_g (t = 1): N(t mean, std^(2t)).
    c, js = [], []
    for t in SWEEP:
        m, s = t * mean, std**t
        grid = gaussian_grid(m, s)
        q_data, q_g = gaussian_pdf(grid, 0.0, 1.0), gaussian_pdf(grid, m, s)
        c.append(virtual_training_criterion(q_data, q_g, grid))
        js.append(-math.log(4) + 2 * jensen_shannon(q_data, q_g, grid))
    right.plot(SWEEP, c, color="purple", linewidth=3, alpha=0.5, label="C(G) = max_D V(D, G)")
    right.plot(SWEEP, js, color="black", linestyle=":", label="-log 4 + 2 JSD(p_data || p_g)")
    right.axhline(-math.log(4), color="grey", linewidth=0.8, label="-log 4")
    here = virtual_training_criterion(p_data, p_g, x)
    right.plot([1.0], [here], "o", color="green", label=f"this p_g: C(G) = {here:.4f}")
    right.set_xlabel(f"t, for p_g = N({mean:g}·t, ({std:g}^t)²): p_data at t = 0, this p_g at t = 1")
    right.set_ylabel("nats")
    right.set_title("Theorem 1: C(G) = -log 4 + 2 JSD, least at p_g = p_data", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path

