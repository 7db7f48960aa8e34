"""Images from sentences, for text-to-image runs (objective text2image): samples for one
sentence, and a walk between two sentences' embeddings (the GAN-INT manifold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError


def check_text_run(run: Any, option: str = "--text") -> None:
    """A GankitError unless the run turns sentences into images."""
    if run.config.objective != "text2image":
        raise GankitError(
            f"{option} needs a text-to-image run (objective: text2image, e.g. configs/"
            f"mnist-text2digit.yaml); {run.path} trains objective {run.config.objective}; "
            "drop the option (conditional runs take --labels)")


@torch.no_grad()
def sample_text(run: Any, text: str, n: int, seed: int = 0) -> torch.Tensor:
    """n samples (N x data shape) of the run's generator for one sentence, noise from `seed`."""
    check_text_run(run)
    g = run.generator
    tokens = g.tokenizer.encode([text], "--text").repeat(n, 1)
    z = g.sample_z(n, generator=torch.Generator().manual_seed(seed))
    return g(z, tokens)


@torch.no_grad()
def text_interpolation(run: Any, start: str, end: str, rows: int = 4, steps: int = 8,
                       seed: int = 0) -> torch.Tensor:
    """rows x steps images: each row keeps one noise vector while the sentence embedding moves
    in a straight line from `start`'s to `end`'s (Reed et al. 2016, Figure 8's layout)."""
    check_text_run(run, "text-interpolate")
    g = run.generator
    tokens = [g.tokenizer.encode([text], where) for where, text in (("--from", start),
                                                                     ("--to", end))]
    width = max(t.shape[1] for t in tokens)
    e = g.encoder(torch.cat([torch.nn.functional.pad(t, (0, width - t.shape[1])) for t in tokens]))
    w = torch.linspace(0, 1, steps).view(1, steps, 1)
    path = (1 - w) * e[0] + w * e[1]  # 1 x steps x embed
    z = g.sample_z(rows, generator=torch.Generator().manual_seed(seed))
    z = z.unsqueeze(1).expand(rows, steps, -1).reshape(rows * steps, -1)
    emb = path.expand(rows, steps, -1).reshape(rows * steps, -1)
    return g.from_embedding(z, emb)


def save_text_interpolation(run: Any, start: str, end: str, out: str | Path, rows: int = 4,
                            steps: int = 8, seed: int = 0) -> Path:
    from gankit.viz.grid import save_grid

    images = text_interpolation(run, start, end, rows, steps, seed)
    return save_grid(images, out, nrow=steps)
