"""What an objective is: the part of training that knows what the players see.

The loop (loop.py) only schedules updates: k discriminator updates on new real minibatches, then
one generator update (Algorithm 1), or the authors' simultaneous update. An objective owns the
networks and optimisers and turns a minibatch into an update. A new family (BiGAN, pix2pix, a
semi-supervised D...) is a new objective registered in objectives.py; the loop does not change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

Stats = dict[str, torch.Tensor]
Batch = tuple[torch.Tensor | None, ...]  # one row of each of the dataset's tensors (x, y, ...)


@contextlib.contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """`net` in eval mode (no dropout; batch norm on its running statistics) for the block, then
    back in the mode it was in: previews and evaluations must not disturb training."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


def first_bad_stat(stats: Stats, names: tuple[str, ...]) -> str | None:
    """The first of `names` in `stats` holding NaN or inf, or None."""
    return next((n for n in names if n in stats and not torch.isfinite(stats[n]).all()), None)


def first_bad_parameter(nets: tuple[tuple[str, nn.Module | None], ...],
                        otherwise: str = "the loss itself") -> str:
    """'parameter G.fc.weight': the first non-finite parameter of the named nets (None nets
    skipped), or `otherwise` when every parameter is finite."""
    for net_name, net in nets:
        for pname, p in net.named_parameters() if net is not None else ():
            if not torch.isfinite(p).all():
                return f"parameter {net_name}.{pname}"
    return otherwise


@dataclass(frozen=True)
class Clock:
    """Where an update stands: updates so far of each network, and the epoch it belongs to."""

    d_steps: int
    g_steps: int
    epoch: int


class Objective:
    """The interface the loop drives. Stats hold detached tensors: d_loss, g_loss and D's
    outputs (real_logits, fake_logits) where the objective has them."""

    adversarial: bool = True  # False: no discriminator (a VAE); the loop calls g_update alone
    probabilities: bool = True  # D's outputs are logits of "real" probabilities (for logging)
    sampler: nn.Module  # what samples are drawn from (G, or its EMA copy)

    @classmethod
    def inference_nets(cls, cfg: Any, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, nn.Module]:
        """The trained networks of a checkpoint (`state_dict()` plus the loop's counters),
        rebuilt for sampling and evaluation by `load_run`. "generator" is what samples are drawn
        from (G(z, y) with a `sample_z(n)`); other names are the objective's own (an encoder, a
        discriminator that classifies). Errors from a state that does not fit propagate."""
        raise NotImplementedError

    def critic_steps(self, k: int, g_steps: int) -> int:
        """Discriminator updates before the next generator update."""
        return k

    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        raise NotImplementedError

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        """One update of the generator side; `batch` is the last real minibatch (D's)."""
        raise NotImplementedError

    def joint_update(self, batch: Batch, clock: Clock) -> Stats:
        raise NotImplementedError

    def distribute(self, world: Any, sync_bn: bool) -> None:
        """Take part in a several-process run (train/distributed.py): slice global batches with
        `world.shard` and call the trained networks through `world.wrap`."""
        if world.size > 1:
            raise NotImplementedError(f"{type(self).__name__} does not train on several processes")

    def train_mode(self) -> None:
        """Put every trained network in training mode (the loop calls it once, at the start)."""

    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        """Samples on the run's fixed inputs (the per-epoch grids), in eval mode, no gradients."""
        raise NotImplementedError

    def preview_grid(self, n: int) -> tuple[torch.Tensor, int | None]:
        """The per-epoch sample grid's images and images per row (None: the grid decides):
        `preview(n)`, unless an objective shows more (pix2pix: input | output | truth)."""
        return self.preview(n), None

    def diagnostics(self) -> dict[str, float]:
        """Plain numbers about the last update for the log: gradient norms, learning rates."""
        return {}

    def first_non_finite(self, stats: Stats) -> str:
        """Name what went non-finite, so the user knows where to look."""
        return "the loss itself"

    def run_files(self) -> dict[str, bytes]:
        """Files the objective keeps in the run folder (name -> content), written when the
        folder is opened, after every check passed (semi's labelled.json)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError
