"""Mode-collapse metrics for 2-D Gaussian mixtures (the VEEGAN / PacGAN protocol).

Srivastava et al. (2017, VEEGAN) and Lin et al. (2018, PacGAN) score a generator trained on a
ring or grid of K equal Gaussians (common std) by:

* high-quality samples: a sample is high quality when it lies within 3 std (Euclidean) of its
  nearest mode;
* modes captured: the number of distinct modes that are the nearest mode of at least one
  high-quality sample;
* reverse KL: KL(p_hat || u), where p_hat is the histogram of *all* samples assigned to their
  nearest mode and u is uniform over the K modes (`reverse_kl`, VEEGAN's wording);
  `reverse_kl_hq` bins only the high-quality samples, as PacGAN's released metric code does.
  The two differ when off-mode samples fall unevenly: report the one a comparison uses, named.
  With no high-quality sample at all, `reverse_kl_hq` is log K, the value of a histogram that
  holds a single mode (an empty histogram has no KL; this keeps the key a finite worst case).

Reverse KL needs no epsilon: the sum runs over p_hat, and a bin with p_hat = 0 contributes
0 * log(0 / u) = 0 (the limit), while u = 1/K is never 0. A collapsed generator thus scores a
finite log K rather than inf. (The forward direction KL(u || p_hat) would be inf for any
missed mode, which is why the papers report the reverse one.)
"""

from __future__ import annotations

import math

import numpy as np

from gankit.errors import GankitError

# "Within three standard deviations" of the nearest mode (Lin et al. 2018, section 5).
HIGH_QUALITY_STDS = 3.0


def nearest_mode(samples: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each sample's nearest mode and the Euclidean distance to it.

    ``samples`` is N x 2 and ``means`` K x 2 (numpy arrays or torch tensors).
    """
    samples, means = _check_points(samples, means)
    # (N, K) squared distances; fine for the few thousand samples and tens of modes used here.
    squared = ((samples[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    index = squared.argmin(axis=1)
    distance = np.sqrt(squared[np.arange(len(samples)), index])
    return index, distance


def mode_metrics(samples: np.ndarray, means: np.ndarray, std: float) -> dict[str, float | int]:
    """Score 2-D samples against a mixture with the given mode means and common std.

    Returns ``{"modes", "high_quality", "reverse_kl", "reverse_kl_hq", "n"}``: modes captured
    (int, 0..K), high-quality samples as a percentage (0..100, as the papers' tables report it),
    reverse KL in nats (0 for a perfectly balanced histogram, log K when every sample falls at
    one mode) over all samples and over the high-quality ones, and the number of samples scored.
    """
    try:
        std = float(std)
    except (TypeError, ValueError):
        std = math.nan
    if not (math.isfinite(std) and std > 0):
        raise GankitError(f"mode_metrics needs a positive finite std, got {std!r}; pass the "
                          "mixture's common standard deviation (e.g. 0.01 for the ring).")
    index, distance = nearest_mode(samples, means)
    n, k = len(index), len(np.asarray(means))
    high_quality = distance <= HIGH_QUALITY_STDS * std
    modes = len(np.unique(index[high_quality]))
    hq_kl = _reverse_kl(index[high_quality], k) if high_quality.any() else math.log(k)
    return {
        "modes": int(modes),
        "high_quality": 100.0 * float(high_quality.mean()),
        "reverse_kl": _reverse_kl(index, k),
        "reverse_kl_hq": hq_kl,
        "n": int(n),
    }


def _reverse_kl(index: np.ndarray, k: int) -> float:
    """KL(histogram of the mode indices || uniform over k), in nats."""
    p_hat = np.bincount(index, minlength=k) / len(index)
    occupied = p_hat > 0  # empty bins contribute 0 * log 0 = 0; see the module docstring
    kl = float(np.sum(p_hat[occupied] * np.log(p_hat[occupied] * k)))
    return max(kl, 0.0)  # clip -1e-17 float noise at a perfect histogram


def evaluate_modes2d(samples: object, means: object, std: float, dataset: str,
                     seed: int) -> dict:
    """`gankit eval --metrics modes` on 2-D samples: {"metrics": ..., "protocol": ...}."""
    metrics = mode_metrics(samples, means, std)
    protocol = {"n": metrics["n"], "seed": seed, "dataset": dataset, "modes_total": len(means),
                "std": std, "high_quality_within_stds": HIGH_QUALITY_STDS,
                "high_quality_unit": "percent",  # the key stays as the papers' tables name it
                "reference": "PacGAN (Lin et al. 2018) 2-D protocol"}
    return {"metrics": metrics, "protocol": protocol}


def _check_points(samples: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    samples, means = _to_numpy(samples), _to_numpy(means)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise GankitError(f"samples must be an N x 2 array with N >= 1, got shape {samples.shape}; "
                          "these metrics are for 2-D toy data only.")
    if means.ndim != 2 or means.shape[1] != 2 or len(means) == 0:
        raise GankitError(f"means must be a K x 2 array of mode centres with K >= 1, got shape "
                          f"{means.shape}.")
    if not (np.all(np.isfinite(samples)) and np.all(np.isfinite(means))):
        raise GankitError("samples and means must be finite; a diverged generator produced "
                          "NaN/inf, so check training before scoring.")
    return samples, means


def _to_numpy(points: object) -> np.ndarray:
    # Accept torch tensors straight from a generator (possibly on GPU, possibly with grad).
    if hasattr(points, "detach"):
        points = points.detach().cpu().numpy()
    return np.asarray(points, dtype=np.float64)
