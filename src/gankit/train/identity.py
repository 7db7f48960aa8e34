"""Which run a checkpoint belongs to: the config's fingerprint, stored in every checkpoint.

A checkpoint carries the config values that made it (all but the keys a resume may change,
RESUMABLE_KEYS) and their SHA-256 fingerprint. Loading compares them with the run's config, so
a checkpoint copied in from another run is refused even when its networks have the same shapes.
Checkpoints written before fingerprints existed are loaded without this check.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gankit.config import Config
from gankit.errors import GankitError

# Keys that may change when a run is resumed: how long to train and how to show it, not what.
RESUMABLE_KEYS = (
    "train.epochs",
    "train.max_steps",
    "train.progress",
    "train.device",
    "train.threads",
    "train.tensorboard",
    "train.log_every",
    "train.eval_every",  # evaluations draw their own noise: they do not change the run
    "train.eval_metrics",
    "train.eval_n",
    # Where the data is, not what it is: MNIST's files are checked against their SHA-256 sums
    # when loaded, an image folder against the fingerprint in the checkpoint (Trainer._restore).
    "data.dir",
)


def identity(cfg: Config) -> dict[str, Any]:
    """The config as {"section.key": value}, without RESUMABLE_KEYS; the per-network optimiser
    overrides (g_optim, d_optim) stay whole mappings, so an override set in one run only still
    differs."""
    flat: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            for key, leaf in dataclasses.asdict(value).items():
                flat[f"{f.name}.{key}"] = leaf
        else:
            flat[f.name] = value
    return {k: v for k, v in flat.items() if k not in RESUMABLE_KEYS}


def fingerprint(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=repr).encode()).hexdigest()


def stamp(cfg: Config) -> dict[str, Any]:
    """The checkpoint fields that tie it to its run."""
    ident = identity(cfg)
    return {"config": ident, "config_fingerprint": fingerprint(ident)}


def mismatch(state: dict[str, Any], cfg: Config) -> str | None:
    """None when the checkpoint `state` belongs to a run with config `cfg` (or predates
    fingerprints); otherwise what differs, e.g. "seed: 1 in the checkpoint, 0 in the config"."""
    stored_fp = state.get("config_fingerprint")
    if stored_fp is None:
        return None
    ident = identity(cfg)
    if fingerprint(ident) == stored_fp:
        return None
    stored = state.get("config")
    if not isinstance(stored, dict) or fingerprint(stored) != stored_fp:
        return "its config fingerprint does not match"
    # Keys gankit added or dropped since the checkpoint was written are not a difference.
    for key in stored:
        if key in ident and stored[key] != ident[key]:
            return f"{key}: {stored[key]!r} in the checkpoint, {ident[key]!r} in the config"
    return None


def check_belongs(state: dict[str, Any], cfg: Config, path: Path) -> None:
    """Refuse, in one line, a checkpoint written by another run."""
    diff = mismatch(state, cfg)
    if diff is not None:
        raise GankitError(
            f"checkpoint {path} was written by another run ({diff}); put back this run's own "
            "checkpoint.pt, or train a new run"
        )


def check_same_data(data_dir: str | None, moved: bool, saved: str | None,
                    current: Callable[[], str | None]) -> None:
    """An image-folder run resumed from another data.dir (a moved run) must still train on its
    own images: their SHA-256 fingerprint, saved in the checkpoint, must match `current()`."""
    if saved is None and moved:  # a checkpoint from before fingerprints: cannot tell
        raise GankitError(f"--resume: this run's checkpoint has no fingerprint of its images, "
                          f"so the images in {data_dir} cannot be checked; use --force to "
                          "resume on them")
    if saved is not None and saved != current():
        raise GankitError(f"--resume: the images in {data_dir} are not the ones this run was "
                          "trained on (their SHA-256 fingerprint differs); point --data-dir at "
                          "the run's images, or use --force to train on these")
