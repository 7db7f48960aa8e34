"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs").

The unbiased estimate of the squared MMD between two feature sets under the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets. Unlike the Fréchet distance
its estimator is unbiased, so two samples of one distribution score about 0 at any n.
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.errors import GankitError


def _as_matrix(x: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise GankitError(f"{name} must be an N x D feature matrix with N >= 2, got {x.shape}")
    return x


_BLOCK = 64  # rows per block of the symmetric kernel's power


def _cubic_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a.b / d + 1)^3 for every pair of rows, computed in place in the product's buffer.

    numpy's element-wise power is most of KID's time. For a within-set kernel (b is a) the
    product is exactly symmetric (numpy computes a @ a.T as one triangle, mirrored), so the
    power runs on the upper triangle's blocks and the lower ones are copied from them: the same
    bits in about two thirds of the time.
    """
    k = a @ b.T
    k /= a.shape[1]
    k += 1.0
    if b is not a:
        return np.power(k, 3, out=k)
    for r0 in range(0, len(k), _BLOCK):
        r1 = r0 + _BLOCK
        np.power(k[r0:r1, r0:], 3, out=k[r0:r1, r0:])
        k[r1:, r0:r1] = k[r0:r1, r1:].T
    return k


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equal-size sets x, y (m x d) with the cubic polynomial kernel."""
    m = len(x)
    k_xx, k_yy, k_xy = _cubic_kernel(x, x), _cubic_kernel(y, y), _cubic_kernel(x, y)
    # The unbiased estimator leaves out the i == j terms of the within-set sums.
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.mean())


def kid_subset_size(subset_size: int, n_real: int, n_fake: int) -> int:
    """Points per side in each KID subset: `subset_size`, clipped to the smaller set."""
    return min(subset_size, n_real, n_fake)


def kid_score(real_feats: np.ndarray | torch.Tensor, fake_feats: np.ndarray | torch.Tensor,
        n_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of the polynomial MMD^2 over `n_subsets` random subsets.

    Each subset draws `subset_size` points (clipped to the smaller set) from each side
    without replacement, as in the authors' code; `seed` fixes the draws.
    """
    real = _as_matrix(real_feats, "real features")
    fake = _as_matrix(fake_feats, "fake features")
    if real.shape[1] != fake.shape[1]:
        raise GankitError(f"KID needs features of one dimension, got {real.shape[1]} (real) "
                          f"and {fake.shape[1]} (fake)")
    if n_subsets < 1:
        raise GankitError(f"n_subsets must be >= 1, got {n_subsets}")
    m = kid_subset_size(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = np.array([
        polynomial_mmd2(real[rng.choice(len(real), m, replace=False)],
                        fake[rng.choice(len(fake), m, replace=False)])
        for _ in range(n_subsets)
    ])
    return float(values.mean()), float(values.std())
