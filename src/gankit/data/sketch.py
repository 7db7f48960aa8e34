"""The sketch of an MNIST digit that `data.dataset: mnist-sketch` pairs with it: its outline.

The procedure (fixed; tests/test_pix2pix_data.py checks it on hand-made images):
1. binarise: a pixel is ink where its value is >= 0.5 (MNIST is in [0, 1]);
2. dilate the ink by the 3x3 cross (the pixel and its 4 neighbours; outside the image is
   background);
3. the outline is the dilation minus the ink: the background pixels that touch the ink on a side
   (the outer half of a morphological gradient). Outline pixels are 1, everything else 0.

The outline never overlaps the digit, so G must fill in the stroke between the lines it is
given (and its grey anti-aliased edge), rather than copy the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

INK_THRESHOLD = 0.5


def outline(x: torch.Tensor, threshold: float = INK_THRESHOLD) -> torch.Tensor:
    """The outline sketch of images x (N x 1 x H x W in [0, 1]), float {0, 1}, same shape."""
    ink = (x >= threshold).to(torch.float32)
    p = F.pad(ink, (1, 1, 1, 1))
    grown = torch.stack([ink, p[..., :-2, 1:-1], p[..., 2:, 1:-1], p[..., 1:-1, :-2],
                         p[..., 1:-1, 2:]]).amax(dim=0)
    return grown - ink
