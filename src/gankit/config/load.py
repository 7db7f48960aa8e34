"""Loading configs: YAML files (or shipped ones by name: shipped.py), `--set key=value`
overrides, typed building.

Unknown keys and wrong types fail with one line that names the valid keys, so a typo never
silently falls back to a default. `validate.py` then checks ranges and cross-field rules.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import yaml

from gankit.config.schema import KIND_KEYS, OBJECTIVE_SECTIONS, Config
from gankit.config.shipped import find_config
from gankit.config.typed import build
from gankit.config.validate import validate
from gankit.config.yamlfile import parse_yaml, read_yaml_file
from gankit.errors import GankitError
from gankit.losses import LOSS_DEFAULTS

# Keys that gankit no longer reads: accepted (old run folders hold them) with one line saying
# what to do instead. A renamed key maps to its new name; a removed one to None.
DEPRECATED: dict[str, str | None] = {"train.sample_every_epoch": None}


def _drop_deprecated(raw: dict) -> None:
    for dotted, new in DEPRECATED.items():
        *path, last = dotted.split(".")
        node = raw
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            continue
        value = node.pop(last)
        if new is None:
            print(f"gankit: note: config key {dotted} is no longer used (samples are written "
                  "every epoch); remove it", file=sys.stderr)
            continue
        print(f"gankit: note: config key {dotted} is now {new}; rename it", file=sys.stderr)
        *new_path, new_last = new.split(".")
        target = raw
        for part in new_path:
            target = target.setdefault(part, {})
        target.setdefault(new_last, value)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'train.k=2' -> (['train', 'k'], 2); the value is read as YAML (numbers, lists, booleans)."""
    if "=" not in text:
        raise GankitError(f"--set {text!r}: expected key=value, e.g. --set train.k=2")
    key, value = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise GankitError(f"--set {text!r}: the key is empty")
    return path, parse_yaml(value, f"--set {text!r}: the value") if value.strip() else None


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `--set key=value` overrides to a raw config mapping (in place; returned too).

    `train.max_steps=N` given without `train.epochs` bounds the run by N generator steps alone:
    train.epochs is set to 0, so a file's epochs cannot stop a small dataset's run first.
    """
    keys = []
    for text in overrides:
        path, value = parse_override(text)
        keys.append(path)
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise GankitError(f"--set {text!r}: {part} is not a section")
        node[path[-1]] = value
    steps = raw.get("train", {}).get("max_steps") if isinstance(raw.get("train"), dict) else None
    if ["train", "max_steps"] in keys and ["train", "epochs"] not in keys:
        # 0 (no step limit) leaves epochs alone; a non-number is refused by the typed build.
        if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0:
            raw["train"]["epochs"] = 0
    return raw


def config_from_dict(raw: dict) -> Config:
    _drop_deprecated(raw)
    return validate(build(Config, raw, ""))


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Reads a YAML config (a file, or the name of a shipped one such as "mnist-paper"; the
    defaults when path is None) and applies `--set` overrides."""
    raw: dict = {}
    if path is not None:
        path = find_config(path)  # a file, or a shipped config's name: `mnist-paper`
        raw = read_yaml_file(path, f"config file {path}")
        if raw is None or raw == {}:
            # A YAML file with no keys would silently train the built-in defaults (MNIST).
            raise GankitError(f"config file {path} is empty (no keys); start from one in "
                              "configs/, e.g. configs/ring8.yaml or configs/mnist-paper.yaml")
        if not isinstance(raw, dict):
            raise GankitError(f"config file {path} must hold a mapping of keys to values")
    overrides = overrides or []
    new_loss = [v for k, v in map(parse_override, overrides) if k == ["loss"]]
    if new_loss and new_loss[-1] != raw.get("loss", Config.loss):
        # Switching the loss brings its paper's optimiser and k; what you --set explicitly still wins.
        _deep_update(raw, LOSS_DEFAULTS.get(new_loss[-1], {}))
    raw = apply_overrides(raw, overrides)
    return config_from_dict(raw)


def _deep_update(raw: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            _deep_update(raw[key], value)
        else:
            raw[key] = value.copy() if isinstance(value, dict) else value


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def config_to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def config_as_read(raw: dict) -> dict:
    """A config dict without the network keys its kinds do not read: `generator` and
    `discriminator` keep `kind` and the keys KIND_KEYS lists (the rest must keep their defaults
    and do nothing, e.g. a DCGAN's z_dist: it draws N(0, I)), and without the sections of
    objectives other than its own (OBJECTIVE_SECTIONS). For people; files keep every key."""
    out = dict(raw)
    for section in ("generator", "discriminator"):
        values = raw.get(section)
        if isinstance(values, dict) and (section, values.get("kind")) in KIND_KEYS:
            reads = KIND_KEYS[(section, values["kind"])]
            out[section] = {k: v for k, v in values.items() if k == "kind" or k in reads}
    for section, readers in OBJECTIVE_SECTIONS.items():  # another objective's settings
        if raw.get("objective", "gan") not in readers:
            out.pop(section, None)
    return out


def config_diff(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Lines 'key: old -> new' for every leaf that differs."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            lines += config_diff(a, b, name + ".")
        elif a != b:
            lines.append(f"{name}: {a!r} -> {b!r}")
    return lines
