"""Building blocks shared by the convolutional GANs.

- `ConditionalBatchNorm2d`: class-specific scale and shift (de Vries et al. 2017; used by
  Miyato & Koyama 2018 and SAGAN for class-conditional generators).
- `SelfAttention2d`: the SAGAN attention block (Zhang et al. 2019).
- `maybe_spectral_norm`: spectral normalisation (Miyato et al. 2018) behind a flag.
- `MinibatchStdDev`: the minibatch standard-deviation feature (Karras et al. 2018).
- `pack_samples`: PacGAN packing (Lin et al. 2018).
- `check_labels`: validation of class labels passed to conditional networks.
- `channels_last_only`, `stored_channels_last`, `flat_features`: keep a channels-last network
  (train.channels_last) in one layout where a flat tensor becomes a map or a map becomes flat.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import GankitError


def check_labels(y: torch.Tensor | None, n_classes: int, batch_size: int) -> torch.Tensor | None:
    """Validate labels for a network built with `n_classes` (0 = unconditional); returns y.

    Labels must be an integer tensor of shape (batch_size,) with values in [0, n_classes).
    The range is read from the values only in eager mode on the CPU: on a GPU reading them
    waits for the device at every call, and under torch.compile it splits the graph; there the
    embedding's own index check stops out-of-range labels.
    """
    if n_classes == 0:
        if y is not None:
            raise GankitError(
                "labels were given to an unconditional network; pass y=None or build the "
                "network with n_classes > 0"
            )
        return None
    if y is None:
        raise GankitError(
            f"this network is conditional (n_classes={n_classes}); pass integer class labels y "
            "of shape (N,)"
        )
    if y.dtype in (torch.bool,) or y.is_floating_point() or y.is_complex():
        raise GankitError(f"labels must be an integer tensor, got dtype {y.dtype}; use y.long()")
    if y.dim() != 1 or y.shape[0] != batch_size:
        raise GankitError(
            f"labels must have shape ({batch_size},) to match the batch, got {tuple(y.shape)}"
        )
    if batch_size > 0 and y.device.type == "cpu" and not torch.compiler.is_compiling():
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_classes:
            raise GankitError(
                f"labels must lie in [0, {n_classes - 1}] (n_classes={n_classes}), "
                f"got values in [{low}, {high}]"
            )
    return y


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d whose scale and shift are looked up per class.

    With n_classes == 0 it is exactly a plain (affine) BatchNorm2d and ignores y.
    Class gammas start at 1 and betas at 0, so at initialisation every class matches BN.
    """

    def __init__(self, num_features: int, n_classes: int) -> None:
        super().__init__()
        if n_classes < 0:
            raise GankitError(f"n_classes must be >= 0 (0 = unconditional), got {n_classes}")
        self.num_features = num_features
        self.n_classes = n_classes
        # The normalisation itself is shared; only the affine part is class-specific.
        self.bn = nn.BatchNorm2d(num_features, affine=n_classes == 0)
        if n_classes > 0:
            self.gamma = nn.Embedding(n_classes, num_features)
            self.beta = nn.Embedding(n_classes, num_features)
            nn.init.ones_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Normalise x (N×C×H×W) and apply the scale/shift of each sample's class y (N,)."""
        out = self.bn(x)
        if self.n_classes == 0:
            return out
        y = check_labels(y, self.n_classes, x.shape[0])
        gamma = self.gamma(y)[:, :, None, None]
        beta = self.beta(y)[:, :, None, None]
        return gamma * out + beta


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap `module`'s weight in spectral normalisation (Miyato et al. 2018) when `enabled`.

    Uses torch's parametrization API, so `module.weight` is W / sigma(W) and the raw weight
    lives in `module.parametrizations.weight.original`. One power iteration per training-mode
    forward pass refines the sigma estimate.
    """
    if not enabled:
        return module
    return spectral_norm(module)


class SelfAttention2d(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): out = gamma * attention(x) + x.

    Query and key are 1×1 convolutions to C/8 channels, value a 1×1 convolution to C; the
    attention map is a softmax over all H·W positions. gamma starts at 0, so the block is the
    identity at initialisation and the network learns how much non-local evidence to use.
    """

    def __init__(self, channels: int, spectral_norm: bool = False) -> None:
        super().__init__()
        if channels < 1:
            raise GankitError(f"SelfAttention2d needs channels >= 1, got {channels}")
        key_channels = max(channels // 8, 1)  # C/8 as in the paper; at least one channel
        self.query = maybe_spectral_norm(nn.Conv2d(channels, key_channels, 1), spectral_norm)
        self.key = maybe_spectral_norm(nn.Conv2d(channels, key_channels, 1), spectral_norm)
        self.value = maybe_spectral_norm(nn.Conv2d(channels, channels, 1), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply attention to x (N×C×H×W); the output has the same shape."""
        n, c, h, w = x.shape
        query = self.query(x).flatten(2)  # N × C' × HW
        key = self.key(x).flatten(2)  # N × C' × HW
        value = self.value(x).flatten(2)  # N × C × HW
        # attention[n, i, j]: how much output position i attends to input position j.
        attention = torch.softmax(torch.bmm(query.transpose(1, 2), key), dim=-1)
        attended = torch.bmm(value, attention.transpose(1, 2)).view(n, c, h, w)
        return self.gamma * attended + x


class MinibatchStdDev(nn.Module):
    """Append the average per-feature standard deviation across the batch as a feature.

    Karras et al. 2018 (ProGAN), section 3: within each group of `group_size` samples compute
    the std of every feature (and spatial location), average it to one number, and append it
    as one extra channel (N×C×H×W -> N×(C+1)×H×W) or feature (N×F -> N×(F+1)). This lets D
    see batch-level diversity and so penalises mode collapse.

    If the batch size is not divisible by `group_size`, the largest divisor of the batch size
    not above `group_size` is used, so odd final batches still work.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        if group_size < 1:
            raise GankitError(f"minibatch-std group_size must be >= 1, got {group_size}")
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return x with one extra channel (conv input) or feature (flat input)."""
        if x.dim() not in (2, 4):
            raise GankitError(
                f"MinibatchStdDev expects N×F or N×C×H×W input, got shape {tuple(x.shape)}"
            )
        n = x.shape[0]
        group = min(self.group_size, n)
        while n % group != 0:
            group -= 1
        grouped = x.reshape(group, n // group, *x.shape[1:])  # sample i is in group i % (n/G)
        # Biased variance + epsilon before the sqrt as in ProGAN, so a group of 1 gives ~0.
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (n/G) × features
        stat = std.flatten(1).mean(dim=1)  # one number per group
        stat = stat.repeat(group)  # back to one value per sample, same group layout
        if x.dim() == 4:
            extra = stat.view(n, 1, 1, 1).expand(n, 1, x.shape[2], x.shape[3])
            if channels_last_only(x):  # so that cat keeps x's layout (train.channels_last)
                extra = extra.contiguous(memory_format=torch.channels_last)
        else:
            extra = stat.view(n, 1)
        return torch.cat([x, extra.to(x.dtype)], dim=1)


def pack_samples(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing (Lin et al. 2018): join each run of m consecutive samples into one.

    N×C×H×W -> (N/m)×(mC)×H×W (concatenated along channels); N×F -> (N/m)×(mF).
    The discriminator then judges m samples jointly, which penalises mode collapse.
    """
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise GankitError(f"pack size must be a positive integer, got {m!r}")
    if x.dim() < 2:
        raise GankitError(f"pack_samples needs batched input N×..., got shape {tuple(x.shape)}")
    n = x.shape[0]
    if n % m != 0:
        raise GankitError(
            f"batch size {n} is not divisible by the pack size {m}; use a batch size that is "
            f"a multiple of {m} (e.g. {max(m, n - n % m)})"
        )
    # Row-major reshape puts samples k*m .. k*m+m-1 side by side along dim 1.
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])


