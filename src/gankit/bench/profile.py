"""Where an iteration's CPU time goes: torch.profiler's self CPU time of each operator, summed
into a few kinds of work. It says what a faster step would have to remove: the GEMM limit
(gemm.py) counts only the matrix products, so everything else here is what separates an
iteration from it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from torch.profiler import ProfilerActivity, profile

# Operator name -> kind of work; the first rule that matches wins, the rest is "other".
MATRIX = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv",
          "aten::mkldnn_convolution", "aten::convolution_backward", "aten::_convolution",
          "aten::mkldnn_linear", "aten::_mkldnn_transpose", "aten::slow_conv")
OPTIMISER = ("aten::_fused_", "aten::_foreach_", "Optimizer.")
RANDOM = ("aten::uniform_", "aten::bernoulli", "aten::normal_", "aten::rand", "aten::randn",
          "aten::random_")
KINDS = ("matrix products", "optimiser", "random numbers", "other")


def kind_of(name: str) -> str:
    """The kind of work an operator's self time counts as."""
    for kind, prefixes in (("matrix products", MATRIX), ("optimiser", OPTIMISER),
                           ("random numbers", RANDOM)):
        if name.startswith(prefixes):
            return kind
    return "other"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null: the profiler's C++ side announces every start and stop
    there ("USDT: ... profiler_start"), which no setting turns off; a Python error still
    propagates and is printed after the descriptor is back."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _scope_of(event) -> str:
    """The event's name, or its optimiser step's when it runs inside one: a single-tensor
    optimiser's add_ and mul_ are the optimiser's work, not element-wise layers'."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("Optimizer."):
            return parent.name
        parent = parent.cpu_parent
    return event.name


def time_shares(iteration: Callable[[], None], n: int = 10) -> dict[str, float]:
    """The share of self CPU time each kind of work (KINDS) takes over n calls of `iteration`,
    on the CPU (the profiler's own overhead is spread over every operator alike)."""
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            iteration()
    totals = dict.fromkeys(KINDS, 0.0)
    for event in prof.events():
        totals[kind_of(_scope_of(event))] += event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0
    return {kind: round(t / whole, 4) for kind, t in totals.items()}
