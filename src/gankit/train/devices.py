"""Where a run trains: the device, and what several processes need of the config."""

from __future__ import annotations

import torch

from gankit.config import Config
from gankit.errors import GankitError
from gankit.train.distributed import World


def check_world(cfg: Config, world: World) -> None:
    """What a several-process run needs of the config (train/distributed.py says why)."""
    if world.size == 1:
        return
    t = cfg.train
    if t.batch_size % world.size or (t.batch_size // world.size) % cfg.discriminator.pack:
        raise GankitError(f"train.batch_size = {t.batch_size} is the global batch and must split "
                          f"evenly over {world.size} processes (and each slice over "
                          f"discriminator.pack = {cfg.discriminator.pack})")
    if t.update == "simultaneous":
        raise GankitError("train.update=simultaneous trains in one process only; use "
                          "train.update=alternating with torchrun")
    if t.sync_bn and not t.device.startswith("cuda"):
        raise GankitError("train.sync_bn needs GPUs (SyncBatchNorm); set train.sync_bn=false")


def check_device(name: str, world: World | None = None) -> torch.device:
    """The config's device, refused in one line when this PyTorch build cannot use it."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GankitError(f"train.device={name} but this PyTorch build sees no CUDA GPU; "
                          "use train.device=cpu (or install a CUDA build of PyTorch)")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        # torch.device accepts any index; the first tensor moved there would fail deep inside.
        count = torch.cuda.device_count()
        raise GankitError(f"train.device={name} but this machine has {count} CUDA GPU(s) "
                          f"(cuda:0..cuda:{count - 1}); use train.device=cuda")
    if name == "mps" and not torch.backends.mps.is_available():
        raise GankitError("train.device=mps but no Apple GPU is available; use train.device=cpu")
    if name == "cuda" and world is not None and world.size > 1:
        return torch.device("cuda", world.local_rank)  # one GPU per process
    return torch.device(name)