def channels_last_only(t: torch.Tensor) -> bool:
    """Whether a 4-D tensor is laid out channels-last and not also NCHW-contiguous, as a tensor
    with one channel or a 1 x 1 map can be both."""
    return (t.dim() == 4 and not t.is_contiguous()
            and t.is_contiguous(memory_format=torch.channels_last))


def stored_channels_last(module: nn.Module) -> bool:
    """Whether a convolution's weight is stored channels-last (train.channels_last). Spectral
    norm's raw weight is read, not `module.weight`, which would run a power iteration."""
    if parametrize.is_parametrized(module, "weight"):
        return channels_last_only(module.parametrizations.weight.original)
    return channels_last_only(module.weight)


Reorder = Callable[[torch.Tensor], torch.Tensor]


def flat_features(h: torch.Tensor) -> tuple[torch.Tensor, Reorder | None]:
    """h (N x C x H x W) as N rows of features, and how a weight over flat(h)'s features (its
    last dimension, in C, H, W order, as the state dict keeps it) must be reordered to match:
    None when h.flatten(1) is the answer (then the weight's own module can be called).

    A channels-last map is read in its own (H, W, C) order, as a view, and the weight (one
    logit's row, or a class embedding: a few rows) is reordered instead: flattening the map
    in C, H, W order would copy it, and its gradient would come back in NCHW order, which the
    channels-last activation before it then reads, with its own input, in two layouts (several
    times slower in PyTorch's CPU kernels). Same sums in another order: float rounding only.
    """
    if not channels_last_only(h):
        return h.flatten(1), None
    n, c, height, width = h.shape

    def channels_last_order(weight: torch.Tensor) -> torch.Tensor:
        rows = weight.shape[0]
        return weight.view(rows, c, height, width).permute(0, 2, 3, 1).reshape(rows, -1)

    return h.permute(0, 2, 3, 1).reshape(n, -1), channels_last_order
