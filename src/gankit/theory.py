"""The theory of Goodfellow et al. (2014), section 4, computed on a 1-D grid.

Densities are numpy arrays of float64 values sampled on a strictly increasing grid ``x``;
every integral is a trapezoid rule over that grid. The results made checkable:

* Proposition 1: for a fixed G the optimal discriminator is D*(x) = p_data / (p_data + p_g).
* Theorem 1: the virtual training criterion C(G) = max_D V(D, G) equals
  -log 4 + 2 * JSD(p_data || p_g), so its global minimum -log 4 is reached only at p_g = p_data.

Logs are natural, so divergences are in nats. Terms of the form 0 * log(0 / q) are 0 (the
limit), which is why nothing here adds an epsilon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import trapezoid

from gankit.errors import GankitError

# A density sampled on a grid that holds (almost) all its mass integrates to 1 up to truncation
# and discretisation error; beyond this the identities of Theorem 1 stop holding on the grid.
_MASS_TOLERANCE = 1e-3


def gaussian_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The normal density N(mean, std^2) evaluated at ``x`` (float64)."""
    if not std > 0:
        raise GankitError(f"gaussian_pdf needs std > 0, got {std}; "
                          "pass a positive standard deviation.")
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2.0 * math.pi))


def normalize_density(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rescale non-negative values ``p`` on grid ``x`` so that their trapezoid integral is 1."""
    p = _as_density(p, "p")
    x = _as_grid(x, p.shape)
    mass = float(trapezoid(p, x))
    if not mass > 0:
        raise GankitError("normalize_density got a density with zero mass on the grid; "
                          "widen the grid x or check p.")
    return p / mass


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1).

    Where both densities are 0 the ratio is 0/0; D* is defined as 1/2 there. Any value is
    optimal at such points (they carry no weight in V), and 1/2 is what D* equals wherever
    p_g = p_data, so the convention keeps D* = 1/2 everywhere at the global optimum.
    """
    p_data = _as_density(p_data, "p_data")
    p_g = _as_density(p_g, "p_g", like=p_data)
    total = p_data + p_g
    safe_total = np.where(total > 0, total, 1.0)  # avoid a divide-by-zero warning at 0/0
    return np.where(total > 0, p_data / safe_total, 0.5)


def value_function(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """V(D, G) = E_pdata[log D(x)] + E_pg[log(1 - D(x))] for a discriminator ``d`` on grid ``x``.

    ``d`` holds D(x) in [0, 1]. A point where p_data = 0 contributes nothing from the first
    term even if D = 0 there (and likewise for p_g and D = 1); a point where a density is
    positive but log D (or log(1 - D)) is -inf makes V = -inf, which is the true value.
    """
    p_data = _as_density(p_data, "p_data")
    p_g = _as_density(p_g, "p_g", like=p_data)
    x = _as_grid(x, p_data.shape)
    _check_mass(p_data, x, "p_data")
    _check_mass(p_g, x, "p_g")
    d = np.asarray(d, dtype=np.float64)
    if d.shape != p_data.shape:
        raise GankitError(f"value_function: D has shape {d.shape} but the densities have shape "
                          f"{p_data.shape}; evaluate D on the same grid x.")
    if not np.all((d >= 0) & (d <= 1)):
        raise GankitError("value_function: D must lie in [0, 1] (a probability, not a logit); "
                          "apply a sigmoid to logits first.")
    integrand = _xlogy(p_data, d) + _xlogy(p_g, 1.0 - d)
    return float(trapezoid(integrand, x))


def virtual_training_criterion(p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """C(G) = max_D V(D, G) = V(D*, G), by trapezoid integration on grid ``x``.

    Theorem 1 of Goodfellow et al. (2014): C(G) = -log 4 + 2 * JSD(p_data || p_g), with the
    global minimum -log 4 reached if and only if p_g = p_data.

    Equal to ``value_function(optimal_discriminator(p_data, p_g), ...)`` but computed from
    log densities: in a tail where p_data >> p_g, 1 - D* rounds to exactly 0 in float64 and
    log(1 - D*) would turn a negligible p_g into -inf.
    """
    p_data = _as_density(p_data, "p_data")
    p_g = _as_density(p_g, "p_g", like=p_data)
    x = _as_grid(x, p_data.shape)
    _check_mass(p_data, x, "p_data")
    _check_mass(p_g, x, "p_g")
    total = p_data + p_g
    # p log(p / t) + q log(q / t) = p log p + q log q - t log t, since t = p + q.
    integrand = _xlogy(p_data, p_data) + _xlogy(p_g, p_g) - _xlogy(total, total)
    return float(trapezoid(integrand, x))


def kl_divergence(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """KL(p || q) = integral of p log(p / q) over grid ``x``, in nats.

    Points where p = 0 contribute 0; a point where p > 0 but q = 0 makes the divergence inf.
    """
    p = _as_density(p, "p")
    q = _as_density(q, "q", like=p)
    x = _as_grid(x, p.shape)
    _check_mass(p, x, "p")
    _check_mass(q, x, "q")
    if np.any((p > 0) & (q == 0)):
        return math.inf
    integrand = _xlogy(p, p) - _xlogy(p, q)
    return float(trapezoid(integrand, x))


def jensen_shannon(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2, in nats.

    Symmetric, always finite, and between 0 and log 2.
    """
    p = _as_density(p, "p")
    q = _as_density(q, "q", like=p)
    m = 0.5 * (p + q)
    # m > 0 wherever p > 0 or q > 0, so neither KL term can be inf.
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)


@dataclass
class Check:
    """One statement of the paper checked on numbers: what, the numbers, and whether it held."""

    name: str
    claim: str
    numbers: str
    passed: bool

    def __post_init__(self) -> None:
        self.passed = bool(self.passed)  # numpy comparisons give numpy bools (not JSON)


# Trapezoid integrals of smooth densities on a fine grid agree with the identities to ~1e-12;
# the tolerance leaves room for coarser grids (--points).
CHECK_TOLERANCE = 1e-6


def gaussian_grid(mean: float, std: float, points: int | None = None) -> np.ndarray:
    """A grid holding N(0, 1) and N(mean, std^2) to 12 standard deviations on either side, with
    a spacing of at most 1/20 of the narrower std (coarser, the trapezoid rule would measure the
    grid rather than the theorem). points=None: 20,001, or as many as that spacing needs."""
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise GankitError(f"p_g = N({mean}, {std}^2) needs a finite mean and a positive std")
    width = 12.0 * max(1.0, std)
    lo, hi = min(0.0, mean) - width, max(0.0, mean) + width
    needed = math.ceil((hi - lo) / (min(1.0, std) / 20)) + 1
    if points is None:
        points = max(20_001, needed)
    if points < needed:
        raise GankitError(f"a grid of {points:,} points on [{lo:g}, {hi:g}] is too coarse for "
                          f"std {std:g}; use at least {needed:,} points (--points)")
    return np.linspace(lo, hi, points)


def check_propositions(mean: float = 1.0, std: float = 1.5,
                       points: int | None = None) -> list[Check]:
    """Proposition 1 and Theorem 1 checked numerically for p_data = N(0, 1), p_g = N(mean, std^2)."""
    x = gaussian_grid(mean, std, points)
    p_data, p_g = gaussian_pdf(x, 0.0, 1.0), gaussian_pdf(x, mean, std)
    c_g = virtual_training_criterion(p_data, p_g, x)
    jsd = jensen_shannon(p_data, p_g, x)
    # Other discriminators: D*'s logit log(p_data / p_g) moved up, down, or by a wave in x.
    logit = _log_gaussian(x, 0.0, 1.0) - _log_gaussian(x, mean, std)
    moves = {"+0.1": 0.1, "-0.1": -0.1, "+1": 1.0, "-1": -1.0, "+sin(x)/2": 0.5 * np.sin(x)}
    v_others = {f"logit D* {name}": _value_of_logits(logit + move, p_data, p_g, x)
                for name, move in moves.items()}
    best = max(v_others, key=v_others.get)
    d_same = optimal_discriminator(p_data, p_data)
    c_same = virtual_training_criterion(p_data, p_data, x)
    differs = mean != 0.0 or std != 1.0
    gap = c_g + math.log(4)
    return [
        Check("Proposition 1", "D*(x) = p_data/(p_data + p_g) maximises V(D, G)",
              f"V(D*, G) = {c_g:.6f} > {v_others[best]:.6f}, the best of {len(moves)} other D "
              f"({best})", all(c_g > v for v in v_others.values())),
        Check("Theorem 1", "C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)",
              f"C(G) = {c_g:.6f}, -log 4 + 2 JSD = {-math.log(4) + 2 * jsd:.6f} "
              f"(JSD = {jsd:.6f} nats)", abs(c_g - (-math.log(4) + 2 * jsd)) < CHECK_TOLERANCE),
        Check("Theorem 1", "C(G) >= -log 4, with equality only when p_g = p_data",
              f"C(G) + log 4 = {gap:.6f} ({'p_g != p_data' if differs else 'p_g = p_data'})",
              gap > -CHECK_TOLERANCE and (gap > CHECK_TOLERANCE) == differs),
        Check("Theorem 1", "at p_g = p_data: C(G) = -log 4 and D* = 1/2 everywhere",
              f"C(G) = {c_same:.6f} (-log 4 = {-math.log(4):.6f}), "
              f"max |D* - 1/2| = {np.abs(d_same - 0.5).max():.1e}",
              abs(c_same + math.log(4)) < CHECK_TOLERANCE and np.abs(d_same - 0.5).max() == 0.0),
        Check("JSD", "0 <= JSD(p_data || p_g) <= log 2",
              f"JSD = {jsd:.6f}, log 2 = {math.log(2):.6f}",
              -CHECK_TOLERANCE < jsd <= math.log(2) + CHECK_TOLERANCE),
    ]


def _log_gaussian(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2.0 * math.pi))


def _value_of_logits(logits: np.ndarray, p_data: np.ndarray, p_g: np.ndarray,
                     x: np.ndarray) -> float:
    """V(D, G) for D = sigmoid(logits), with log D and log(1 - D) taken from the logits: a D
    that rounds to exactly 0 or 1 in a tail would make value_function's logs -inf."""
    log_d, log_not_d = -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)
    return float(trapezoid(p_data * log_d + p_g * log_not_d, x))


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * log(b), with 0 where a = 0 (the limit 0 * log 0 = 0), -inf where a > 0 and b = 0."""
    out = np.zeros_like(a)
    positive = a > 0
    with np.errstate(divide="ignore"):
        out[positive] = a[positive] * np.log(b[positive])
    return out


def _as_density(p: np.ndarray, name: str, like: np.ndarray | None = None) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise GankitError(f"{name} must be a 1-D array of density values on a grid (at least 2 "
                          f"points), got shape {p.shape}.")
    if like is not None and p.shape != like.shape:
        raise GankitError(f"{name} has shape {p.shape} but the other density has shape "
                          f"{like.shape}; evaluate both on the same grid x.")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise GankitError(f"{name} must be finite and non-negative everywhere; "
                          "check the density values.")
    return p


def _as_grid(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != shape:
        raise GankitError(f"grid x has shape {x.shape} but the densities have shape {shape}; "
                          "pass the grid the densities were evaluated on.")
    if not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise GankitError("grid x must be finite and strictly increasing; "
                          "use e.g. np.linspace(lo, hi, n).")
    return x


def _check_mass(p: np.ndarray, x: np.ndarray, name: str) -> None:
    mass = float(trapezoid(p, x))
    if abs(mass - 1.0) > _MASS_TOLERANCE:
        raise GankitError(f"{name} integrates to {mass:.6f} on the grid, not 1; widen the grid x "
                          "to hold its mass or rescale it with gankit.theory.normalize_density.")
