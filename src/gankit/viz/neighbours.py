"""Figure 2 of Goodfellow et al. (2014): samples, and beside them their nearest training image.

"The rightmost column shows the nearest training example of the neighboring sample, in order to
demonstrate that the model has not memorized the training set." Each row here holds `cols - 1`
samples and, in its last column, the training image nearest (in Euclidean distance over pixels)
to that row's last sample. The neighbour column is set apart by a gap and a coloured border.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.viz.grid import save_png, to_uint8_image

# The paper outlines the neighbours in yellow; a border of this colour marks them here too.
NEIGHBOUR_COLOUR = (1.0, 0.8, 0.0)


def _flat64(x: torch.Tensor) -> torch.Tensor:
    return x.detach().cpu().reshape(x.shape[0], -1).to(torch.float64)


def nearest_neighbours(
    queries: torch.Tensor, references: torch.Tensor, chunk_size: int = 10_000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index into `references` of each query's nearest point, and the Euclidean distance.

    Distances come from ||q||^2 + ||r||^2 - 2 q.r (one matrix product per chunk of references),
    so 60,000 MNIST images never need an N x M x 784 difference tensor. Float64 keeps the
    expansion from losing the small differences between near-duplicates to cancellation.
    """
    if queries.shape[0] == 0 or references.shape[0] == 0:
        raise GankitError("nearest_neighbours needs at least one query and one reference point")
    if queries[0].numel() != references[0].numel():
        raise GankitError(
            f"queries have {queries[0].numel()} values each but references have "
            f"{references[0].numel()}; give samples and training images of the same shape"
        )
    if chunk_size < 1:
        raise GankitError(f"chunk_size must be >= 1, got {chunk_size}")
    q = _flat64(queries)
    q_norms = (q * q).sum(dim=1, keepdim=True)
    best_d2 = torch.full((q.shape[0],), float("inf"), dtype=torch.float64)
    best_index = torch.zeros(q.shape[0], dtype=torch.long)
    for start in range(0, references.shape[0], chunk_size):
        r = _flat64(references[start : start + chunk_size])
        d2 = torch.addmm(q_norms + (r * r).sum(dim=1)[None, :], q, r.T, alpha=-2.0)
        d2_min, index = d2.min(dim=1)
        better = d2_min < best_d2
        best_d2[better] = d2_min[better]
        best_index[better] = index[better] + start
    return best_index, best_d2.clamp(min=0.0).sqrt()


def _rgb(images: torch.Tensor) -> torch.Tensor:
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1)
    if images.shape[1] != 3:
        raise GankitError(f"images must have 1 or 3 channels, got {images.shape[1]}")
    return images


def neighbour_grid(
    samples: torch.Tensor,
    train_images: torch.Tensor,
    rows: int = 6,
    cols: int = 6,
    padding: int = 2,
    gap: int = 6,
    border: int = 1,
    chunk_size: int = 10_000,
) -> torch.Tensor:
    """A 3 x H x W picture in [0, 1]: `rows` rows of `cols - 1` samples, then, in the last
    column, the training image nearest to the row's last sample (set apart by `gap` pixels and
    framed by a `border`-pixel coloured outline).

    `samples` (N x C x H x W, N >= rows * (cols - 1)) are used in order, row by row.
    """
    if rows < 1 or cols < 2:
        raise GankitError(
            f"rows = {rows}, cols = {cols}: need rows >= 1 and cols >= 2 "
            "(cols counts the neighbour column)"
        )
    if samples.dim() != 4 or train_images.dim() != 4:
        raise GankitError(
            "neighbour_grid needs images (N x C x H x W); this run's data are not images"
        )
    per_row = cols - 1
    if samples.shape[0] < rows * per_row:
        raise GankitError(
            f"need {rows * per_row} samples for a {rows} x {cols} grid, got {samples.shape[0]}"
        )
    shown = _rgb(samples[: rows * per_row]).reshape(rows, per_row, 3, *samples.shape[2:])
    last = samples[per_row - 1 : rows * per_row : per_row]
    index, _ = nearest_neighbours(last, train_images, chunk_size)
    nearest = _rgb(train_images[index])
    h, w = samples.shape[2:]
    step_h, step_w = h + padding, w + padding
    height = rows * step_h + padding
    width = cols * step_w + padding + gap
    grid = torch.ones(3, height, width)
    colour = torch.tensor(NEIGHBOUR_COLOUR)[:, None, None]
    for r in range(rows):
        top = padding + r * step_h
        for c in range(per_row):
            left = padding + c * step_w
            grid[:, top : top + h, left : left + w] = shown[r, c]
        left = padding + per_row * step_w + gap
        # The outline sits in the padding around the neighbour, so no pixel of it is hidden.
        b = min(border, padding)
        if b:
            grid[:, top - b : top + h + b, left - b : left + w + b] = colour
        grid[:, top : top + h, left : left + w] = nearest[r]
    return grid


def save_neighbours(
    run: Any,
    out: str | Path,
    rows: int = 6,
    cols: int = 6,
    seed: int = 0,
    train_images: torch.Tensor | None = None,
    scale: int = 3,
) -> Path:
    """Draw Figure 2 for a run (a `gankit.Run`) and save it as PNG; returns the path.

    The neighbours are searched among the run's own training images (for MNIST the 50,000 of
    train[0:50000]) unless `train_images` is given.
    """
    if train_images is None:
        from gankit.data.dataset import load_training_data

        train_images = load_training_data(run.config.data, run.config.seed).x
    samples = run.sample(rows * (cols - 1), seed=seed)
    grid = neighbour_grid(samples, train_images, rows=rows, cols=cols)
    return save_png(to_uint8_image(grid), out, scale)
