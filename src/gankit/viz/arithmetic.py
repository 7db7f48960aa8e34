"""Vector arithmetic in a generator's latent space.

Vector arithmetic (Radford et al. 2016, section 6.3, the "man with glasses - man without
glasses + woman without glasses" example): average the z of a few samples in each of three
groups A, B, C and decode mean(A) - mean(B) + mean(C). For MNIST the groups are chosen
automatically from two measurable properties of the generated digits:

- stroke thickness: `ink`, the mean pixel intensity (more ink at equal size = thicker strokes);
- slant: `slant`, the shear of the digit from its second image moments, -mu11 / mu02 with x to
  the right and y down (the correction used for deskewing MNIST); positive = leaning right.

Scores are standardised within each class (the run's labels, or classifier predictions when
given) so that "thick" does not just mean "a zero" and "thin" "a one". The default sum is
thick - thin + slanted: thick = high ink and upright, thin = low ink and upright, slanted =
strongly right-leaning at typical thickness; the result should be a slanted digit with thick
strokes, and its measured ink and slant are returned so the claim can be checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.viz.latent import (
    NOISE_SCALE,
    conditional_classes,
    decode,
    labels_for,
)


def ink(images: Tensor) -> Tensor:
    """Mean pixel intensity per image (N,): at equal digit size, thicker strokes mean more ink."""
    return images.reshape(len(images), -1).mean(dim=1)


def slant(images: Tensor) -> Tensor:
    """Shear per image (N,) from second moments: -mu11 / mu02 (x right, y down), i.e. how far x
    moves per unit of height going up. Positive = leaning right like '/'; 0 = upright."""
    w = images.mean(dim=1) if images.dim() == 4 else images  # N x H x W, channels averaged
    h, wd = w.shape[-2:]
    ys = torch.arange(h, dtype=w.dtype).reshape(1, h, 1)
    xs = torch.arange(wd, dtype=w.dtype).reshape(1, 1, wd)
    mass = w.sum(dim=(1, 2)).clamp_min(1e-8)
    cx = (w * xs).sum(dim=(1, 2)) / mass
    cy = (w * ys).sum(dim=(1, 2)) / mass
    dx = xs - cx.reshape(-1, 1, 1)
    dy = ys - cy.reshape(-1, 1, 1)
    mu11 = (w * dx * dy).sum(dim=(1, 2)) / mass
    mu02 = (w * dy * dy).sum(dim=(1, 2)) / mass
    return -mu11 / mu02.clamp_min(1e-8)


def standardize_within(scores: Tensor, classes: Tensor | None) -> Tensor:
    """z-scores of `scores`, computed separately inside each class when classes are given."""
    out = torch.empty_like(scores)
    groups = (
        [torch.ones_like(scores, dtype=torch.bool)]
        if classes is None
        else [classes == c for c in classes.unique()]
    )
    for mask in groups:
        s = scores[mask]
        out[mask] = (s - s.mean()) / s.std().clamp_min(1e-8) if len(s) > 1 else 0.0
    return out


def style_groups(images: Tensor, k: int, classes: Tensor | None = None) -> dict[str, Tensor]:
    """Indices of the k most "thick", "thin" and "slanted" images (see the module docstring)."""
    if k < 1 or 3 * k > len(images):
        raise GankitError(f"k = {k} per group needs 1 <= k and 3k <= {len(images)} pool images")
    s_ink = standardize_within(ink(images), classes)
    s_slant = standardize_within(slant(images), classes)
    chosen: dict[str, Tensor] = {}
    taken = torch.zeros(len(images), dtype=torch.bool)
    for name, score in (
        ("thick", s_ink - s_slant.abs()),
        ("thin", -s_ink - s_slant.abs()),
        ("slanted", s_slant - s_ink.abs()),
    ):
        score = score.masked_fill(taken, -math.inf)  # a sample belongs to one group at most
        chosen[name] = score.topk(k).indices
        taken[chosen[name]] = True
    return chosen


# --- vector arithmetic ---------------------------------------------------------------------


@dataclass
class Arithmetic:
    """Groups A, B, C with their z, images and mean vectors, and the decoded A - B + C."""

    names: tuple[str, str, str]
    z: dict[str, Tensor]  # name -> k x z_dim
    images: dict[str, Tensor]  # name -> k x C x H x W
    mean_images: dict[str, Tensor]  # name -> C x H x W, G(mean z) after rescaling
    result_z: Tensor  # z_dim
    result_images: Tensor  # m x C x H x W: the result, then variations (or one per class)
    result_labels: Tensor | None
    measured: dict[str, dict[str, float]]  # name or "result" -> {"ink": ..., "slant": ...}


def _on_shell(z: Tensor, radius: float) -> Tensor:
    # A mean of k Gaussian vectors has norm ~ sqrt(z_dim / k): inside the shell where G saw
    # its training inputs. Rescale averages and sums to the pool's typical norm.
    return z * (radius / z.norm(dim=-1, keepdim=True).clamp_min(1e-8))


@torch.no_grad()
def latent_arithmetic(
    generator: nn.Module,
    k: int = 8,
    pool: int = 2000,
    seed: int = 0,
    n_classes: int = 0,
    classes: Tensor | None = None,
    variations: int = 7,
    formula: tuple[str, str, str] = ("thick", "thin", "slanted"),
) -> Arithmetic:
    """Decode mean(A) - mean(B) + mean(C) for groups picked by `style_groups` from `pool`
    generated samples. `classes`: optional pool class predictions for the standardisation
    (conditional generators use their own labels). The result is shown with `variations`
    noisy copies (uniform +-0.25, Radford et al.), or once per class for conditional nets."""
    g = torch.Generator().manual_seed(seed)
    device = next(generator.parameters()).device
    z = generator.sample_z(pool, generator=g).cpu()
    labels = labels_for(n_classes, pool)
    if labels is not None:
        labels = labels[torch.randperm(pool, generator=g)]
        classes = labels
    images = decode(generator, z, labels, device)
    groups = style_groups(images, k, classes)
    radius = z.norm(dim=1).mean().item()
    a, b, c = formula
    means = {name: _on_shell(z[groups[name]].mean(dim=0), radius) for name in formula}
    result = _on_shell(means[a] - means[b] + means[c], radius)
    # Group averages are decoded with the first group member's label (conditional nets).
    mean_labels = {n: None if labels is None else labels[groups[n][:1]] for n in formula}
    mean_images = {
        n: decode(generator, means[n][None], mean_labels[n], device)[0] for n in formula
    }
    if n_classes:
        result_labels = torch.arange(n_classes)
        result_z = result.expand(n_classes, -1)
    else:
        result_labels = None
        noise = (torch.rand(variations, len(result), generator=g) * 2 - 1) * NOISE_SCALE
        result_z = torch.cat([result[None], result + noise])
    result_images = decode(generator, result_z, result_labels, device)
    measured = {
        n: {
            "ink": ink(images[groups[n]]).mean().item(),
            "slant": slant(images[groups[n]]).mean().item(),
        }
        for n in formula
    }
    measured["result"] = {
        "ink": ink(result_images).mean().item(),
        "slant": slant(result_images).mean().item(),
    }
    return Arithmetic(
        names=formula,
        z={n: z[groups[n]] for n in formula},
        images={n: images[groups[n]] for n in formula},
        mean_images=mean_images,
        result_z=result,
        result_images=result_images,
        result_labels=result_labels,
        measured=measured,
    )


def draw_arithmetic(result: Arithmetic, path: str | Path, show: int = 6) -> Path:
    """The Radford et al. Figure 7 layout: one row per group (members, then G(mean z)), then
    the result row, with the measured ink and slant of each row in its label."""
    from matplotlib.figure import Figure

    a, b, c = result.names
    rows = [
        (
            f"{n}\nink {result.measured[n]['ink']:.3f}\nslant {result.measured[n]['slant']:+.2f}",
            list(result.images[n][:show]) + [result.mean_images[n]],
            ["" for _ in result.images[n][:show]] + ["G(mean z)"],
        )
        for n in result.names
    ]
    res = result.measured["result"]
    res_titles = (
        [f"y={int(y)}" for y in result.result_labels]
        if result.result_labels is not None
        else ["result"] + ["+ noise" for _ in result.result_images[1:]]
    )
    rows.append(
        (
            f"{a} − {b} + {c}\nink {res['ink']:.3f}\nslant {res['slant']:+.2f}",
            list(result.result_images),
            res_titles,
        )
    )
    cols = max(len(images) for _, images, _ in rows)
    fig = Figure(figsize=(1.0 * cols + 1.6, 1.25 * len(rows)), dpi=110)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (label, images, titles) in enumerate(rows):
        for col in range(cols):
            ax = axes[r][col]
            ax.set_axis_off()
            if col < len(images):
                ax.imshow(_as_hwc(images[col]), cmap="gray", vmin=0, vmax=1)
                if titles[col]:
                    ax.set_title(titles[col], fontsize=7)
        axes[r][0].text(
            -0.15, 0.5, label, transform=axes[r][0].transAxes, ha="right", va="center", fontsize=8
        )
    fig.subplots_adjust(
        left=1.5 / (cols + 1.6), right=0.99, top=0.93, bottom=0.02, wspace=0.08, hspace=0.45
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _as_hwc(image: Tensor) -> np.ndarray:
    array = image.clamp(0, 1).permute(1, 2, 0).numpy()
    return array[..., 0] if array.shape[2] == 1 else array


def save_arithmetic(
    run: object,
    path: str | Path,
    k: int = 8,
    pool: int = 2000,
    seed: int = 0,
    classes: Tensor | None = None,
) -> Arithmetic:
    """`latent_arithmetic` on a loaded run, drawn to `path`; returns the numbers behind it."""
    result = latent_arithmetic(
        run.generator,
        k=k,
        pool=pool,
        seed=seed,
        n_classes=conditional_classes(run),
        classes=classes,
    )
    draw_arithmetic(result, path)
    return result


# --- conditional: the same z for every class -------------------------------------------------
