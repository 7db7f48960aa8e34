"""Masks of objective inpaint: which pixels of an image are hidden (1) and which visible (0).

Every kind hides one axis-aligned rectangle: half (top, bottom, left or right, drawn
uniformly), quarter (one of the four), box (a rectangle with sides drawn from [min, max], placed
uniformly), all (the whole image), or one named half. `sample_masks` draws a kind per example
from a list; every random number is drawn for every example whatever its kind, so a batch
always takes the same amount from the random stream (a resumed run draws the same masks).
"""

from __future__ import annotations

import torch

from gankit.config.schema import MASK_KINDS
from gankit.errors import GankitError

_HALVES = ("top", "bottom", "left", "right")


def _rects(kind: str, side: torch.Tensor, box: torch.Tensor, height: int,
           width: int) -> torch.Tensor:
    """(n, 4) rows of (r0, r1, c0, c1): the hidden rectangle of each example for one kind."""
    n = len(side)
    h2, w2 = height // 2, width // 2
    if kind in _HALVES:
        side = torch.full((n,), _HALVES.index(kind))
        kind = "half"
    if kind == "half":  # 0 top, 1 bottom, 2 left, 3 right
        r0 = torch.where(side == 1, h2, 0)
        r1 = torch.where(side == 0, h2, height)
        c0 = torch.where(side == 3, w2, 0)
        c1 = torch.where(side == 2, w2, width)
        return torch.stack([r0, r1, c0, c1], 1)
    if kind == "quarter":  # side // 2: lower half of rows, side % 2: right half of columns
        r0, c0 = (side // 2) * h2, (side % 2) * w2
        return torch.stack([r0, r0 + h2, c0, c0 + w2], 1)
    if kind == "box":
        return box
    full = torch.tensor([0, height, 0, width])
    return full.expand(n, 4).clone()


def sample_masks(n: int, size: tuple[int, int], kinds: list[str] | tuple[str, ...],
                 box_size: list[int] | tuple[int, int],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """n masks (n x 1 x H x W, float, 1 = hidden), each of a kind drawn uniformly from `kinds`.

    Drawn on the CPU from `generator` (default: PyTorch's global generator)."""
    height, width = size
    for kind in kinds:
        if kind not in MASK_KINDS:
            raise GankitError(f"unknown mask {kind!r}; choose one of: {', '.join(MASK_KINDS)}")
    lo, hi = int(box_size[0]), int(box_size[1])
    if not 1 <= lo <= hi <= min(height, width):
        raise GankitError(f"inpaint.box_size = [{lo}, {hi}] does not fit {height}x{width} "
                          f"images; use 1 <= min <= max <= {min(height, width)}")
    which = torch.randint(len(kinds), (n,), generator=generator)
    side = torch.randint(4, (n,), generator=generator)
    sides = torch.randint(lo, hi + 1, (n, 2), generator=generator)  # box height, width
    where = torch.rand(n, 2, generator=generator)  # box position, as a share of the free room
    r0 = (where[:, 0] * (height - sides[:, 0] + 1)).long()
    c0 = (where[:, 1] * (width - sides[:, 1] + 1)).long()
    box = torch.stack([r0, r0 + sides[:, 0], c0, c0 + sides[:, 1]], 1)
    rects = torch.stack([_rects(k, side, box, height, width) for k in kinds])  # kinds x n x 4
    r = rects[which, torch.arange(n)]
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    hidden = ((rows >= r[:, 0, None, None]) & (rows < r[:, 1, None, None])
              & (cols >= r[:, 2, None, None]) & (cols < r[:, 3, None, None]))
    return hidden.unsqueeze(1).float()
