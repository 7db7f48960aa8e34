"""Walks and sums in a generator's latent space: interpolation, vector arithmetic, class grids.

Interpolation (Radford et al. 2016, section 6.1; White 2016 for the spherical path): images
G(z(t)) along a path through two or more noise vectors, linear z(t) = (1 - t) z0 + t z1 or
spherical (slerp), which follows the great circle between z0 and z1. For Gaussian z the mass
lies on a shell of radius about sqrt(z_dim); a linear path cuts inside it (the midpoint of two
independent z has norm about 0.71 sqrt(z_dim)), a spherical one stays on it.

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

Conditional runs: z carries the style and y the class, so `class_grid` decodes the same z
for every class (rows = z, columns = classes), and the arithmetic result is shown per class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.viz.grid import make_grid, save_grid

NOISE_SCALE = 0.25  # Radford et al. added uniform noise of +-0.25 to the result vector (Fig. 7)
_PARALLEL = 1e-6  # below this angle (radians) slerp and lerp coincide; avoid 0 / 0


# --- paths ---------------------------------------------------------------------------------


def lerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """(1 - t) z0 + t z1 for each t: len(t) x z_dim; the ends are z0 and z1 exactly."""
    t = t.reshape(-1, 1).to(z0.dtype)
    path = (1 - t) * z0 + t * z1
    return _pin_ends(path, t, z0, z1)


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (Shoemake 1985): sin((1-t)w)/sin w z0 + sin(tw)/sin w z1 with w
    the angle between z0 and z1. Equal-norm ends keep that norm all along the path."""
    t = t.reshape(-1, 1).to(z0.dtype)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega < _PARALLEL:
        return lerp(z0, z1, t)
    path = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    return _pin_ends(path, t, z0, z1)


def _pin_ends(path: Tensor, t: Tensor, z0: Tensor, z1: Tensor) -> Tensor:
    # sin and float rounding leave the ends 1e-7 off; the pictures should start and end on
    # exactly the given z, so set them.
    path = path.clone()
    path[t[:, 0] == 0] = z0
    path[t[:, 0] == 1] = z1
    return path


def interpolate(points: Tensor, steps: int, spherical: bool = False) -> Tensor:
    """A path through `points` (P x z_dim, P >= 2) with `steps` positions per segment
    (ends included, shared between segments): (P - 1) * (steps - 1) + 1 x z_dim."""
    if points.dim() != 2 or len(points) < 2:
        raise GankitError(
            f"interpolation needs at least 2 points (P x z_dim), got {tuple(points.shape)}"
        )
    if steps < 2:
        raise GankitError(f"steps = {steps}: a segment needs at least 2 positions (its two ends)")
    t = torch.linspace(0, 1, steps, dtype=points.dtype)
    walk = slerp if spherical else lerp
    segments = [walk(a, b, t) for a, b in zip(points[:-1], points[1:], strict=True)]
    return torch.cat([segments[0]] + [s[1:] for s in segments[1:]])


def _labels_for(n_classes: int, n: int) -> Tensor | None:
    return (torch.arange(n) % n_classes) if n_classes else None


@torch.no_grad()
def interpolation_images(
    generator: nn.Module,
    n: int = 8,
    points: int = 2,
    steps: int = 10,
    spherical: bool = False,
    seed: int = 0,
    n_classes: int = 0,
    label: int | None = None,
) -> Tensor:
    """n interpolation paths as images: n x L x C x H x W, L = (points - 1) * (steps - 1) + 1.

    Path i runs through `points` fresh noise vectors. For a conditional generator
    (n_classes > 0) path i keeps label i mod n_classes, or `label` for all of them.
    """
    if n < 1 or points < 2:
        raise GankitError(f"need --n >= 1 paths and --points >= 2 (got {n} and {points})")
    g = torch.Generator().manual_seed(seed)
    anchors = generator.sample_z(n * points, generator=g).cpu().reshape(n, points, -1)
    paths = torch.stack([interpolate(a, steps, spherical) for a in anchors])  # n x L x z_dim
    length = paths.shape[1]
    y = None
    if n_classes:
        row_labels = torch.full((n,), label) if label is not None else _labels_for(n_classes, n)
        y = row_labels.repeat_interleave(length)
    device = next(generator.parameters()).device
    images = generator(
        paths.reshape(n * length, -1).to(device), None if y is None else y.to(device)
    )
    return images.cpu().reshape(n, length, *images.shape[1:])


