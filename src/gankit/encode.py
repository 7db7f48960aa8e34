"""Learned inference with a trained run: codes E(x) and reconstructions G(E(x)).

Runs of objective bigan (and its autoencoder baseline) have an encoder; `gankit encode` and
`gankit viz reconstruct` call these, and so does benchmarks/bigan.py.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.train.run import Run


def encoder_of(run: Run) -> nn.Module:
    if "encoder" not in run.nets:
        raise GankitError(f"run {run.path} (objective {run.config.objective}) has no encoder; "
                          "encode needs a run trained with objective bigan or autoencoder")
    return run.nets["encoder"]


@torch.no_grad()
def encode(run: Run, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """E(x) for N images (N x data_shape in [0, 1]) -> N x z_dim codes, E in eval mode."""
    E = encoder_of(run)
    if tuple(images.shape[1:]) != tuple(run.data_shape):
        raise GankitError(f"images of shape {tuple(images.shape[1:])} do not fit run "
                          f"{run.path}, which was trained on {tuple(run.data_shape)}")
    E.eval()
    return torch.cat([E(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


@torch.no_grad()
def reconstruct(run: Run, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """G(E(x)), both networks in eval mode."""
    codes = encode(run, images, batch_size)
    G = run.generator
    G.eval()
    return torch.cat([G(codes[i : i + batch_size]) for i in range(0, len(codes), batch_size)])


def split_images(run: Run, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """An MNIST split's images and labels, for a run trained on MNIST."""
    from gankit.data.mnist import load_mnist

    if run.config.data.dataset != "mnist":
        raise GankitError(f"--split needs a run trained on MNIST; run {run.path} trained on "
                          f"{run.config.data.dataset}: give --images FILE instead")
    return load_mnist(split, run.config.data.dir)
