"""k-NN precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Each set's manifold is the union of balls around its points, each ball reaching the point's
k-th nearest neighbour in its own set. Precision: share of fakes inside the real manifold;
recall: share of reals inside the fake manifold; density: mean number of real balls holding
a fake, over k; coverage: share of real balls holding at least one fake. Comparisons are
strict (<), as in Naeem et al.'s reference code. The papers use k = 3 (P/R) and k = 5 (D/C).

Distances are computed in chunks of rows, so memory stays at chunk x N however large N is,
and once for every k asked for together (`prdc_for_ks`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gankit.errors import GankitError


def _as_tensor(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().cpu().to(torch.float32)
    if x.ndim != 2:
        raise GankitError(f"{name} must be an N x D feature matrix, got shape {tuple(x.shape)}")
    return x


def _squared_distances(a: torch.Tensor, b: torch.Tensor, b_norms: torch.Tensor,
                       out: torch.Tensor | None = None) -> torch.Tensor:
    """||a_i - b_j||^2 as ||a||^2 + ||b||^2 - 2 a.b: one matrix product per chunk.

    The matrix-product form is what makes 10,000 x 10,000 x 1,000-D affordable. Squared
    distances order pairs exactly as distances do, so every comparison below can skip the sqrt.
    `out` (len(a) x len(b) rows of a reused buffer) spares a fresh chunk-sized tensor's page
    faults per chunk.
    """
    d2 = torch.addmm(b_norms[None, :], a, b.T, alpha=-2.0, out=out)
    d2 += (a * a).sum(dim=1, keepdim=True)
    return d2.clamp_(min=0.0)


def _neighbour_sq_distances(feats: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """N x k: squared distances from each row to its 1st..k-th nearest other row."""
    norms = (feats * feats).sum(dim=1)
    out = torch.empty(len(feats), k, dtype=feats.dtype)
    buffer = torch.empty(min(chunk, len(feats)), len(feats), dtype=feats.dtype)
    for start in range(0, len(feats), chunk):
        rows = feats[start:start + chunk]
        d = _squared_distances(rows, feats, norms, out=buffer[:len(rows)])
        # k + 1 smallest: the first is the row's zero distance to itself.
        out[start:start + chunk] = d.topk(k + 1, dim=1, largest=False).values[:, 1:]
    return out


def _kth_neighbour_sq_distances(feats: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    return _neighbour_sq_distances(feats, k, chunk)[:, k - 1]


def kth_neighbour_distances(feats: np.ndarray | torch.Tensor, k: int,
                            chunk: int = 1000) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the row itself excluded)."""
    with torch.no_grad():
        return _kth_neighbour_sq_distances(_as_tensor(feats, "features"), k, chunk).sqrt()


def prdc(real_feats: np.ndarray | torch.Tensor, fake_feats: np.ndarray | torch.Tensor,
         k: int = 5, chunk: int = 1000) -> dict[str, float]:
    """Precision, recall, density and coverage of fake features against real ones."""
    return prdc_for_ks(real_feats, fake_feats, (k,), chunk)[k]


def prdc_for_ks(real_feats: np.ndarray | torch.Tensor, fake_feats: np.ndarray | torch.Tensor,
                ks: Sequence[int], chunk: int = 1000) -> dict[int, dict[str, float]]:
    """`prdc` for several k at the cost of one: every distance matrix is computed once (the
    protocol's precision/recall use k = 3 and its density/coverage k = 5)."""
    real = _as_tensor(real_feats, "real features")
    fake = _as_tensor(fake_feats, "fake features")
    if real.shape[1] != fake.shape[1]:
        raise GankitError(f"PRDC needs features of one dimension, got {real.shape[1]} (real) "
                          f"and {fake.shape[1]} (fake)")
    ks = sorted(set(ks))
    for k in ks:
        if not 1 <= k < min(len(real), len(fake)):
            raise GankitError(f"PRDC needs 1 <= k < number of points, got k={k} with "
                              f"{len(real)} real and {len(fake)} fake points")
    # Distances do not change under a shift; centring on the real mean keeps the norms in
    # ||a||^2 + ||b||^2 - 2 a.b small, so float32 does not cancel away the distances of
    # features far from the origin.
    centre = real.double().mean(dim=0).float()
    real, fake = real - centre, fake - centre

    with torch.no_grad():
        # Squared radii, like d below: column i is the (ks[i])-th neighbour's.
        real_radii = _neighbour_sq_distances(real, ks[-1], chunk)[:, [k - 1 for k in ks]]
        fake_radii = _neighbour_sq_distances(fake, ks[-1], chunk)[:, [k - 1 for k in ks]]
        real_norms = (real * real).sum(dim=1)
        m = len(ks)
        fake_in_real = torch.empty(m, len(fake), dtype=torch.bool)
        real_balls_per_fake = torch.empty(m, len(fake), dtype=torch.float64)
        real_in_fake = torch.zeros(m, len(real), dtype=torch.bool)
        nearest_fake = torch.full((len(real),), float("inf"))
        # Ball memberships are counted as matrix-vector products of a 0/1 float32 matrix:
        # exact (every count is an integer below 2^24) and several times faster than summing
        # or any()-reducing a bool matrix, which PyTorch's CPU kernels do slowly.
        hits = torch.empty(min(chunk, len(fake)), len(real))
        distances = torch.empty_like(hits)
        ones_real, ones_rows = torch.ones(len(real)), torch.ones(len(hits))
        for start in range(0, len(fake), chunk):
            rows = slice(start, start + chunk)
            n_rows = len(fake[rows])
            d = _squared_distances(fake[rows], real, real_norms, out=distances[:n_rows])
            inside = hits[:n_rows]
            for i in range(m):
                real_balls = torch.lt(d, real_radii[None, :, i], out=inside) @ ones_real
                fake_in_real[i, rows] = real_balls > 0
                real_balls_per_fake[i, rows] = real_balls
                fakes_near = ones_rows[:len(d)] @ torch.lt(d, fake_radii[rows, i, None], out=inside)
                real_in_fake[i] |= fakes_near > 0
            nearest_fake = torch.minimum(nearest_fake, d.min(dim=0).values)

    return {k: {
        "precision": float(fake_in_real[i].double().mean()),
        "recall": float(real_in_fake[i].double().mean()),
        "density": float(real_balls_per_fake[i].mean() / k),
        "coverage": float((nearest_fake < real_radii[:, i]).double().mean()),
    } for i, k in enumerate(ks)}
