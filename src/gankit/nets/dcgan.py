"""DCGAN generator and discriminator (Radford et al. 2016), with optional extensions.

Extensions, all off by default:
- class conditioning: conditional batch norm in G, projection discriminator in D
  (Miyato & Koyama 2018);
- self-attention at the 14×14 / 16×16 resolution (SAGAN, Zhang et al. 2019);
- spectral normalisation of every weight layer (Miyato et al. 2018);
- a batch-norm-free discriminator (the WGAN-GP critic, Gulrajani et al. 2017, must not use
  batch norm because the gradient penalty is per sample);
- minibatch standard deviation (Karras et al. 2018) and PacGAN packing (Lin et al. 2018) in D;
- `extra_layers`: stride-1 3×3 convolutions (with batch norm and the net's activation) at every
  hidden resolution, as the `n_extra_layers` option of the DCGAN/WGAN reference code. They add
  depth where the digit's layout is decided (the 7×7 and 14×14 maps) for little compute.

Image sizes are s0·2^n with s0 in {4, 7} and n >= 1 (8, 14, 16, 28, 32, 56, 64, 112, 128, ...):
G starts from an s0×s0 map and doubles the resolution n times; D halves it n times.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nets.layers import (
    ConditionalBatchNorm2d,
    MinibatchStdDev,
    SelfAttention2d,
    check_labels,
    flat_features,
    maybe_spectral_norm,
    pack_samples,
    stored_channels_last,
)

_BASE_SIZES = (4, 7)
_MAX_CHANNEL_MULTIPLIER = 8  # DCGAN's widest layer is 8× its narrowest (1024 vs 128)
_INIT_STD = 0.02  # Radford et al. 2016, section 4: all weights ~ N(0, 0.02)
_ATTENTION_RESOLUTION = 16  # SAGAN found attention at the 32/64 maps (of 128) best; we scale down


def _supported_sizes_text() -> str:
    examples = sorted(s0 * 2**n for s0 in _BASE_SIZES for n in range(1, 6))
    return ", ".join(str(s) for s in examples) + ", ..."


def resolve_size(size: int) -> tuple[int, int]:
    """Split an image size into (s0, n) with size == s0 * 2**n, s0 in {4, 7}, n >= 1.

    Raises GankitError listing the supported sizes otherwise.
    """
    if isinstance(size, int) and not isinstance(size, bool):
        for s0 in _BASE_SIZES:
            ratio = size // s0
            if size % s0 == 0 and ratio >= 2 and ratio & (ratio - 1) == 0:
                return s0, ratio.bit_length() - 1
    raise GankitError(
        f"unsupported image size {size!r} for DCGAN; use 4·2^n or 7·2^n with n >= 1, i.e. "
        f"{_supported_sizes_text()} (resize your images, e.g. 28 for MNIST, 32 for CIFAR-10)"
    )


def _attention_resolution(s0: int, n: int) -> int:
    """The hidden resolution that gets self-attention: the largest one not above 16."""
    hidden = [s0 * 2**k for k in range(n)]  # resolutions strictly between input and image
    candidates = [r for r in hidden if r <= _ATTENTION_RESOLUTION]
    return max(candidates)


def _channels_at(base: int, steps_from_image: int) -> int:
    """Channel count `steps_from_image` halvings away from the image resolution."""
    return base * min(2 ** (steps_from_image - 1), _MAX_CHANNEL_MULTIPLIER)


def _check_options(base: int, channels: int, n_classes: int, extra_layers: int = 0) -> None:
    if not isinstance(extra_layers, int) or isinstance(extra_layers, bool) or extra_layers < 0:
        raise GankitError(
            f"extra_layers must be an integer >= 0 (stride-1 3×3 convolutions per resolution), "
            f"got {extra_layers!r}"
        )
    if base < 1:
        raise GankitError(f"base (width) must be >= 1, got {base}")
    if channels < 1:
        raise GankitError(f"channels must be >= 1 (1 grayscale, 3 RGB), got {channels}")
    if n_classes < 0:
        raise GankitError(f"n_classes must be >= 0 (0 = unconditional), got {n_classes}")


def _init_weight(layer: nn.Module) -> nn.Module:
    """DCGAN init: weights ~ N(0, 0.02), biases 0. Done before any spectral-norm wrapping."""
    nn.init.normal_(layer.weight, 0.0, _INIT_STD)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _extra_layers(
    width: int, count: int, make_norm: Callable[[int], nn.Module], batch_norm: bool, sn: bool
) -> nn.ModuleList:
    """`count` (3×3 stride-1 conv, make_norm(width)) pairs keeping `width` channels; the caller's
    forward applies its activation after each pair."""
    layers = nn.ModuleList()
    for _ in range(count):
        conv = nn.Conv2d(width, width, 3, 1, 1, bias=not batch_norm)
        layers.append(
            nn.ModuleList([maybe_spectral_norm(_init_weight(conv), sn), make_norm(width)])
        )
    return layers


def _init_batch_norms(net: nn.Module) -> None:
    """DCGAN init for batch norm: gammas ~ N(1, 0.02), betas 0 (class-specific ones too)."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d) and module.affine:
            nn.init.normal_(module.weight, 1.0, _INIT_STD)
            nn.init.zeros_(module.bias)
        elif isinstance(module, ConditionalBatchNorm2d) and module.n_classes > 0:
            # The random spread also makes classes differ from the first step.
            nn.init.normal_(module.gamma.weight, 1.0, _INIT_STD)
            nn.init.zeros_(module.beta.weight)


