"""The speed options of `train:`: how the networks and optimisers run, not what they compute.

Each option is applied once, when the objective builds its networks and optimisers, so the
training step itself has no branches for them:

- `fused_optim`: the optimiser's fused kernel (one pass over each parameter instead of several;
  SGD and Adam), or its multi-tensor `foreach` form where PyTorch has no fused kernel (RMSprop).
  Fused SGD is bit-identical to the default on this build; fused Adam differs by rounding.
- `channels_last`: 4-D weights in NHWC layout, so oneDNN (CPU) and cuDNN (GPU) convolutions
  run without reordering their inputs and outputs at every layer.
- `amp`: `bf16` runs each network's forward pass under torch.autocast (matrix products and
  convolutions in bfloat16) and returns float32 outputs, so losses stay in float32.
- `compile`: torch.compile of each network's forward (and, through AOTAutograd, its backward).
  Dropout stays outside the compiled graphs: compiled code may reorder random draws, and the
  masks must be the eager ones for the results to match within float tolerance.
- `fast_dropout`, `gemm_image_convs`: faster CPU forms of dropout and of transposed convolutions
  with few output channels (train/fastops.py). fast_dropout draws other masks from the same
  seeded stream, so it changes results (not their distribution); the other rounding only.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from gankit.config import TrainConfig
from gankit.train import fastops

AMP_DTYPES = {"bf16": torch.bfloat16}
COMPILE_KWARGS: dict[str, Any] = {}  # torch.compile's arguments (tests use backend="eager")
FUSED_OPTIMIZERS = ("sgd", "adam")  # the rest get foreach


def optimizer_kwargs(name: str, fused: bool) -> dict[str, Any]:
    """Keyword arguments of the torch.optim constructor for `train.fused_optim`."""
    if not fused:
        return {}
    return {"fused": True} if name in FUSED_OPTIMIZERS else {"foreach": True}


def prepare_net(net: nn.Module, train: TrainConfig, device: torch.device) -> nn.Module:
    """Apply the layout, precision and compilation options to a network, in place."""
    if train.channels_last:
        net.to(memory_format=torch.channels_last)
    # CPU only: cuDNN has no such slow cases, and GPUs fuse dropout already
    fastops.install(net, train.fast_dropout, train.gemm_image_convs and device.type == "cpu")
    if train.amp != "off":
        _autocast_forward(net, device.type, AMP_DTYPES[train.amp])
    if train.compile:
        for module in net.modules():
            if isinstance(module, nn.Dropout):
                module.forward = torch.compiler.disable(module.forward)
        net.compile(**COMPILE_KWARGS)
    return net


def _autocast_forward(net: nn.Module, device_type: str, dtype: torch.dtype) -> None:
    """net.forward under autocast with float32 outputs; the state dict is untouched (the
    forward is replaced on the instance, not wrapped in another module)."""
    forward = net.forward

    @functools.wraps(forward)
    def autocast_forward(*args: Any, **kwargs: Any) -> torch.Tensor:
        with torch.autocast(device_type, dtype=dtype):
            out = forward(*args, **kwargs)
        return out.float()

    net.forward = autocast_forward
