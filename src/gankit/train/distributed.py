"""Training on several processes with PyTorch's own engine:

    torchrun --nproc-per-node N -m gankit train CONFIG                  (one machine)
    torchrun --nnodes M --node-rank R --nproc-per-node N \\
             --rdzv-backend c10d --rdzv-endpoint HOST:PORT -m gankit train CONFIG   (several)

torchrun starts the processes and sets RANK, WORLD_SIZE and LOCAL_RANK; gankit joins them
(gloo on CPU, NCCL on GPU). The choices, and why:

- `train.batch_size` is the global batch. Every real minibatch is the one a single process
  would take (a function of seed and epoch) and each process trains on its 1/N slice.
- Every process draws the same random numbers (same seed), so noise is drawn for the whole
  global batch and sliced too. For nets without dropout or batch norm, N processes compute what
  one process with the same batch computes (up to the order of float sums), and a run resumes
  with another number of processes. Dropout masks and batch-norm statistics are per process,
  so for those nets the runs are alike in distribution, not in value.
- Gradients are averaged by DistributedDataParallel. Batch norm keeps per-process statistics
  (the usual DDP default; rank 0's are saved) unless `train.sync_bn: true` synchronises them.
- Only rank 0 writes: logs, samples, evaluations and checkpoints. Every process reads the same
  checkpoint on resume; a stop (its end, a budget, Ctrl-C, SIGTERM, a non-finite loss) is agreed
  by all processes at an iteration boundary, so none is left waiting.
- Not distributed: the simultaneous update (its gradients bypass DDP's hooks) and top-k updates
  across processes (each process keeps the top k of its own slice).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, t: torch.Tensor) -> torch.Tensor:
        """This process's slice of a global batch."""
        if self.size == 1:
            return t
        n = len(t) // self.size
        return t[self.rank * n : (self.rank + 1) * n]

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag true on any process is true on all (one small all-reduce)."""
        if self.size == 1:
            return flags
        t = torch.tensor([float(f) for f in flags])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return tuple(bool(v) for v in t.tolist())

    def wrap(self, net: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
        """The net as the update steps call it: itself, or a DDP wrapper around it."""
        if self.size == 1:
            return net
        if sync_bn:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        ids = [device.index] if device.type == "cuda" else None
        # forward_sync_buffers=False: batch-norm statistics stay per process (documented above).
        return nn.parallel.DistributedDataParallel(net, device_ids=ids, forward_sync_buffers=False)

    def close(self) -> None:
        if self.size > 1 and dist.is_initialized():
            # DDP wrappers no longer referenced may sit in reference cycles; each holds the
            # process group, so collect them while the group can still shut down cleanly.
            gc.collect()
            # Wait for rank 0's last writes: a process leaving the group early aborts gloo's
            # threads in the others ("terminate called without an active exception").
            dist.barrier()
            dist.destroy_process_group()


def world_from_env(device: str) -> World:
    """The World torchrun describes in the environment (joining it), or a single process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


Wrap = Callable[[nn.Module], nn.Module]
