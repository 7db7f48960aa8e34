"""Sample pictures: image grids (Pillow) and 2-D samples over the true modes (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def make_grid(
    images: torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0
) -> np.ndarray:
    """N x C x H x W in [0, 1] -> one uint8 picture (H', W', C) with `nrow` images per row."""
    images = images.detach().float().clamp(0, 1).cpu()
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.full(
        (c, rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value
    )
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return to_uint8_image(grid)


def to_uint8_image(picture: torch.Tensor) -> np.ndarray:
    """C x H x W in [0, 1] -> H x W x C uint8."""
    return (picture.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: str | Path, scale: int = 2) -> Path:
    """Save an H x W x C uint8 picture, enlarged `scale` times with nearest pixels (crisp digits)."""
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def save_grid(
    images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 2
) -> Path:
    """Save an image grid as PNG (enlarged `scale` times with nearest pixels, so digits stay crisp)."""
    return save_png(make_grid(images, nrow), path, scale)


def save_points(
    samples: torch.Tensor,
    path: str | Path,
    means: torch.Tensor | None = None,
    real: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """2-D samples (blue) over the true mode centres (red x); 1-D samples as a histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = samples.detach().cpu().float()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if samples.shape[1] == 1:
        if real is not None:
            ax.hist(real[:, 0].numpy(), bins=100, density=True, alpha=0.4, label="data")
        ax.hist(samples[:, 0].numpy(), bins=100, density=True, alpha=0.6, label="G(z)")
        ax.legend()
    else:
        ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:blue", label="G(z)")
        if means is not None:
            ax.scatter(means[:, 0], means[:, 1], marker="x", s=40, color="tab:red", label="modes")
            span = (means.abs().max().item() or 1.0) * 1.5
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
