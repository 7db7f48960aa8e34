"""Faster CPU forms of two layers, installed by the speed options `train.fast_dropout` and
`train.gemm_image_convs` (train/speedups.py) on a network's own modules.

- Dropout: PyTorch's CPU dropout draws its mask with `bernoulli_`, one double-precision draw
  per element; `torch.rand(...) < keep` draws the same distribution about four times faster
  (float32 uniforms on a 2^-24 grid: the keep probability is off by less than 6e-8). It uses
  the same global generator, so a seeded run is reproducible and a resumed run continues the
  same stream (the checkpoint saves it), but the masks, and so the results, are other ones.
- Transposed convolutions with few output channels (a generator's image layer): oneDNN runs
  these far below its rate elsewhere (measured 3x slower than this on 32 -> 1 channels), so
  they run as one matrix product onto the k x k patches and a `fold` that sums the patches
  into the image; float32 rounding differs (another summation order), nothing else.
  A convolution with few input channels (a discriminator's first layer) keeps oneDNN's
  forward and weight gradient, but its input gradient is such a transposed convolution and
  is computed the same way. Everything is made of differentiable PyTorch ops, so higher-order
  gradients (WGAN-GP's penalty) work as before.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

GEMM_MAX_CHANNELS = 4  # image-sized channel counts (grayscale, RGB, RGBA)


def fast_dropout(module: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
    """`module`'s dropout (inverted: kept units scaled by 1/keep) with a torch.rand mask."""
    p = module.p
    if not module.training or p == 0.0:
        return x
    if x.device.type != "cpu" or p == 1.0 or module.inplace:  # GPUs already fuse dropout
        return F.dropout(x, p, True, module.inplace)
    keep = 1.0 - p
    # lt_ in place on the float32 uniforms leaves 1.0 where kept, 0.0 elsewhere; float32 even
    # under bf16 autocast, where a bf16 uniform would have only 256 levels.
    noise = torch.rand(x.shape, device=x.device).lt_(keep).div_(keep)
    return x * noise.to(x.dtype)


def conv_transpose_gemm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                        stride: tuple[int, int], padding: tuple[int, int],
                        output_padding: tuple[int, int]) -> torch.Tensor:
    """F.conv_transpose2d (groups 1, dilation 1) as x @ W onto patches, then fold."""
    n, c, h, w = x.shape
    out_c, kh, kw = weight.shape[1:]
    out_h = (h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0]
    out_w = (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1]
    # One (out_c k k) x c product per image onto its h w positions; the patches come out in
    # the order fold reads (a transposed input costs fold about twice the time).
    # x.flatten(2) is a view in either layout.
    patches = torch.matmul(weight.reshape(c, out_c * kh * kw).t(), x.flatten(2))
    out = F.fold(patches, (out_h, out_w), (kh, kw), padding=padding, stride=stride)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


class _FewInputsConv(torch.autograd.Function):
    """F.conv2d (groups 1, dilation 1) whose input gradient is conv_transpose_gemm."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                stride: tuple[int, int], padding: tuple[int, int]) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bias is not None
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        g = g.to(weight.dtype)  # a bf16 gradient under autocast: this backward runs in fp32
        stride, padding = ctx.stride, ctx.padding
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            h, w = x.shape[2:]
            kh, kw = weight.shape[2:]
            # the rows and columns the forward's last window did not reach
            extra = (h - ((g.shape[2] - 1) * stride[0] - 2 * padding[0] + kh),
                     w - ((g.shape[3] - 1) * stride[1] - 2 * padding[1] + kw))
            gx = conv_transpose_gemm(g, weight, None, stride, padding, extra).to(x.dtype)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            _, gw, gb = torch.ops.aten.convolution_backward(
                g, x.to(weight.dtype), weight, [weight.shape[0]] if ctx.has_bias else None,
                stride, padding, [1, 1], False, [0, 0], 1,
                [False, ctx.needs_input_grad[1], ctx.needs_input_grad[2]])
        return gx, gw, gb, None, None


def _conv_forward(module: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4:
        return type(module).forward(module, x)
    return _FewInputsConv.apply(x, module.weight, module.bias, module.stride, module.padding)


def _gemm_forward(module: nn.ConvTranspose2d, x: torch.Tensor,
                  output_size: list[int] | None = None) -> torch.Tensor:
    if output_size is not None or x.dim() != 4:  # the cases oneDNN keeps
        return type(module).forward(module, x, output_size)
    return conv_transpose_gemm(x, module.weight, module.bias, module.stride, module.padding,
                               module.output_padding)


def _plain(module: nn.Module) -> bool:
    return (module.groups == 1 and module.dilation == (1, 1) and module.padding_mode == "zeros"
            and not isinstance(module.padding, str))


def gemm_suits(module: nn.Module) -> bool:
    """An image-side convolution: few output channels (transposed) or few input channels."""
    if isinstance(module, nn.ConvTranspose2d):
        return module.out_channels <= GEMM_MAX_CHANNELS and _plain(module)
    return (isinstance(module, nn.Conv2d) and module.in_channels <= GEMM_MAX_CHANNELS
            and _plain(module))


def install(net: nn.Module, dropout: bool, gemm_convs: bool) -> None:
    """Replace the forward of `net`'s dropout and image-sized transposed-convolution modules
    (on the instances: state dicts and parameters are untouched)."""
    for module in net.modules():
        if dropout and isinstance(module, nn.Dropout):
            module.forward = functools.partial(fast_dropout, module)
        elif gemm_convs and gemm_suits(module):
            forward = _gemm_forward if isinstance(module, nn.ConvTranspose2d) else _conv_forward
            module.forward = functools.partial(forward, module)