def save_interpolation(
    run: object,
    path: str | Path,
    n: int = 8,
    points: int = 2,
    steps: int = 10,
    slerp: bool = False,
    gif: bool = False,
    seed: int = 0,
    label: int | None = None,
) -> Path:
    """Interpolations of a loaded run (`gankit.train.run.load_run`) as a PNG (one path per row)
    or an animated GIF (each frame shows all n paths at one position, played there and back)."""
    n_classes = _conditional_classes(run)
    _check_label(label, n_classes)
    strips = interpolation_images(
        run.generator, n, points, steps, slerp, seed, n_classes=n_classes, label=label
    )
    path = Path(path)
    if not gif:
        return save_grid(strips.reshape(-1, *strips.shape[2:]), path, nrow=strips.shape[1])
    frames = [_to_pil(make_grid(strips[:, i])) for i in range(strips.shape[1])]
    frames = frames + frames[-2:0:-1]  # there and back, so the loop has no jump
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=120, loop=0)
    return path


def _to_pil(array: np.ndarray, scale: int = 2) -> Image.Image:
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


# --- measurable style ----------------------------------------------------------------------


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
    labels = _labels_for(n_classes, pool)
    if labels is not None:
        labels = labels[torch.randperm(pool, generator=g)]
        classes = labels
    images = _decode(generator, z, labels, device)
    groups = style_groups(images, k, classes)
    radius = z.norm(dim=1).mean().item()
    a, b, c = formula
    means = {name: _on_shell(z[groups[name]].mean(dim=0), radius) for name in formula}
    result = _on_shell(means[a] - means[b] + means[c], radius)
    # Group averages are decoded with the first group member's label (conditional nets).
    mean_labels = {n: None if labels is None else labels[groups[n][:1]] for n in formula}
    mean_images = {
        n: _decode(generator, means[n][None], mean_labels[n], device)[0] for n in formula
    }
    if n_classes:
        result_labels = torch.arange(n_classes)
        result_z = result.expand(n_classes, -1)
    else:
        result_labels = None
        noise = (torch.rand(variations, len(result), generator=g) * 2 - 1) * NOISE_SCALE
        result_z = torch.cat([result[None], result + noise])
    result_images = _decode(generator, result_z, result_labels, device)
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


def _decode(
    generator: nn.Module, z: Tensor, y: Tensor | None, device: torch.device, batch: int = 500
) -> Tensor:
    out = []
    for i in range(0, len(z), batch):
        yy = None if y is None else y[i : i + batch].to(device)
        out.append(generator(z[i : i + batch].to(device), yy).cpu())
    return torch.cat(out)


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
        n_classes=_conditional_classes(run),
        classes=classes,
    )
    draw_arithmetic(result, path)
    return result


# --- conditional: the same z for every class -------------------------------------------------


@torch.no_grad()
def class_grid(generator: nn.Module, n: int, n_classes: int, seed: int = 0) -> Tensor:
    """n rows of n_classes images: row i decodes one z with every label, in order.
    Returned flat (n * n_classes x C x H x W), for make_grid with nrow = n_classes."""
    if n_classes < 1:
        raise GankitError("a class grid needs a conditional run (data.conditional=true)")
    g = torch.Generator().manual_seed(seed)
    z = generator.sample_z(n, generator=g).cpu().repeat_interleave(n_classes, dim=0)
    y = torch.arange(n_classes).repeat(n)
    return _decode(generator, z, y, next(generator.parameters()).device)


def save_class_grid(run: object, path: str | Path, n: int = 8, seed: int = 0) -> Path:
    n_classes = _conditional_classes(run)
    return save_grid(class_grid(run.generator, n, n_classes, seed), path, nrow=max(n_classes, 1))


def _conditional_classes(run: object) -> int:
    """The run's class count when it is conditional, else 0."""
    cfg = run.config
    return int(run.n_classes) if cfg.data.conditional and run.n_classes else 0


def _check_label(label: int | None, n_classes: int) -> None:
    if label is None:
        return
    if not n_classes:
        raise GankitError("--label needs a run trained with data.conditional=true")
    if not 0 <= label < n_classes:
        raise GankitError(
            f"--label {label} is out of range; this run has labels 0..{n_classes - 1}"
        )


def check_image_run(run: object) -> None:
    """Latent pictures decode images; 2-D point runs have none."""
    if len(run.data_shape) != 3:
        raise GankitError(
            f"latent-space pictures need an image run; {run.path} makes points of shape "
            f"{tuple(run.data_shape)} (try gankit sample for a scatter plot)"
        )
