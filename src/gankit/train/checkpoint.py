"""Checkpoints written atomically, holding everything needed to continue the same run.

A checkpoint is written to a temporary file in the run folder, flushed and fsync'ed, then renamed
over the old one: a crash or kill at any moment leaves either the old or the new checkpoint whole
(and, at worst, a `.checkpoint.pt.tmp-PID` that the next training of the run removes).

Each checkpoint stores a SHA-256 checksum of everything in it (tensors byte by byte, counters,
RNG states), checked on load: bytes changed inside a weight tensor are an error, not NaN samples.
The trainer adds the config's fingerprint (identity.py). Older checkpoints without them load
unchecked.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.config import Config
from gankit.errors import GankitError
from gankit.train.identity import check_belongs
from gankit.train.lock import pid_alive

FORMAT_VERSION = 1  # the checksum and fingerprint are optional fields: older gankits still load
_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")


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


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temporary files of atomic writes whose writer was killed (its PID is gone)."""
    removed = []
    for path in Path(folder).iterdir():
        match = _TEMP.match(path.name)
        if match and path.is_file() and not pid_alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


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


def state_digest(obj: Any) -> str:
    """SHA-256 of a checkpoint's contents: every tensor's dtype, shape and bytes, every other
    value's repr, in the (pickled, so preserved) order of the dicts."""
    h = hashlib.sha256()
    _digest(obj, h)
    return h.hexdigest()


def _digest(obj: Any, h: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, np.ndarray):
        h.update(f"A{obj.dtype}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for key, value in obj.items():
            h.update(repr(key).encode())
            _digest(value, h)
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}".encode())
        for value in obj:
            _digest(value, h)
    else:
        h.update(f"V{obj!r}".encode())


def first_non_finite(state: Any, where: str = "") -> str | None:
    """The key path of the first floating-point tensor in `state` holding NaN or inf, or None."""
    if isinstance(state, torch.Tensor):
        finite = not state.is_floating_point() or bool(torch.isfinite(state).all())
        return None if finite else where or "a tensor"
    if isinstance(state, dict):
        items = state.items()
    elif isinstance(state, list | tuple):
        items = enumerate(state)
    else:
        return None
    for key, value in items:
        found = first_non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    payload = {"format": FORMAT_VERSION, **state, "rng": rng_state()}
    payload["checksum"] = state_digest(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu",
                    config: Config | None = None) -> dict[str, Any]:
    """A checkpoint, its checksum verified; with `config`, refused unless it was written by a
    run with that config (see identity.py)."""
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
    stored = state.pop("checksum", None)
    if stored is not None and state_digest(state) != stored:
        raise GankitError(
            f"checkpoint {path} is damaged: its contents do not match the checksum saved with "
            "it (bytes changed after it was written); restore it from a backup or start a new run"
        )
    if config is not None:
        check_belongs(state, config, path)
    return state
