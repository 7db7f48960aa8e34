"""One feature pass shared by all metrics, with a small in-memory cache.

FD, KID and PRDC all need the features of the same 10,000 samples (and of the same
reference images); computing them once saves most of an evaluation's time. The cache key is
a hash of the image bytes plus the extractor's class and weights, so a retrained or swapped
extractor never reuses stale features.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

# A few entries are enough: samples and the reference set for one or two extractors.
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, str], torch.Tensor] = OrderedDict()


def _array_hash(x: torch.Tensor) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str((tuple(x.shape), x.dtype)).encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def extractor_name(extractor: nn.Module) -> str:
    """Class name plus a hash of the weights: identifies what produced a set of features.

    When the loader recorded where the weights came from (`weights_source`, e.g. "shipped
    sha256:<prefix of the file's hash>"), that follows in parentheses, so a protocol says which
    weights file was used.
    """
    h = hashlib.blake2b(digest_size=8)
    for key, value in extractor.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    name = f"{type(extractor).__name__}-{h.hexdigest()}"
    source = getattr(extractor, "weights_source", None)
    return f"{name} ({source})" if source else name


def clear_feature_cache() -> None:
    """Forget all cached features."""
    _cache.clear()


def extract_features(extractor: nn.Module, images: np.ndarray | torch.Tensor,
                     batch_size: int = 500) -> torch.Tensor:
    """Features of `images` (N x ...) as an N x F float32 tensor, computed in batches.

    Uses `extractor.features(x)` when the module defines it (gankit's MNIST classifier),
    else `extractor(x)`. The module is put in eval mode and run under no_grad, so results do
    not depend on batch size (no batch-norm statistics, no dropout).
    """
    images = torch.as_tensor(images)
    key = (extractor_name(extractor), _array_hash(images))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]

    extractor.eval()
    forward = getattr(extractor, "features", extractor)
    device = next(extractor.parameters(), torch.empty(0)).device
    with torch.no_grad():
        feats = torch.cat([
            forward(images[i:i + batch_size].to(device, torch.float32)).float().cpu()
            for i in range(0, len(images), batch_size)
        ])

    _cache[key] = feats
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return feats
