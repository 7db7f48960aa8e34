"""Classification error of a semi-supervised discriminator (Salimans et al. 2016, §5): the
argmax of its K class logits, in eval mode (no input noise), against the true labels."""

from __future__ import annotations

import torch

from gankit.errors import GankitError


@torch.no_grad()
def class_errors(D: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                 batch_size: int = 1000) -> int:
    """How many of x's images D's K classes get wrong (D's train/eval mode is restored)."""
    if not hasattr(D, "class_logits"):
        raise GankitError("metric accuracy scores the K class outputs of a semi-supervised "
                          "discriminator; this run's discriminator has only a real/fake output: "
                          "train one with objective: semi (e.g. gankit train mnist-semi-100)")
    was_training = D.training
    D.eval()
    try:
        device = next(D.parameters()).device
        predicted = torch.cat([D.class_logits(x[i:i + batch_size].to(device)).argmax(1).cpu()
                               for i in range(0, len(x), batch_size)])
    finally:
        D.train(was_training)
    return int((predicted != y).sum())
