"""Typed run configuration: YAML files under configs/, `--set key=value` overrides, validation.

A config is a tree of dataclasses. Unknown keys and wrong types fail with one line that names the
valid keys, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import GankitError

LOSS_NAMES = ("minimax", "non-saturating", "lsgan", "wgan", "wgan-gp", "hinge")
DATASETS = ("mnist", "ring", "grid", "gauss1d", "image-folder", "stacked-mnist")
EVAL_DATASETS = ("mnist", "ring", "grid", "stacked-mnist")  # those with in-training metrics
GENERATORS = ("mlp", "dcgan")
DISCRIMINATORS = ("maxout", "mlp", "dcgan")
OPTIMIZERS = ("sgd", "adam", "rmsprop")


@dataclass
class DataConfig:
    dataset: str = "mnist"
    dir: str | None = (
        None  # MNIST folder or the user's image folder; None: GANKIT_DATA_DIR, shared, cache
    )
    n_train: int = 100_000  # toy sets: size of the fixed training set (PacGAN used 100,000)
    modes: int = 8  # ring: number of Gaussians
    radius: float = 1.0  # ring radius
    side: int = 5  # grid: side x side Gaussians
    spacing: float = 2.0  # grid: distance between neighbouring means
    std: float | None = None  # None: 0.01 for the ring, 0.05 for the grid (PacGAN)
    mean: float = 4.0  # gauss1d
    size: int = 28  # image-folder: images are resized and centre-cropped to size x size
    channels: int = 1  # image-folder: 1 (grayscale) or 3 (RGB)
    conditional: bool = False  # feed labels to G and D


@dataclass
class GeneratorConfig:
    kind: str = "mlp"
    z_dim: int = 100
    z_dist: str = (
        "uniform"  # uniform: U(-sqrt3, sqrt3) per coordinate (unit variance); normal: N(0, 1)
    )
    hidden: list[int] = field(default_factory=lambda: [1200, 1200])
    batch_norm: bool = False
    init_range: float = 0.05  # weights ~ U(-r, r); 0 keeps PyTorch's default init
    output: str = "sigmoid"  # sigmoid (pixels in [0, 1]) or linear (toy data)
    output_bias_from_data: bool = True  # sigmoid output bias = logit of each pixel's training mean
    base: int = 64  # dcgan: channel width unit
    attention: bool = False  # dcgan: a SAGAN self-attention block
    spectral_norm: bool = False
    extra_layers: int = 0  # dcgan: stride-1 3x3 conv layers added at every hidden resolution


@dataclass
class DiscriminatorConfig:
    kind: str = "maxout"
    hidden: list[int] = field(default_factory=lambda: [240, 240])
    pieces: int = 5  # maxout pieces per unit
    init_range: float = 0.005
    dropout_input: float = 0.2  # probability of dropping an input pixel (keep 0.8)
    dropout_hidden: float = 0.5
    batch_norm: bool = True  # dcgan only: WGAN-GP critics must set this to false
    base: int = 64
    attention: bool = False
    spectral_norm: bool = False
    minibatch_std: bool = False  # append the minibatch standard deviation as a feature
    extra_layers: int = 0  # dcgan: stride-1 3x3 conv layers after every hidden stride-2 conv
    pack: int = 1  # PacGAN: D judges `pack` samples at once


@dataclass
class OptimConfig:
    name: str = "sgd"
    lr: float = 0.1
    lr_decay: float = 1.000004  # lr divided by this at every update (the authors' mnist.yaml)
    lr_min: float = 1e-6
    momentum_start: float = 0.5  # classic momentum, rising linearly ...
    momentum_end: float = 0.7
    momentum_start_epoch: int = 1  # ... from this epoch ...
    momentum_end_epoch: int = 250  # ... to this one
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = 0.0


@dataclass
class LossConfig:
    lsgan_a: float = 0.0  # LSGAN labels: fake a, real b, G's target c (official code: 0, 1, 1)
    lsgan_b: float = 1.0
    lsgan_c: float = 1.0
    clip: float = 0.01  # WGAN weight clipping
    gp_weight: float = 10.0  # WGAN-GP lambda
    wgan_warmup: bool = True  # WGAN: 100 critic steps for the first 25 G steps and every 500th


@dataclass
class TrainConfig:
    k: int = 1  # discriminator steps per generator step (Algorithm 1)
    update: str = "alternating"  # alternating (Algorithm 1) or simultaneous (the authors' code)
    batch_size: int = 100
    epochs: int = 25
    max_steps: int = 0  # generator steps; 0: no limit other than epochs
    log_every: int = 100
    checkpoint_every: int = 0  # generator steps between checkpoints; 0: every epoch only
    sample_every_epoch: bool = True
    n_sample_grid: int = 100
    ema: float = 0.0  # decay of an EMA copy of G used for sampling; 0: off
    # Top-k generator updates (Sinha et al. 2020): G learns only from the fakes D scores highest.
    # k starts at the batch size and is multiplied by topk_decay every epoch, down to
    # topk * batch_size; topk = 1 is off.
    topk: float = 1.0
    topk_decay: float = 0.99
    progress: bool = True
    device: str = "cpu"
    threads: int = 0  # torch threads; 0: PyTorch's default
    eval_every: int = 0  # epochs between in-training evaluations (gankit eval's protocols); 0: off
    eval_metrics: list[str] = field(default_factory=list)  # empty: the dataset's defaults
    eval_n: int = 0  # samples per in-training evaluation; 0: the protocol's (10,000 MNIST)
    tensorboard: bool = False


@dataclass
class Config:
    name: str = "run"
    seed: int = 0
    loss: str = "non-saturating"
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    g_optim: dict = field(default_factory=dict)  # per-network overrides of `optim`, e.g. {lr: 2e-4}
    d_optim: dict = field(default_factory=dict)
    losses: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


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


def _build(cls: type, raw: dict, where: str) -> Any:
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
            kwargs[name] = _build(tp, value or {}, key)
        else:
            kwargs[name] = _coerce(value, tp, key)
    return cls(**kwargs)


def _check_choice(value: str, choices: tuple[str, ...], key: str) -> None:
    if value not in choices:
        raise GankitError(f"{key} = {value!r} is not known; choose one of: {', '.join(choices)}")


def validate(cfg: Config) -> Config:
    """Checks that cross fields or ranges; raises GankitError with the fix."""
    _check_choice(cfg.loss, LOSS_NAMES, "loss")
    _check_choice(cfg.data.dataset, DATASETS, "data.dataset")
    _check_choice(cfg.generator.kind, GENERATORS, "generator.kind")
    _check_choice(cfg.discriminator.kind, DISCRIMINATORS, "discriminator.kind")
    _check_choice(cfg.generator.z_dist, ("uniform", "normal"), "generator.z_dist")
    _check_choice(cfg.generator.output, ("sigmoid", "linear"), "generator.output")
    _check_choice(cfg.train.update, ("alternating", "simultaneous"), "train.update")
    for key, opt in (("optim", cfg.optim), ("g_optim", cfg.g_optim), ("d_optim", cfg.d_optim)):
        name = opt.name if isinstance(opt, OptimConfig) else opt.get("name", cfg.optim.name)
        _check_choice(name, OPTIMIZERS, f"{key}.name")
    for key in ("g_optim", "d_optim"):
        merged_optim(cfg, key)  # validates the override keys and types
    t = cfg.train
    if t.k < 1:
        raise GankitError(
            f"train.k = {t.k} must be at least 1 (discriminator steps per generator step)"
        )
    if t.batch_size < 1:
        raise GankitError(f"train.batch_size = {t.batch_size} must be at least 1")
    if t.epochs < 0 or t.max_steps < 0:
        raise GankitError("train.epochs and train.max_steps must be >= 0")
    if t.epochs == 0 and t.max_steps == 0:
        raise GankitError("set train.epochs or train.max_steps to a positive number")
    if not 0.0 <= t.ema < 1.0:
        raise GankitError(f"train.ema = {t.ema} must be in [0, 1)")
    if not 0.0 < t.topk <= 1.0 or not 0.0 < t.topk_decay <= 1.0:
        raise GankitError(
            f"train.topk = {t.topk} and train.topk_decay = {t.topk_decay} must be in (0, 1] "
            "(topk: the smallest share of each fake batch G learns from; 1 = off)"
        )
    if t.topk < 1.0 and t.update == "simultaneous":
        raise GankitError(
            "train.topk needs train.update=alternating (the simultaneous update shares one fake "
            "batch between D and G); set train.topk=1 or train.update=alternating"
        )
    d = cfg.discriminator
    if d.pack < 1 or t.batch_size % d.pack:
        raise GankitError(
            f"discriminator.pack = {d.pack} must be >= 1 and divide train.batch_size = {t.batch_size}"
        )
    for key, p in (("dropout_input", d.dropout_input), ("dropout_hidden", d.dropout_hidden)):
        if not 0.0 <= p < 1.0:
            raise GankitError(f"discriminator.{key} = {p} must be in [0, 1)")
    if cfg.loss == "wgan-gp" and d.kind == "dcgan" and d.batch_norm:
        raise GankitError(
            "loss wgan-gp cannot use batch norm in the critic (the penalty is per-sample; Gulrajani "
            "et al. 2017 §4): set discriminator.batch_norm=false"
        )
    if cfg.loss == "wgan-gp" and d.minibatch_std:
        raise GankitError(
            "loss wgan-gp mixes samples through minibatch_std; set discriminator.minibatch_std=false"
        )
    toy = cfg.data.dataset in ("ring", "grid", "gauss1d")
    if toy and cfg.generator.kind == "dcgan":
        raise GankitError(
            f"generator.kind dcgan needs images; data.dataset {cfg.data.dataset} is point data"
        )
    if t.eval_every < 0 or t.eval_n < 0:
        raise GankitError("train.eval_every and train.eval_n must be >= 0 (0: off / default)")
    if t.eval_every and cfg.data.dataset not in EVAL_DATASETS:
        raise GankitError(
            f"train.eval_every needs a dataset with metrics ({', '.join(EVAL_DATASETS)}); "
            f"data.dataset is {cfg.data.dataset}: set train.eval_every=0"
        )
    if cfg.data.channels not in (1, 3):
        raise GankitError(f"data.channels = {cfg.data.channels} must be 1 or 3")
    return cfg


def merged_optim(cfg: Config, which: str) -> OptimConfig:
    """`optim` with the per-network overrides in `g_optim` or `d_optim` applied."""
    raw = dataclasses.asdict(cfg.optim)
    override = getattr(cfg, which)
    unknown = sorted(set(override) - set(raw))
    if unknown:
        raise GankitError(f"unknown config key {which}.{unknown[0]}; valid keys: {', '.join(raw)}")
    raw.update(override)
    return _build(OptimConfig, raw, which)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'train.k=2' -> (['train', 'k'], 2); the value is read as YAML (numbers, lists, booleans)."""
    if "=" not in text:
        raise GankitError(f"--set {text!r}: expected key=value, e.g. --set train.k=2")
    key, value = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise GankitError(f"--set {text!r}: the key is empty")
    return path, yaml.safe_load(value) if value.strip() else None


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise GankitError(f"--set {text!r}: {part} is not a section")
        node[path[-1]] = value
    return raw


def config_from_dict(raw: dict) -> Config:
    return validate(_build(Config, raw, ""))


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Reads a YAML config (or the defaults when path is None) and applies `--set` overrides."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            # `gankit train mnist-paper.yaml` finds the repository's configs/ from anywhere.
            builtin = Path(__file__).resolve().parents[2] / "configs" / path.name
            if builtin.exists():
                path = builtin
            else:
                raise GankitError(f"config file {path} not found; see configs/ for examples")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise GankitError(f"config file {path} is not valid YAML: {first}") from None
        if not isinstance(raw, dict):
            raise GankitError(f"config file {path} must hold a mapping of keys to values")
    overrides = overrides or []
    new_loss = [v for k, v in map(parse_override, overrides) if k == ["loss"]]
    if new_loss and new_loss[-1] != raw.get("loss", Config.loss):
        # Switching the loss brings its paper's optimiser and k; what you --set explicitly still wins.
        from gankit.losses import LOSS_DEFAULTS

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
