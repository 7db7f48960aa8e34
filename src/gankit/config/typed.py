"""Typed building: a raw mapping checked key by key against the schema's dataclasses."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from gankit.config.schema import Config, OptimConfig
from gankit.errors import GankitError


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except GankitError:
                pass
        raise GankitError(
            f"{where}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}"
        )
    if origin is list:
        if not isinstance(value, list | tuple):
            raise GankitError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise GankitError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise GankitError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GankitError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads 1e-4 (no dot) as a string; accept it as the number it is.
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GankitError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise GankitError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def build(cls: type, raw: dict, where: str) -> Any:
    if not isinstance(raw, dict):
        raise GankitError(f"{where or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise GankitError(
            f"unknown config key {prefix}{unknown[0]!s}; valid keys{' in ' + where if where else ''}: "
            + ", ".join(names)
        )
    kwargs = {}
    for name, value in raw.items():
        tp = hints[name]
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, value or {}, key)
        else:
            kwargs[name] = _coerce(value, tp, key)
    return cls(**kwargs)


def merged_optim(cfg: Config, which: str) -> OptimConfig:
    """`optim` with the per-network overrides in `g_optim` or `d_optim` applied."""
    raw = dataclasses.asdict(cfg.optim)
    override = getattr(cfg, which)
    unknown = sorted(set(override) - set(raw))
    if unknown:
        raise GankitError(f"unknown config key {which}.{unknown[0]}; valid keys: {', '.join(raw)}")
    raw.update(override)
    return build(OptimConfig, raw, which)
