"""Gaussian Parzen-window log-likelihood, the protocol of Goodfellow et al. (2014), §5.

The generated samples are the centres of an isotropic Gaussian kernel density estimate;
the bandwidth sigma is chosen on validation points and the mean log-density of the test
points is reported with its standard error. This follows the authors' parzen_ll.py
(goodfeli/adversarial): 10 sigmas log-spaced in [0.1, 1], 1,000 validation points, the full
test set, and log p(x) = logsumexp_i(-||x - mu_i||^2 / (2 sigma^2)) - log N - D/2 log(2 pi sigma^2).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gankit.errors import GankitError

# The authors' grid: numpy.logspace(-1, 0, num=10) (parzen_ll.py defaults).
DEFAULT_SIGMAS = np.logspace(-1, 0, 10)
# Kernel terms per block of rows (4 MB of doubles): the sigmas reuse a block while it is in cache.
_BLOCK_VALUES = 1 << 19


def _as_matrix(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    """Flatten to an N x D floating tensor (images N x C x H x W become N x CHW), checked finite.

    The float type is kept: the points are converted to float64 a batch at a time (exactly),
    so that a 10,000-point set does not cost a second, float64 copy of itself.
    """
    x = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.ndim < 2 or x.shape[0] == 0:
        raise GankitError(f"{name} must be a non-empty array of N points (N x D or N x C x H x W), "
                          f"got shape {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    if not torch.isfinite(x).all():
        raise GankitError(f"{name} contains NaN or infinite values; check the generator output")
    return x


def _as_float64_matrix(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    return _as_matrix(x, name).to(torch.float64)


# The exp of a double is subnormal below -708.39 and 0 below -745.13, and the math library
# behind torch.exp on CPU (MKL) takes a slow path for each such element: 10-20x the normal cost,
# 2x for -inf, and at the small sigmas of the grid most kernel terms are there. Every row's
# terms include exp(0) = 1 (its nearest centre), so its sum is >= 1, and a term below
# exp(-708) = 3.3e-308 lies some 2^970 below that sum's last bit: raising such terms to
# exp(-708) leaves the row sums as they were, bit for bit (a partial sum would have to lie
# within 1e-304 of a rounding tie to notice; the tests compare with the plain sums).
_EXP_FLOOR = -708.0


def _kernel_sums(d2: torch.Tensor, c: float, terms: torch.Tensor) -> torch.Tensor:
    """sum_j exp(-c d2[i, j]) for each row i of d2 (>= 0, with a 0 in every row), through the
    preallocated `terms` of d2's shape. A NaN row stays NaN: clamp keeps NaN."""
    torch.mul(d2, -c, out=terms).clamp_(min=_EXP_FLOOR).exp_()
    return terms.sum(dim=1)