class DCGANGenerator(nn.Module):
    """z (N×z_dim) [+ labels y (N,)] -> images N×channels×size×size in [0, 1].

    Linear projection to an s0×s0 map (s0 = 4 or 7), then stride-2 transposed convolutions
    (4×4 kernels) with batch norm and ReLU, halving the channels while doubling the
    resolution; the last one outputs the image. Labels enter through conditional batch norm.
    `batch_norm=False` removes all normalisation (unconditional only).
    """

    def __init__(
        self,
        z_dim: int = 100,
        channels: int = 1,
        size: int = 28,
        base: int = 64,
        n_classes: int = 0,
        attention: bool = False,
        spectral_norm: bool = False,
        output: str = "sigmoid",
        batch_norm: bool = True,
        extra_layers: int = 0,
    ) -> None:
        super().__init__()
        _check_options(base, channels, n_classes, extra_layers)
        if z_dim < 1:
            raise GankitError(f"z_dim must be >= 1, got {z_dim}")
        if output not in ("sigmoid", "tanh"):
            raise GankitError(f"output must be 'sigmoid' or 'tanh', got {output!r}")
        if n_classes > 0 and not batch_norm:
            raise GankitError(
                "a conditional DCGAN generator needs batch_norm=True (labels enter through "
                "conditional batch norm); only the discriminator/critic must be batch-norm free"
            )
        s0, n = resolve_size(size)
        self.z_dim = z_dim
        self.channels = channels
        self.size = size
        self.n_classes = n_classes
        self.output = output
        self.s0 = s0

        sn = spectral_norm
        width = _channels_at(base, n)
        self.project = maybe_spectral_norm(_init_weight(nn.Linear(z_dim, width * s0 * s0)), sn)
        self.project_norm = self._norm(width, batch_norm)
        self.project_width = width

        attention_at = _attention_resolution(s0, n) if attention else None
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.attentions = nn.ModuleDict()
        # extras[i]: the extra layers at the i-th hidden resolution (s0, 2·s0, ...)
        make_norm = partial(self._norm, batch_norm=batch_norm)
        self.extras = nn.ModuleList(
            [_extra_layers(width, extra_layers, make_norm, batch_norm, sn)]
        )
        resolution = s0
        if attention_at == resolution:
            self.attentions[str(resolution)] = SelfAttention2d(width, spectral_norm=sn)
        for step in range(n - 1, 0, -1):  # hidden upsampling layers; the last is the output
            out_width = _channels_at(base, step)
            up = nn.ConvTranspose2d(width, out_width, 4, 2, 1, bias=not batch_norm)
            self.ups.append(maybe_spectral_norm(_init_weight(up), sn))
            self.norms.append(self._norm(out_width, batch_norm))
            self.extras.append(_extra_layers(out_width, extra_layers, make_norm, batch_norm, sn))
            width, resolution = out_width, resolution * 2
            if attention_at == resolution:
                self.attentions[str(resolution)] = SelfAttention2d(width, spectral_norm=sn)
        to_image = nn.ConvTranspose2d(width, channels, 4, 2, 1)
        self.to_image = maybe_spectral_norm(_init_weight(to_image), sn)
        _init_batch_norms(self)

    def _norm(self, width: int, batch_norm: bool) -> nn.Module:
        if not batch_norm:
            return nn.Identity()
        return ConditionalBatchNorm2d(width, self.n_classes)

    def _refine(self, i: int, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        for conv, norm in self.extras[i]:
            h = torch.relu(self._apply_norm(norm, conv(h), y))
        return h

    def _apply_norm(self, norm: nn.Module, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if isinstance(norm, ConditionalBatchNorm2d):
            return norm(h, y)
        return norm(h)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent vectors ~ N(0, I) on this network's device."""
        device = next(self.parameters()).device
        source = generator.device if generator is not None else device
        return torch.randn(n, self.z_dim, generator=generator, device=source).to(device)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Map z (N×z_dim) and labels y (N,) to images N×C×size×size in [0, 1]."""
        if z.dim() < 2 or z[0].numel() != self.z_dim:
            raise GankitError(
                f"generator expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}"
            )
        y = check_labels(y, self.n_classes, z.shape[0])
        h = self.project(z.reshape(z.shape[0], self.z_dim))
        h = h.view(-1, self.project_width, self.s0, self.s0)
        if stored_channels_last(self._first_conv()):
            # The projection's view is NCHW; every layer after it would mix the two layouts.
            h = h.contiguous(memory_format=torch.channels_last)
        h = torch.relu(self._apply_norm(self.project_norm, h, y))
        h = self._attend(self._refine(0, h, y))
        for i, (up, norm) in enumerate(zip(self.ups, self.norms, strict=True)):
            h = torch.relu(self._apply_norm(norm, up(h), y))
            h = self._attend(self._refine(i + 1, h, y))
        logits = self.to_image(h)
        if self.output == "tanh":
            return (torch.tanh(logits) + 1) / 2  # tanh range [-1, 1] mapped onto [0, 1]
        return torch.sigmoid(logits)

    def _first_conv(self) -> nn.Module:
        """The first convolution the projected map meets (its layout is the net's)."""
        if self.extras[0]:
            return self.extras[0][0][0]
        return self.ups[0] if self.ups else self.to_image

    def _attend(self, h: torch.Tensor) -> torch.Tensor:
        key = str(h.shape[-1])
        return self.attentions[key](h) if key in self.attentions else h


class DCGANDiscriminator(nn.Module):
    """Images N×(channels·pack)×size×size [+ labels y (N,)] -> raw logits (N,).

    Stride-2 4×4 convolutions with LeakyReLU(0.2) and no pooling, batch norm after every
    convolution except the first (none at all with batch_norm=False), down to an s0×s0 map,
    then a linear layer. With n_classes > 0 it is a projection discriminator:
    logit = linear(h) + <embed(y), h> with h the flattened final features.
    With pack = m the input is m samples concatenated along channels (see pack_samples).
    """

    def __init__(
        self,
        channels: int = 1,
        size: int = 28,
        base: int = 64,
        n_classes: int = 0,
        attention: bool = False,
        spectral_norm: bool = False,
        batch_norm: bool = True,
        minibatch_std: bool = False,
        pack: int = 1,
        std_group_size: int = 4,
        extra_layers: int = 0,
    ) -> None:
        super().__init__()
        _check_options(base, channels, n_classes, extra_layers)
        if not isinstance(pack, int) or isinstance(pack, bool) or pack < 1:
            raise GankitError(f"pack must be a positive integer (1 = no packing), got {pack!r}")
        if pack > 1 and n_classes > 0:
            raise GankitError(
                "pack > 1 cannot be combined with a conditional (projection) discriminator: "
                "a packed input mixes several labels; use pack=1 or n_classes=0"
            )
        s0, n = resolve_size(size)
        self.channels = channels
        self.size = size
        self.n_classes = n_classes
        self.pack = pack
        self.in_channels = channels * pack

        sn = spectral_norm
        attention_at = _attention_resolution(s0, n) if attention else None
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.extras = nn.ModuleList()  # extras[i]: extra layers after the i-th stride-2 conv
        self.attentions = nn.ModuleDict()
        width, resolution = self.in_channels, size
        for step in range(1, n + 1):
            out_width = _channels_at(base, step)
            use_bn = batch_norm and step > 1  # DCGAN: no BN on D's input layer
            conv = nn.Conv2d(width, out_width, 4, 2, 1, bias=not use_bn)
            self.convs.append(maybe_spectral_norm(_init_weight(conv), sn))
            self.norms.append(nn.BatchNorm2d(out_width) if use_bn else nn.Identity())
            # Not the input layer, so these get batch norm whenever D has it (nn.Identity
            # ignores its width argument).
            make_norm = nn.BatchNorm2d if batch_norm else nn.Identity
            self.extras.append(_extra_layers(out_width, extra_layers, make_norm, batch_norm, sn))
            width, resolution = out_width, resolution // 2
            if attention_at == resolution:
                self.attentions[str(resolution)] = SelfAttention2d(width, spectral_norm=sn)
        self.minibatch_std = MinibatchStdDev(std_group_size) if minibatch_std else None
        if minibatch_std:
            width += 1
        features = width * s0 * s0
        self.to_logit = maybe_spectral_norm(_init_weight(nn.Linear(features, 1)), sn)
        self.embed = None
        if n_classes > 0:
            self.embed = maybe_spectral_norm(_init_weight(nn.Embedding(n_classes, features)), sn)
        _init_batch_norms(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Score x (N×(C·pack)×size×size) with labels y (N,); returns logits (N,)."""
        expected = (self.in_channels, self.size, self.size)
        if self.pack > 1 and x.dim() == 4 and x.shape[1] * self.pack == self.in_channels:
            # Unpacked batches are packed here, as the MLP discriminator does, so the training
            # loop never needs to know about PacGAN.
            x = pack_samples(x, self.pack)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            hint = " (pack the batch with pack_samples(x, pack) first)" if self.pack > 1 else ""
            raise GankitError(
                f"discriminator expects input of shape (N, {expected[0]}, {expected[1]}, "
                f"{expected[2]}), got {tuple(x.shape)}{hint}"
            )
        y = check_labels(y, self.n_classes, x.shape[0])
        h = x
        for conv, norm, extras in zip(self.convs, self.norms, self.extras, strict=True):
            h = nn.functional.leaky_relu(norm(conv(h)), 0.2)
            for extra, extra_norm in extras:
                h = nn.functional.leaky_relu(extra_norm(extra(h)), 0.2)
            key = str(h.shape[-1])
            if key in self.attentions:
                h = self.attentions[key](h)
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)
        h, order = flat_features(h)
        embed = self.embed
        if order is None:
            logit, embedded = self.to_logit(h), None if embed is None else embed(y)
        else:  # a channels-last map, read in its own order with reordered weights
            logit = nn.functional.linear(h, order(self.to_logit.weight), self.to_logit.bias)
            embedded = None if embed is None else nn.functional.embedding(y, order(embed.weight))
        logit = logit.squeeze(1)
        if embedded is not None:
            # Projection discriminator: inner product of the class embedding with features.
            logit = logit + (embedded * h).sum(dim=1)
        return logit
