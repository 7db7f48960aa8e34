"""Pictures of objective inpaint: a masked digit, several completions from different z, and the
original, one row per digit. `complete_many` is also what benchmarks/inpaint.py scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.data.masks import sample_masks
from gankit.errors import GankitError
from gankit.viz.grid import save_grid

HIDDEN_GREY = 0.5  # how hidden pixels are drawn in the masked input


def check_inpaint_run(run: Any) -> None:
    if run.config.objective != "inpaint":
        raise GankitError(f"gankit viz inpaint needs a run of objective inpaint; {run.path} "
                          f"trained objective {run.config.objective} (train configs/"
                          "mnist-inpaint.yaml)")


def held_out_images(run: Any, n: int) -> torch.Tensor:
    """The first n test images (MNIST's t10k split), else the first n of the training data."""
    cfg = run.config
    if cfg.data.dataset == "mnist":
        from gankit.data.mnist import load_mnist

        return load_mnist("test", cfg.data.dir)[0][:n]
    from gankit.data.dataset import load_training_data

    data = load_training_data(cfg.data, cfg.seed)
    return (data.valid if data.valid is not None else data.x)[:n]


def run_masks(run: Any, kind: str, n: int, seed: int = 0) -> torch.Tensor:
    """n masks of one kind for this run's image size, drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    return sample_masks(n, tuple(run.data_shape[1:]), [kind], run.config.inpaint.box_size, g)


@torch.no_grad()
def complete_many(G: Any, x: torch.Tensor, mask: torch.Tensor, k: int,
                  generator: torch.Generator, batch_size: int = 500) -> torch.Tensor:
    """k completions of every image (k x N x C x H x W), each from its own z."""
    out = torch.empty(k, *x.shape)
    for i in range(k):
        for s in range(0, len(x), batch_size):
            xs, ms = x[s : s + batch_size], mask[s : s + batch_size]
            out[i, s : s + len(xs)] = G.complete(G.sample_z(len(xs), generator=generator), xs, ms)
    return out


def inpaint_rows(G: Any, x: torch.Tensor, mask: torch.Tensor, k: int,
                 generator: torch.Generator) -> torch.Tensor:
    """Rows of (masked input, k completions, original), flattened for a grid of k + 2 columns."""
    masked = torch.where(mask.expand_as(x) > 0, torch.full_like(x, HIDDEN_GREY), x)
    done = complete_many(G, x, mask, k, generator).transpose(0, 1)  # N x k x C x H x W
    return torch.cat([masked[:, None], done, x[:, None]], 1).flatten(0, 1)


@torch.no_grad()
def inpaint_samples(run: Any, n: int, seed: int = 0) -> torch.Tensor:
    """Completions of the first n held-out images, masks drawn as in training (inpaint.masks)."""
    x = held_out_images(run, n)
    g = torch.Generator().manual_seed(seed)
    p = run.config.inpaint
    mask = sample_masks(len(x), tuple(run.data_shape[1:]), p.masks, p.box_size, g)
    return complete_many(run.generator, x, mask, 1, g)[0]


def save_inpainting(run: Any, out: str | Path, kind: str, rows: int = 8, k: int = 6,
                    seed: int = 0) -> Path:
    """The picture of `gankit viz inpaint`: `rows` held-out images with masks of `kind`."""
    check_inpaint_run(run)
    x = held_out_images(run, rows)
    mask = run_masks(run, kind, len(x), seed)
    images = inpaint_rows(run.generator, x, mask, k, torch.Generator().manual_seed(seed + 1))
    return save_grid(images, out, nrow=k + 2)
