"""The GEMM limit of a step: the matrix products and convolutions it runs, replayed alone.

`GemmRecorder` watches one training iteration at PyTorch's dispatcher (below autograd, so the
backward pass's products are seen too) and keeps, for every mm, addmm, bmm, baddbmm,
convolution and convolution backward, the operator and its arguments with each tensor reduced to
its shape, strides and dtype. `GemmReplay` rebuilds those arguments once and runs the operators
back to back: the time that takes is what a perfect implementation of the step would still pay,
since everything else (element-wise work, optimiser updates, Python) could in principle be fused
away or hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

aten = torch.ops.aten
GEMM_OPS = frozenset({
    aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default,
    aten.convolution.default, aten.convolution_backward.default,
})


@dataclass(frozen=True)
class TensorSpec:
    """A tensor as the replay needs it: no values, only its geometry."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device

    @staticmethod
    def of(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return TensorSpec(tuple(value.shape), tuple(value.stride()), value.dtype, value.device)
        return value

    def make(self) -> torch.Tensor:
        """A tensor of this geometry with values in [-1, 1) (strides may overlap, as expand's)."""
        extent = 1 + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        base = torch.empty(max(extent, 1), dtype=self.dtype, device=self.device)
        if self.dtype.is_floating_point:
            base.uniform_(-1, 1)
        else:
            base.zero_()
        return base.as_strided(self.shape, self.stride)


@dataclass(frozen=True)
class GemmCall:
    op: Any  # an aten OpOverload
    args: tuple
    kwargs: dict

    def describe(self) -> str:
        shapes = [a.shape for a in self.args if isinstance(a, TensorSpec)]
        return f"{self.op.__name__}{shapes}"


class GemmRecorder(TorchDispatchMode):
    """Records every matrix product and convolution run inside the `with` block."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[GemmCall] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in GEMM_OPS:
            self.calls.append(GemmCall(func, tree_map(TensorSpec.of, args),
                                       tree_map(TensorSpec.of, kwargs)))
        return func(*args, **kwargs)


class GemmReplay:
    """The recorded calls with real inputs, built once; `run()` executes them all in order."""

    def __init__(self, calls: list[GemmCall]):
        def make(value: Any) -> Any:
            return value.make() if isinstance(value, TensorSpec) else value

        self.calls = [(c.op, tree_map(make, c.args), tree_map(make, c.kwargs)) for c in calls]

    def run(self, repeats: int = 1) -> None:
        for _ in range(repeats):
            for op, args, kwargs in self.calls:
                op(*args, **kwargs)
