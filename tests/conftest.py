"""Shared test helpers: a tiny, fast 2-D config and the shared MNIST location."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.config import load_config

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"

TINY = [
    "data.n_train=2000",
    "generator.hidden=[32, 32]",
    "discriminator.hidden=[32, 32]",
    "discriminator.pieces=2",
    "train.batch_size=50",
    "train.epochs=0",
    "train.max_steps=20",
    "train.log_every=5",
    "train.progress=false",
    "train.threads=1",
]

# A DCGAN small enough for a test: width unit 4, one epoch of batch 16, no progress bar.
TINY_DCGAN = [
    "generator.base=4",
    "discriminator.base=4",
    "train.batch_size=16",
    "train.epochs=1",
    "train.log_every=1",
    "train.progress=false",
    "train.threads=1",
    "train.n_sample_grid=20",
    "losses.wgan_warmup=false",  # 100 critic steps per G step would only slow the test
]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def tiny_config(*overrides: str, base: str = "configs/ring8.yaml"):
    return load_config(REPO / base, [*TINY, *overrides])


def straight_and_resumed(make_config, tmp_path: Path, half: int = 3, **trainer_kwargs):
    """A run trained straight, and the same run stopped after `half` G steps and resumed to
    its end, in two run folders: both finished Trainers, for an exact-resume test to compare.
    `make_config(*overrides)` builds the config; `trainer_kwargs` go to both Trainers."""
    from gankit.train.loop import Trainer

    straight = Trainer(make_config(), tmp_path / "straight", **trainer_kwargs)
    straight.run()
    Trainer(make_config(f"train.max_steps={half}"), tmp_path / "resumed", **trainer_kwargs).run()
    resumed = Trainer(make_config(), tmp_path / "resumed", resume=True, **trainer_kwargs)
    assert resumed.progress.g_steps == half
    resumed.run()
    return straight, resumed
