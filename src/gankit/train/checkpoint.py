"""Checkpoints written atomically, holding everything needed to continue the same run.

A checkpoint is written to a temporary file in the run folder, flushed and fsync'ed, then renamed
over the old one: a crash or kill at any moment leaves either the old or the new checkpoint whole.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import GankitError

FORMAT_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    # Make the rename itself durable.
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, **state, "rng": rng_state()}, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise GankitError(
            f"no checkpoint at {path}; train the run first (gankit train CONFIG --run-dir ...)"
        )
    try:
        # weights_only=False: the checkpoint holds RNG states (numpy arrays, tuples) besides tensors.
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises several types for truncated or garbage files
        raise GankitError(
            f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}); "
            "restore it from a backup or start a new run"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        raise GankitError(f"{path} is not a gankit checkpoint (format {FORMAT_VERSION} expected)")
    return state
