"""Checking sample arrays before they are scored: shape, dtype, range and count, one line each."""

from __future__ import annotations

import numpy as np
import torch

from gankit.errors import GankitError

MIN_SAMPLES = 50  # below this the k-NN and subset estimates are meaningless


def check_mnist_samples(samples: object, n: int, channels: int = 1) -> torch.Tensor:
    """The samples as a CPU float32 tensor after checking shape, dtype, range and count.

    `channels` is 1 for MNIST and 3 for Stacked MNIST.
    """
    if isinstance(samples, np.ndarray):
        samples = torch.from_numpy(samples)
    if not isinstance(samples, torch.Tensor):
        raise GankitError(f"samples must be a torch tensor or numpy array, got "
                          f"{type(samples).__name__}")
    if samples.ndim == 2 and samples.shape[1] == channels * 784:
        samples = samples.reshape(-1, channels, 28, 28)  # flat N x 784 rows, as the MLP makes
    if samples.ndim != 4 or tuple(samples.shape[1:]) != (channels, 28, 28):
        what = "MNIST-shaped" if channels == 1 else "Stacked-MNIST-shaped"
        raise GankitError(f"samples must be {what} N x {channels} x 28 x 28, got "
                          f"{tuple(samples.shape)}; reshape the generator output")
    if not samples.is_floating_point():
        raise GankitError(f"samples must be floating point in [0, 1], got {samples.dtype}; "
                          "for 0-255 integers use samples.float() / 255")
    samples = samples.detach().cpu().float()
    if not torch.isfinite(samples).all():
        raise GankitError("samples contain NaN or infinite values; the generator has diverged, "
                          "check training before evaluating")
    low, high = float(samples.min()), float(samples.max())
    if high > 1.0 + 1e-6:
        hint = " (they look like 0-255 pixels: divide by 255)" if high > 2.0 else ""
        raise GankitError(f"samples must lie in [0, 1], max is {high:.4g}{hint}")
    if low < -1e-6:
        hint = " (they look like tanh outputs in [-1, 1]: use (x + 1) / 2)" if low >= -1.0 else ""
        raise GankitError(f"samples must lie in [0, 1], min is {low:.4g}{hint}")
    if n < MIN_SAMPLES:
        raise GankitError(f"n must be at least {MIN_SAMPLES}, got {n}; the protocol uses 10000")
    if len(samples) < n:
        raise GankitError(f"got {len(samples)} samples but the evaluation uses n={n}; generate "
                          f"at least {n} samples or pass a smaller n")
    return samples.clamp(0.0, 1.0)
