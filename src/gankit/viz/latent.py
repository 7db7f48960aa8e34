"""Walks in a generator's latent space: interpolation and class grids (arithmetic.py does
vector arithmetic).

Interpolation (Radford et al. 2016, section 6.1; White 2016 for the spherical path): images
G(z(t)) along a path through two or more noise vectors, linear z(t) = (1 - t) z0 + t z1 or
spherical (slerp), which follows the great circle between z0 and z1. For Gaussian z the mass
lies on a shell of radius about sqrt(z_dim); a linear path cuts inside it (the midpoint of two
independent z has norm about 0.71 sqrt(z_dim)), a spherical one stays on it.

Conditional runs: z carries the style and y the class, so `class_grid` decodes the same z
for every class (rows = z, columns = classes), and the arithmetic result is shown per class.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.viz.grid import make_grid, save_grid

GIF_MIN_WIDTH = 400  # pixels: an interpolation GIF is enlarged to at least this width
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


def labels_for(n_classes: int, n: int) -> Tensor | None:
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
        row_labels = torch.full((n,), label) if label is not None else labels_for(n_classes, n)
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
    n_classes = conditional_classes(run)
    check_label(label, n_classes)
    strips = interpolation_images(
        run.generator, n, points, steps, slerp, seed, n_classes=n_classes, label=label
    )
    path = Path(path)
    if not gif:
        return save_grid(strips.reshape(-1, *strips.shape[2:]), path, nrow=strips.shape[1])
    grids = [make_grid(strips[:, i]) for i in range(strips.shape[1])]
    # Whole pixels, enough of them that the GIF is at least GIF_MIN_WIDTH wide (8 MNIST paths
    # make a 92 px grid).
    scale = max(2, math.ceil(GIF_MIN_WIDTH / grids[0].shape[1]))
    frames = [to_pil(grid, scale) for grid in grids]
    frames = frames + frames[-2:0:-1]  # there and back, so the loop has no jump
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=120, loop=0)
    return path


def to_pil(array: np.ndarray, scale: int = 2) -> Image.Image:
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


# --- measurable style ----------------------------------------------------------------------


def decode(
    generator: nn.Module, z: Tensor, y: Tensor | None, device: torch.device, batch: int = 500
) -> Tensor:
    out = []
    for i in range(0, len(z), batch):
        yy = None if y is None else y[i : i + batch].to(device)
        out.append(generator(z[i : i + batch].to(device), yy).cpu())
    return torch.cat(out)


@torch.no_grad()
def class_grid(generator: nn.Module, n: int, n_classes: int, seed: int = 0) -> Tensor:
    """n rows of n_classes images: row i decodes one z with every label, in order.
    Returned flat (n * n_classes x C x H x W), for make_grid with nrow = n_classes."""
    if n_classes < 1:
        raise GankitError("a class grid needs a conditional run (data.conditional=true)")
    g = torch.Generator().manual_seed(seed)
    z = generator.sample_z(n, generator=g).cpu().repeat_interleave(n_classes, dim=0)
    y = torch.arange(n_classes).repeat(n)
    return decode(generator, z, y, next(generator.parameters()).device)


def save_class_grid(run: object, path: str | Path, n: int = 8, seed: int = 0) -> Path:
    n_classes = conditional_classes(run)
    return save_grid(class_grid(run.generator, n, n_classes, seed), path, nrow=max(n_classes, 1))


def conditional_classes(run: object) -> int:
    """The run's class count when it is conditional, else 0."""
    cfg = run.config
    return int(run.n_classes) if cfg.data.conditional and run.n_classes else 0


def check_label(label: int | None, n_classes: int) -> None:
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
