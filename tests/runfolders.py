"""Test helpers for run folders: byte snapshots, damaged checkpoints, the tiny ring's command line."""

from __future__ import annotations

from pathlib import Path

import torch

from conftest import REPO, TINY


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes (folders as None) under `folder`, by relative path."""
    folder = Path(folder)
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def damage_tensor_bytes(checkpoint: Path) -> None:
    """Overwrite 16 bytes inside G's largest weight tensor, in place (the file still loads)."""
    state = torch.load(checkpoint, weights_only=False)
    weight = max(state["generator"].values(), key=lambda t: t.numel())
    data = bytearray(Path(checkpoint).read_bytes())
    at = data.find(weight.numpy().tobytes()[:64])
    assert at > 0, "the tensor's bytes were not found in the checkpoint"
    data[at + 8 : at + 24] = b"\xff" * 16  # NaNs
    Path(checkpoint).write_bytes(bytes(data))


def ring_command(run_dir: Path, *overrides: str) -> list[str]:
    """`gankit train` arguments for the tiny ring run of conftest.TINY in `run_dir`."""
    sets = [a for o in (*TINY, *overrides) for a in ("--set", o)]
    return ["train", str(REPO / "configs" / "ring8.yaml"), "--run-dir", str(run_dir), *sets]