def _log_densities(points: torch.Tensor, centres: torch.Tensor, sigmas: np.ndarray,
                   batch_size: int) -> np.ndarray:
    """Per-point log-densities, shape (len(sigmas), len(points)).

    Squared distances are computed once per batch, as ||x||^2 + ||mu||^2 - 2 x.mu (one matrix
    product instead of an N x M x D difference tensor), and reused for every sigma. All in
    float64: at sigma = 0.1 the exponents reach -1e4, and the expansion loses digits to
    cancellation in float32. The buffers are allocated once (a fresh 80 MB tensor per batch
    costs its page faults again each time). After the matrix product, everything runs over
    blocks of rows small enough to stay in cache, rather than over the whole batch once per
    step and per sigma.
    """
    n_centres, dim = centres.shape
    centre_norms = (centres * centres).sum(dim=1)
    out = torch.empty((len(sigmas), len(points)), dtype=torch.float64)
    rows = min(batch_size, len(points))
    block_rows = min(rows, max(1, _BLOCK_VALUES // n_centres))
    d2_buffer = torch.empty((rows, n_centres), dtype=torch.float64)
    terms_buffer = torch.empty((block_rows, n_centres), dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, len(points), batch_size):
            x = points[start:start + batch_size].to(torch.float64)  # exact
            d2 = d2_buffer[:len(x)]
            torch.addmm(centre_norms[None, :], x, centres.T, alpha=-2.0, out=d2)
            x_norms = (x * x).sum(dim=1, keepdim=True)
            for row in range(0, len(x), block_rows):
                block = d2[row:row + block_rows]
                terms = terms_buffer[:len(block)]
                block += x_norms[row:row + block_rows]
                block.clamp_(min=0.0)  # rounding can make coincident points slightly negative
                # log-sum-exp shifted by each row's nearest centre, shared by all sigmas:
                # lse(-c d2) = -c min(d2) + log sum exp(-c (d2 - min(d2))), every term <= 0.
                nearest = block.min(dim=1, keepdim=True).values
                block -= nearest
                first = start + row
                for j, sigma in enumerate(sigmas):
                    c = 0.5 / sigma**2
                    out[j, first:first + len(block)] = (_kernel_sums(block, c, terms).log_()
                                                        - c * nearest[:, 0])
    norm = math.log(n_centres) + 0.5 * dim * np.log(2.0 * math.pi * sigmas**2)
    return out.numpy() - norm[:, None]


def _check_inputs(samples: torch.Tensor, points: torch.Tensor, sigmas: np.ndarray,
                  batch_size: int) -> None:
    if samples.shape[1] != points.shape[1]:
        raise GankitError(f"samples have {samples.shape[1]} values per point but the evaluation "
                          f"points have {points.shape[1]}; flatten both to the same dimension")
    if not (np.all(sigmas > 0) and np.all(np.isfinite(sigmas))):
        raise GankitError(f"Parzen sigmas must be positive and finite, got {sigmas}")
    if batch_size < 1:
        raise GankitError(f"batch_size must be >= 1, got {batch_size}")


def _sigma_grid(sigmas: np.ndarray | float) -> np.ndarray:
    return np.atleast_1d(np.asarray(sigmas, dtype=np.float64))


def _points(centres: torch.Tensor, points: np.ndarray | torch.Tensor, name: str,
            sigmas: np.ndarray, batch_size: int) -> torch.Tensor:
    """`points` as a matrix, checked against the centres and the protocol's values."""
    x = _as_matrix(points, name)
    _check_inputs(centres, x, sigmas, batch_size)
    return x


def parzen_log_likelihood(samples: np.ndarray | torch.Tensor, points: np.ndarray | torch.Tensor,
                          sigma: float, batch_size: int = 1000) -> np.ndarray:
    """Log-density (nats, float64) of each of `points` under the KDE centred on `samples`."""
    centres = _as_float64_matrix(samples, "samples")
    sigmas = _sigma_grid(sigma)
    x = _points(centres, points, "points", sigmas, batch_size)
    return _log_densities(x, centres, sigmas, batch_size)[0]


def select_sigma(samples: np.ndarray | torch.Tensor, valid: np.ndarray | torch.Tensor,
                 sigmas: np.ndarray = DEFAULT_SIGMAS,
                 batch_size: int = 1000) -> tuple[float, np.ndarray]:
    """The sigma with the highest mean validation log-likelihood, and the mean for every sigma."""
    centres = _as_float64_matrix(samples, "samples")
    sigmas = _sigma_grid(sigmas)
    return _best_sigma(centres, _points(centres, valid, "valid", sigmas, batch_size), sigmas,
                       batch_size)


def _best_sigma(centres: torch.Tensor, valid: torch.Tensor, sigmas: np.ndarray,
                batch_size: int) -> tuple[float, np.ndarray]:
    mean_ll = _log_densities(valid, centres, sigmas, batch_size).mean(axis=1)
    return float(sigmas[int(np.argmax(mean_ll))]), mean_ll


def parzen_evaluate(samples: np.ndarray | torch.Tensor, valid: np.ndarray | torch.Tensor,
                    test: np.ndarray | torch.Tensor, sigmas: np.ndarray = DEFAULT_SIGMAS,
                    batch_size: int = 1000) -> dict:
    """The full protocol: choose sigma on `valid`, report mean and standard error on `test`.

    Returns a dict with mean, stderr (std / sqrt(n_test), as the authors report), sigma,
    the sigma grid with its validation means, and the point counts.
    """
    # Converted and checked once: the 10,000 x 784 checks cost as much as a sigma's kernel sums.
    centres = _as_float64_matrix(samples, "samples")
    sigmas = _sigma_grid(sigmas)
    valid_x = _points(centres, valid, "valid", sigmas, batch_size)
    test_x = _points(centres, test, "test", sigmas, batch_size)
    sigma, valid_ll = _best_sigma(centres, valid_x, sigmas, batch_size)
    ll = _log_densities(test_x, centres, _sigma_grid(sigma), batch_size)[0]
    return {
        "mean": float(ll.mean()),
        "stderr": float(ll.std() / math.sqrt(len(ll))),
        "sigma": sigma,
        "sigmas": [float(s) for s in sigmas],
        "valid_mean_ll": [float(v) for v in valid_ll],
        "n_samples": int(centres.shape[0]),
        "n_valid": int(valid_x.shape[0]),
        "n_test": int(len(ll)),
    }
