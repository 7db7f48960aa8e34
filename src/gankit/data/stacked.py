"""Stacked MNIST: three random MNIST digits as the R, G, B channels, 1000 modes.

Used to count modes captured by a GAN (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
2018): a classifier labels each channel and the mode is the 3-digit code.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import GankitError


def stacked_code(d0: Tensor, d1: Tensor, d2: Tensor) -> Tensor:
    """The mode index 100*d0 + 10*d1 + d2 (0..999) of per-channel digit labels."""
    return (100 * d0 + 10 * d1 + d2).long()


def make_stacked_mnist(
    images: Tensor, labels: Tensor, n: int, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Stack 3 uniformly drawn digits per sample: (images n×3×H×W, codes int64 n in 0..999).

    ``images`` is N×1×H×W (e.g. from ``load_mnist``), ``labels`` its N digit labels.
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise GankitError(
            f"stacked MNIST needs single-channel images N×1×H×W, got shape {tuple(images.shape)}."
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise GankitError(
            f"{tuple(labels.shape)} labels for {images.shape[0]} images; pass one label per image."
        )
    if images.shape[0] == 0 or n < 1:
        raise GankitError(f"need at least one source image and n >= 1, got n={n}.")
    generator = torch.Generator().manual_seed(seed)
    # Draws are independent per channel, so every one of the 1000 codes is equally likely
    # (given balanced digit classes).
    picks = torch.randint(images.shape[0], (n, 3), generator=generator)
    stacked = images[:, 0][picks]  # n×3×H×W: channel c is image picks[:, c]
    digits = labels[picks]
    return stacked, stacked_code(digits[:, 0], digits[:, 1], digits[:, 2])
