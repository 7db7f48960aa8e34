"""Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})  (Dowson & Landau 1982; Heusel et al. 2017).
With the InceptionV3 pool features this is FID; with gankit's MNIST classifier features it is
the same distance in a smaller, MNIST-specific feature space (not comparable to published FIDs).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch

from gankit.errors import GankitError


def feature_stats(feats: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N-1) covariance of an N x D feature matrix, in float64."""
    if isinstance(feats, torch.Tensor):
        feats = feats.detach().cpu().numpy()
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise GankitError(f"features must be an N x D matrix with N >= 2, got shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise GankitError(f"Fréchet distance needs matching shapes, got means {mu1.shape} and "
                          f"{mu2.shape}, covariances {sigma1.shape} and {sigma2.shape}")

    diff = mu1 - mu2
    with warnings.catch_warnings():
        # sqrtm warns on singular input; the check below handles that case instead.
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # A singular product (fewer samples than dimensions, dead features): regularise both
        # covariances slightly so the square root exists.
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))

    if np.iscomplexobj(covmean):
        # Rounding gives a tiny imaginary part; a large one means the input is not a pair of
        # covariance matrices.
        max_imag = np.max(np.abs(covmean.imag))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise GankitError(f"Fréchet distance: matrix square root has an imaginary part of "
                              f"{max_imag:.3g}; the covariances are not positive semi-definite")
        covmean = covmean.real

    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
