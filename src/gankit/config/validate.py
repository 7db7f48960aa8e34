"""The one place a config is checked: choices, ranges, cross-field rules and per-kind keys.

Everything here looks at the config alone, so it runs before any file is written. Checks that
need the data (its size, its labels) are in `check_against_data`, which the trainer runs before
it creates the run folder.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from gankit.augment import check_augment
from gankit.config.objective_checks import OBJECTIVE_CHECKS, changed_fields, check_semi_data
from gankit.config.schema import (
    DATASETS,
    DISCRIMINATORS,
    EMA_BN_MODES,
    GAN_D_OBJECTIVES,
    GENERATORS,
    KIND_KEYS,
    LOSS_NAMES,
    OBJECTIVE_SECTIONS,
    OPTIMIZERS,
    OUTPUTS,
    Config,
    OptimConfig,
)
from gankit.config.typed import merged_optim
from gankit.errors import GankitError
from gankit.metrics import registry

AMP_MODES = ("off", "bf16")  # train.amp; train/speedups.py maps each to a dtype
OBJECTIVE_NAMES = (  # the registry itself is gankit.train.objectives.OBJECTIVES
    "gan",
    "vae",
    "srgan",
    "pix2pix",
    "text2image",
    "inpaint",
    "bigan",
    "autoencoder",
    "semi",
    "infogan",
)
DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_choice(value: str, choices: tuple[str, ...], key: str) -> None:
    if value not in choices:
        raise GankitError(f"{key} = {value!r} is not known; choose one of: {', '.join(choices)}")


def _check_kind_keys(cfg: Config) -> None:
    """A key the chosen network kind ignores must keep its default: no silent fallbacks."""
    for section in ("generator", "discriminator"):
        sec = getattr(cfg, section)
        reads = KIND_KEYS[(section, sec.kind)]
        default = type(sec)()
        for f in dataclasses.fields(sec):
            value = getattr(sec, f.name)
            if f.name == "kind" or f.name in reads or value == getattr(default, f.name):
                continue
            raise GankitError(
                f"{section}.{f.name} = {value!r} is not read by {section}.kind {sec.kind}; "
                f"remove it (a {sec.kind} {section} reads: {', '.join(reads)})"
            )
    kind, output = cfg.generator.kind, cfg.generator.output
    if output not in OUTPUTS[kind]:
        raise GankitError(
            f"generator.output = {output!r} is not available for generator.kind {kind}; "
            f"choose one of: {', '.join(OUTPUTS[kind])}"
        )


def _check_objective_sections(cfg: Config) -> None:
    """A section the chosen objective does not read must keep its defaults (no silent no-ops)."""
    for section, readers in OBJECTIVE_SECTIONS.items():
        sec = getattr(cfg, section)
        if cfg.objective in readers or sec == type(sec)():
            continue
        changed = changed_fields(sec)
        raise GankitError(
            f"{section}.{changed[0]} is set, but only objective {' or '.join(readers)} reads the "
            f"{section}: section and this config trains objective {cfg.objective}; remove the "
            f"{section}: settings or set objective: {readers[0]}"
        )


def _check_optim(key: str, opt: OptimConfig) -> None:
    if not (math.isfinite(opt.lr) and opt.lr > 0):
        raise GankitError(f"{key}.lr = {opt.lr} must be a positive number, e.g. 2e-4")
    if not (math.isfinite(opt.lr_decay) and opt.lr_decay > 0):
        raise GankitError(f"{key}.lr_decay = {opt.lr_decay} must be positive (1.0: no decay)")
    if len(opt.betas) != 2 or not all(0.0 <= b < 1.0 for b in opt.betas):
        raise GankitError(f"{key}.betas = {opt.betas} must be two numbers in [0, 1)")
    if not all(math.isfinite(v) and v >= 0 for v in (opt.weight_decay, opt.lr_min)):
        raise GankitError(f"{key}.weight_decay and {key}.lr_min must be numbers >= 0")
    if not all(0.0 <= m <= 1.0 for m in (opt.momentum_start, opt.momentum_end)):
        raise GankitError(f"{key}.momentum_start and {key}.momentum_end must be in [0, 1]")


def _check_networks(cfg: Config) -> None:
    g, d = cfg.generator, cfg.discriminator
    if g.z_dim < 1:
        raise GankitError(f"generator.z_dim = {g.z_dim} must be at least 1")
    if g.z_categories < 0:
        raise GankitError(f"generator.z_categories = {g.z_categories} must be >= 0 "
                          "(0: no discrete code in z)")
    if g.z_categories and cfg.objective not in GAN_D_OBJECTIVES:
        # bigan's encoder and the other objectives' own nets assume z is z_dim wide
        raise GankitError(f"generator.z_categories = {g.z_categories} works with objectives gan "
                          f"and infogan only (this config trains {cfg.objective}); set it to 0")
    for key, widths in (("generator.hidden", g.hidden), ("discriminator.hidden", d.hidden)):
        if not widths or any(w < 1 for w in widths):
            raise GankitError(f"{key} = {widths} must list positive layer widths, e.g. [256, 256]")
    if d.pieces < 1:
        raise GankitError(f"discriminator.pieces = {d.pieces} must be at least 1")
    for key, r in (("generator.init_range", g.init_range), ("discriminator.init_range", d.init_range)):
        if not (math.isfinite(r) and r >= 0):
            raise GankitError(f"{key} = {r} must be a number >= 0 (0: PyTorch's default init)")
    for key, base in (("generator.base", g.base), ("discriminator.base", d.base)):
        if base < 1:
            raise GankitError(f"{key} = {base} must be at least 1")


def validate(cfg: Config) -> Config:
    """Checks that cross fields or ranges; raises GankitError with the fix."""
    _check_choice(cfg.objective, OBJECTIVE_NAMES, "objective")
    _check_choice(cfg.loss, LOSS_NAMES, "loss")
    _check_choice(cfg.data.dataset, DATASETS, "data.dataset")
    _check_choice(cfg.generator.kind, GENERATORS, "generator.kind")
    _check_choice(cfg.discriminator.kind, DISCRIMINATORS, "discriminator.kind")
    _check_choice(cfg.generator.z_dist, ("uniform", "normal"), "generator.z_dist")
    _check_choice(cfg.train.update, ("alternating", "simultaneous"), "train.update")
    _check_choice(cfg.train.amp, AMP_MODES, "train.amp")
    _check_kind_keys(cfg)
    _check_objective_sections(cfg)
    if not SAFE_NAME.match(cfg.name):
        raise GankitError(
            f"name = {cfg.name!r} must be a plain folder name (letters, digits, '.', '_', '-'); "
            "it names runs/<name>"
        )
    if cfg.seed < 0:
        raise GankitError(f"seed = {cfg.seed} must be >= 0")
    for key, opt in (("optim", cfg.optim), ("g_optim", cfg.g_optim), ("d_optim", cfg.d_optim)):
        name = opt.name if isinstance(opt, OptimConfig) else opt.get("name", cfg.optim.name)
        _check_choice(name, OPTIMIZERS, f"{key}.name")
    for key in ("g_optim", "d_optim"):
        _check_optim(key, merged_optim(cfg, key))  # also validates the override keys and types
    _check_networks(cfg)
    if cfg.losses.r1_weight < 0:
        raise GankitError(f"losses.r1_weight = {cfg.losses.r1_weight} must be >= 0 (R1's gamma; "
                          "0 is off, Mescheder et al. 2018 use 0.1 to 10)")
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
    if t.log_every < 1:
        raise GankitError(f"train.log_every = {t.log_every} must be at least 1 (generator steps "
                          "per metrics.jsonl record)")
    if not 1 <= t.n_sample_grid <= 10_000:
        raise GankitError(f"train.n_sample_grid = {t.n_sample_grid} must be in 1..10,000")
    if t.checkpoint_every < 0 or t.threads < 0:
        raise GankitError(f"train.checkpoint_every = {t.checkpoint_every} and train.threads = "
                          f"{t.threads} must be >= 0 (0: every epoch / PyTorch's default)")
    if not DEVICE.match(t.device):
        raise GankitError(f"train.device = {t.device!r} is not a device; use cpu, cuda (an NVIDIA "
                          "GPU), cuda:N or mps (an Apple GPU)")
    if not 0.0 <= t.ema < 1.0:
        raise GankitError(f"train.ema = {t.ema} must be in [0, 1)")
    if t.ema_warmup and not t.ema:
        raise GankitError("train.ema_warmup=true ramps up an EMA of G, but train.ema is 0 (off); "
                          "set train.ema (e.g. 0.999) or train.ema_warmup=false")
    if t.ema_bn not in EMA_BN_MODES:
        raise GankitError(f"train.ema_bn = {t.ema_bn!r} is not one of {', '.join(EMA_BN_MODES)}; "
                          "recompute gives G's EMA copy its own batch-norm statistics, copy "
                          "borrows the live G's")
    if t.ema_bn == "recompute" and not t.ema:
        raise GankitError("train.ema_bn=recompute recomputes the batch-norm statistics of an EMA "
                          "of G, but train.ema is 0 (off); set train.ema (e.g. 0.999) or "
                          "train.ema_bn=copy")
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
    if cfg.data.conditional and d.pack > 1:
        raise GankitError(
            "PacGAN packing (discriminator.pack > 1) cannot be combined with data.conditional"
        )
    toy = cfg.data.dataset in ("ring", "grid", "gauss1d")
    if toy and cfg.generator.kind == "dcgan":
        raise GankitError(
            f"generator.kind dcgan needs images; data.dataset {cfg.data.dataset} is point data"
        )
    if t.eval_every < 0 or t.eval_n < 0:
        raise GankitError("train.eval_every and train.eval_n must be >= 0 (0: off / default)")
    if t.eval_every and cfg.data.dataset not in registry.DATASETS:
        raise GankitError(
            f"train.eval_every needs a dataset with metrics ({', '.join(registry.DATASETS)}); "
            f"data.dataset is {cfg.data.dataset}: set train.eval_every=0"
        )
    if t.eval_every:  # names that cannot be computed fail now, not after the first epoch
        names = registry.training_metrics(t.eval_metrics, cfg.data.dataset)
        registry.check_metrics(names, cfg.data.dataset, training=True, where="train.eval_metrics")
    if cfg.data.channels not in (1, 3):
        raise GankitError(f"data.channels = {cfg.data.channels} must be 1 or 3")
    _check_data(cfg)
    _check_joint_d_pass(cfg)
    for check in OBJECTIVE_CHECKS:
        check(cfg)
    if cfg.data.dataset == "cifar10" and (cfg.data.size, cfg.data.channels) != (32, 3):
        raise GankitError(f"data.dataset cifar10 is 32 x 32 RGB: set data.size=32 and "
                          f"data.channels=3 (got {cfg.data.size} and {cfg.data.channels})")
    # DiffAugment / ADA transform images: the datasets made of N x C x H x W images.
    check_augment(cfg.augment, cfg.data.dataset in ("mnist", "image-folder", "stacked-mnist", "cifar10"))
    return cfg
def _check_data(cfg: Config) -> None:
    data = cfg.data
    if not 1 <= data.n_train <= 10_000_000:
        raise GankitError(f"data.n_train = {data.n_train} must be in 1..10,000,000")
    for key in ("radius", "spacing", "mean"):
        if not math.isfinite(getattr(data, key)):
            raise GankitError(f"data.{key} = {getattr(data, key)} must be a finite number")
    if data.std is not None and not (math.isfinite(data.std) and data.std >= 0):
        raise GankitError(f"data.std = {data.std} must be a number >= 0 (or null: the default)")
    if data.modes < 1 or data.side < 1 or data.size < 1:
        raise GankitError("data.modes, data.side and data.size must be at least 1")


def check_against_data(cfg: Config, data: Any) -> None:
    """The checks that need the loaded data; run before anything is written to disk."""
    n = len(data.x)
    if n < cfg.train.batch_size:
        raise GankitError(
            f"the training set has {n} examples, fewer than "
            f"train.batch_size = {cfg.train.batch_size}; lower the batch size"
        )
    if cfg.data.conditional and data.y is None:
        raise GankitError(f"data.conditional=true needs labels; {cfg.data.dataset} has none")
    bad = int((~data.x.isfinite()).sum()) if data.x.is_floating_point() else 0
    if bad:
        # Caught here, before training, so it is never mistaken for a learning rate too high.
        raise GankitError(
            f"the training data ({cfg.data.dataset}) holds {bad} NaN or infinite values; fix "
            "the data (or the data.* settings that made it) before training"
        )
    if cfg.objective == "semi":
        check_semi_data(cfg, data)


def _check_joint_d_pass(cfg: Config) -> None:
    """train.joint_d_pass stacks the real and fake minibatches: only for a D that scores each
    sample alone, and only objective gan's D step reads it."""
    if not cfg.train.joint_d_pass:
        return
    d = cfg.discriminator
    why = ("objective gan's D step is the one that reads it"
           if cfg.objective not in GAN_D_OBJECTIVES else
           "it needs an MLP D (discriminator.kind maxout or mlp)" if d.kind == "dcgan" else
           "minibatch_std mixes the samples" if d.minibatch_std else
           "spectral_norm's power iteration runs once per pass" if d.spectral_norm else
           "augmentation treats the real and fake minibatches apart" if cfg.augment.kind != "none"
           else "")
    if why:
        raise GankitError(f"train.joint_d_pass=true cannot be used here: {why}; set "
                          "train.joint_d_pass=false")
