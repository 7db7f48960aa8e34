"""The checks of the settings that belong to one objective (its config section and what it
refuses), one function per objective; `validate` runs every one of them on every config, so a
check may also refuse its section's datasets or settings under another objective."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from gankit.config.schema import MASK_KINDS, Config
from gankit.errors import GankitError


def changed_fields(section: object) -> list[str]:
    """The fields of a config section (a dataclass) that differ from their defaults."""
    default = type(section)()
    return [f.name for f in dataclasses.fields(section)
            if getattr(section, f.name) != getattr(default, f.name)]


def check_vae(cfg: Config) -> None:
    """objective: vae (train/vae.py) reads vae: and the g_optim side of the optimiser only."""
    v = cfg.vae
    if v.z_dim < 1 or not v.hidden or any(w < 1 for w in v.hidden):
        raise GankitError(f"vae.z_dim = {v.z_dim} must be >= 1 and vae.hidden = {v.hidden} must "
                          "list positive layer widths, e.g. [200, 200]")
    if cfg.objective != "vae":
        return
    if cfg.data.dataset in ("ring", "grid", "gauss1d"):
        raise GankitError(f"objective vae models binary images (a Bernoulli decoder); data.dataset"
                          f" {cfg.data.dataset} is point data: use mnist or an image dataset")
    unread = [key for key, off in (("data.conditional", not cfg.data.conditional),
                                   ("train.ema", not cfg.train.ema), ("d_optim", not cfg.d_optim),
                                   ("train.compile", not cfg.train.compile),
                                   ("train.channels_last", not cfg.train.channels_last),
                                   ("train.amp", cfg.train.amp == "off"),
                                   ("train.k", cfg.train.k == 1), ("train.topk", cfg.train.topk == 1),
                                   ("train.update", cfg.train.update == "alternating"),
                                   ("generator", cfg.generator == type(cfg.generator)()),
                                   ("discriminator", cfg.discriminator == type(cfg.discriminator)()))
              if not off]
    if unread:
        raise GankitError(f"{unread[0]} is set, but objective vae does not use it (its networks "
                          "are set in vae:, its optimiser in optim: or g_optim:); remove it")


def check_srgan(cfg: Config) -> None:
    """objective srgan: weights, widths, and the sections it does not read."""
    if cfg.objective != "srgan":
        return
    s = cfg.srgan
    weights = {"pixel_weight": s.pixel_weight, "feature_weight": s.feature_weight,
               "adversarial_weight": s.adversarial_weight}
    for key, w in weights.items():
        if not (math.isfinite(w) and w >= 0):
            raise GankitError(f"srgan.{key} = {w} must be a number >= 0")
    if s.pixel_weight == 0 and s.feature_weight == 0:
        raise GankitError("srgan.pixel_weight and srgan.feature_weight are both 0, so nothing "
                          "ties the output to the image; set srgan.pixel_weight=1")
    if min(s.g_base, s.d_base) < 1 or s.g_blocks < 0:
        raise GankitError(f"srgan.g_base = {s.g_base} and srgan.d_base = {s.d_base} must be "
                          f">= 1 and srgan.g_blocks = {s.g_blocks} >= 0")
    for section in ("generator", "discriminator"):
        if getattr(cfg, section) != type(getattr(cfg, section))():
            raise GankitError(f"objective srgan builds its networks from srgan.* (g_base, "
                              f"g_blocks, d_base); remove the {section}: settings")
    if cfg.loss == "wgan-gp":
        raise GankitError("loss wgan-gp needs a critic without batch norm; the srgan "
                          "discriminator has it: choose another loss (e.g. non-saturating)")
    if cfg.train.update != "alternating":
        raise GankitError("objective srgan updates D, then G (train.update=alternating); remove "
                          "train.update=simultaneous")
    if cfg.data.conditional or cfg.train.eval_every:
        raise GankitError("objective srgan upscales images: data.conditional and "
                          "train.eval_every do not apply (benchmarks/srgan.py scores it); "
                          "set them to false / 0")
    if cfg.data.dataset in ("ring", "grid", "gauss1d"):
        raise GankitError(f"objective srgan needs images; data.dataset {cfg.data.dataset} is "
                          "point data")
    if cfg.data.dataset in ("image-folder", "cifar10") and cfg.data.size % 4:
        raise GankitError(f"data.size = {cfg.data.size} must be divisible by 4 for x4 "
                          "super-resolution (e.g. 32 or 64)")


PAIRED_DATASETS = ("mnist-sketch", "paired")  # datasets whose examples are (input, target) pairs


def check_pix2pix(cfg: Config) -> None:
    """objective pix2pix trains on pairs only, with its own networks (the pix2pix: section)."""
    p, data, t = cfg.pix2pix, cfg.data, cfg.train
    if data.dataset != "paired" and (data.dir_a or data.dir_b):
        raise GankitError(f"data.dir_a and data.dir_b are read by data.dataset paired only; "
                          f"remove them (data.dataset is {data.dataset})")
    if data.dataset == "paired" and (data.dir or data.channels != 1):
        raise GankitError("data.dataset paired reads data.dir_a and data.dir_b (not data.dir), "
                          "and each folder's images keep their own channels (not data.channels); "
                          "remove data.dir / data.channels (--data-dir)")
    if cfg.objective != "pix2pix":
        if data.dataset in PAIRED_DATASETS:
            raise GankitError(f"data.dataset {data.dataset} pairs input images with targets; "
                              "only objective pix2pix reads the inputs: set objective: pix2pix")
        return
    if data.dataset not in PAIRED_DATASETS:
        raise GankitError(f"objective pix2pix translates paired images; data.dataset "
                          f"{data.dataset} has no inputs: use {' or '.join(PAIRED_DATASETS)}")
    for section in ("generator", "discriminator"):
        if changed := changed_fields(getattr(cfg, section)):
            raise GankitError(f"{section}.{changed[0]} is set, but objective pix2pix builds its "
                              "U-Net and PatchGAN from the pix2pix: section (g_base, depth, "
                              f"dropout, d_base, d_layers); remove the {section}: settings")
    weights = (p.l1_weight, p.adversarial_weight)
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise GankitError(f"pix2pix.l1_weight = {p.l1_weight} and pix2pix.adversarial_weight = "
                          f"{p.adversarial_weight} must be >= 0 and not both 0 (the paper: 100, 1)")
    if not 0.0 <= p.dropout < 1.0:
        raise GankitError(f"pix2pix.dropout = {p.dropout} must be in [0, 1)")
    if min(p.g_base, p.d_base, p.d_layers) < 1 or p.depth < 0:
        raise GankitError("pix2pix.g_base, d_base and d_layers must be >= 1 and pix2pix.depth "
                          ">= 0 (0: down to 1x1)")
    if data.conditional:
        raise GankitError("objective pix2pix is conditioned on its input image, not on labels; "
                          "set data.conditional=false")
    if t.ema or t.topk < 1.0 or t.update != "alternating" or cfg.loss == "wgan-gp":
        raise GankitError("objective pix2pix does not support train.ema, train.topk, "
                          "train.update=simultaneous or loss wgan-gp (its PatchGAN has batch "
                          "norm); remove them")


CAPTIONED_DATASETS = ("mnist-captions", "captioned-folder")  # datasets that give sentences


def check_text2image(cfg: Config) -> None:
    """objective text2image and its datasets, mnist-captions and captioned-folder."""
    if cfg.data.held_out:
        if cfg.data.dataset != "mnist-captions":
            raise GankitError(f"data.held_out holds out MNIST caption combinations; data.dataset "
                              f"{cfg.data.dataset} has no generated captions: use mnist-captions "
                              "or remove data.held_out (a captioned folder holds out what it "
                              "leaves out of the folder)")
        from gankit.data.captions import parse_held_out

        parse_held_out(cfg.data.held_out)
    if cfg.objective != "text2image":
        if cfg.data.dataset == "captioned-folder":
            raise GankitError("data.dataset captioned-folder pairs images with captions; only "
                              "objective text2image reads them: set objective: text2image (or "
                              "data.dataset: image-folder for the images alone)")
        return
    if cfg.data.dataset not in CAPTIONED_DATASETS:
        raise GankitError(f"objective text2image needs captions: set data.dataset: "
                          f"{' or '.join(CAPTIONED_DATASETS)} (not {cfg.data.dataset})")
    wrong = [(k, v) for k, v in (("generator.kind", cfg.generator.kind),
                                 ("discriminator.kind", cfg.discriminator.kind)) if v != "mlp"]
    if wrong:
        raise GankitError(f"objective text2image builds its own MLPs from generator.z_dim, "
                          f"generator.hidden and discriminator.hidden; set {wrong[0][0]}: mlp "
                          f"(not {wrong[0][1]})")
    for key, off in (("data.conditional", not cfg.data.conditional),
                     ("train.ema", not cfg.train.ema), ("loss", cfg.loss == "non-saturating"),
                     ("train.update", cfg.train.update == "alternating"),
                     ("train.topk", cfg.train.topk == 1.0)):
        if not off:
            raise GankitError(f"objective text2image does not use {key} (it conditions on "
                              f"sentences, with GAN-CLS's own non-saturating loss and "
                              f"alternating updates); remove the {key} setting")
    t = cfg.text2image
    if cfg.data.dataset == "captioned-folder":
        unread = [k for k in ("drop", "numeral") if getattr(t, k) != getattr(type(t)(), k)]
        if unread:
            raise GankitError(f"text2image.{unread[0]} changes MNIST's generated captions; a "
                              "captioned folder's captions are its own lines: remove it")
    if t.word_dim < 1 or t.embed_dim < 1:
        raise GankitError(f"text2image.word_dim = {t.word_dim} and text2image.embed_dim = "
                          f"{t.embed_dim} must be at least 1")
    for key in ("drop", "numeral", "beta"):
        if not 0.0 <= getattr(t, key) <= 1.0:
            raise GankitError(f"text2image.{key} = {getattr(t, key)} must be in [0, 1]")
    if not (math.isfinite(t.interpolate) and t.interpolate >= 0):
        raise GankitError(f"text2image.interpolate = {t.interpolate} must be >= 0 (0: off)")


# What objective inpaint's own networks (nets/inpaint.py) do not read: key -> its default.
_INPAINT_UNREAD = {"generator.attention": False, "generator.spectral_norm": False,
                   "generator.extra_layers": 0, "discriminator.attention": False,
                   "discriminator.extra_layers": 0, "discriminator.minibatch_std": False,
                   "discriminator.pack": 1, "data.conditional": False, "train.ema": 0.0,
                   "train.topk": 1.0, "train.update": "alternating", "generator.output": "sigmoid"}


def check_inpaint(cfg: Config) -> None:
    """objective inpaint: mask names, box sizes, and the settings its networks cannot honour."""
    if cfg.objective != "inpaint":
        return
    p = cfg.inpaint
    if not p.masks:
        raise GankitError(f"inpaint.masks is empty; list some of: {', '.join(MASK_KINDS)}")
    for name in p.masks:
        if name not in MASK_KINDS:
            raise GankitError(f"inpaint.masks = {name!r} is not known; choose one of: "
                              f"{', '.join(MASK_KINDS)}")
    if len(p.box_size) != 2 or not 1 <= p.box_size[0] <= p.box_size[1]:
        raise GankitError(f"inpaint.box_size = {p.box_size} must be [min, max] with "
                          "1 <= min <= max (box sides in pixels), e.g. [8, 16]")
    for key in ("mode_seeking", "reconstruction"):
        value = getattr(p, key)
        if not (math.isfinite(value) and value >= 0):
            raise GankitError(f"inpaint.{key} = {value} must be a number >= 0 (the weight of G's "
                              "extra term; 0 leaves it out)")
    if cfg.train.eval_every and "all" not in p.masks:
        raise GankitError("train.eval_every scores unconditional samples, which objective inpaint "
                          "draws only when inpaint.masks includes all; set train.eval_every=0 "
                          "(benchmarks/inpaint.py scores completions) or add all to inpaint.masks")
    if cfg.data.dataset in ("ring", "grid", "gauss1d"):
        raise GankitError(f"objective inpaint completes images; data.dataset {cfg.data.dataset} "
                          "is point data: use mnist, stacked-mnist or image-folder")
    for section in ("generator", "discriminator"):
        if getattr(cfg, section).kind != "dcgan":
            raise GankitError(f"objective inpaint builds convolutional nets: set {section}.kind: "
                              f"dcgan (it reads {section}.base and generator.z_dim)")
    for key, default in _INPAINT_UNREAD.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value != default:
            raise GankitError(f"{key} = {value!r} is not supported by objective inpaint; "
                              f"remove it (or set {key}={default})")

def check_bigan(cfg: Config) -> None:
    """What objective bigan (and its autoencoder baseline) builds: MLP nets on unlabelled images."""
    if cfg.objective not in ("bigan", "autoencoder"):
        return
    b, t, where = cfg.bigan, cfg.train, f"objective {cfg.objective}"
    if not b.encoder_hidden or any(w < 1 for w in b.encoder_hidden):
        raise GankitError(f"bigan.encoder_hidden = {b.encoder_hidden} must list positive layer "
                          "widths, e.g. [512, 512]")
    if not (math.isfinite(b.encoder_init_range) and b.encoder_init_range >= 0):
        raise GankitError(f"bigan.encoder_init_range = {b.encoder_init_range} must be a number "
                          ">= 0 (0: PyTorch's default init)")
    unsupported = [
        (cfg.generator.kind != "mlp", "generator.kind mlp"),
        (cfg.objective == "bigan" and cfg.discriminator.kind == "dcgan",
         "discriminator.kind mlp or maxout"),
        (cfg.objective == "bigan" and cfg.loss != "non-saturating", "loss non-saturating"),
        (cfg.data.conditional, "data.conditional=false"),
        (cfg.discriminator.pack != 1 or cfg.discriminator.minibatch_std,
         "discriminator.pack=1 and discriminator.minibatch_std=false"),
        (t.update != "alternating", "train.update alternating"),
        (t.ema != 0.0 or t.topk != 1.0, "train.ema=0 and train.topk=1"),
        (cfg.data.dataset in ("ring", "grid", "gauss1d"), "an image dataset"),
    ]
    for bad, needed in unsupported:
        if bad:
            raise GankitError(f"{where} needs {needed} (what train/bigan.py implements); "
                              "change that setting or use objective gan")


def check_semi(cfg: Config) -> None:
    """objective: semi reads semi.*, G's settings and the optimisers; D is its own network."""
    if cfg.objective != "semi":
        return
    s = cfg.semi
    if s.labels < 1 or s.label_seed < 0:
        raise GankitError(f"semi.labels = {s.labels} must be >= 1 and semi.label_seed = "
                          f"{s.label_seed} >= 0")
    if not s.hidden or any(w < 1 for w in s.hidden):
        raise GankitError(f"semi.hidden = {s.hidden} must list positive layer widths")
    for key in ("input_noise", "hidden_noise", "unlabelled_weight"):
        value = getattr(s, key)
        if not (math.isfinite(value) and value >= 0):
            raise GankitError(f"semi.{key} = {value} must be a number >= 0")
    if s.generator_loss not in ("feature-matching", "non-saturating"):
        raise GankitError(f"semi.generator_loss = {s.generator_loss!r} is not known; choose one "
                          "of: feature-matching, non-saturating")
    ignored = [f"discriminator.{f.name}" for f in dataclasses.fields(cfg.discriminator)
               if getattr(cfg.discriminator, f.name) != getattr(type(cfg.discriminator)(), f.name)]
    ignored += ["loss"] if cfg.loss != Config().loss else []
    ignored += ["train.ema"] if cfg.train.ema else []
    ignored += ["train.topk"] if cfg.train.topk < 1.0 else []
    ignored += [f"train.{k}" for k in ("compile", "channels_last") if getattr(cfg.train, k)]
    ignored += ["train.amp"] if cfg.train.amp != "off" else []
    ignored += ["data.conditional"] if cfg.data.conditional else []
    ignored += ["train.update"] if cfg.train.update != "alternating" else []
    if ignored:
        raise GankitError(f"{ignored[0]} is set, but objective semi does not read it (its D is "
                          "built from semi.hidden and trained with Salimans et al.'s loss, "
                          "alternating with G); remove it")


def check_semi_data(cfg: Config, data: Any) -> None:
    labels, k = cfg.semi.labels, data.n_classes
    if data.y is None or not k:
        raise GankitError(f"objective semi needs a dataset with class labels; "
                          f"{cfg.data.dataset} has none: use data.dataset mnist")
    smallest = int(data.y.bincount(minlength=k).min())
    if labels % k or labels // k > smallest:
        raise GankitError(f"semi.labels = {labels} must be a multiple of the {k} classes and at "
                          f"most {k} x {smallest} (the smallest class's training images)")


def check_infogan(cfg: Config) -> None:
    """objective infogan: a categorical code for Q to read, and G's step as train/infogan.py
    writes it (alternating updates, every fake in G's loss)."""
    if cfg.objective != "infogan":
        return
    i, t = cfg.info, cfg.train
    if cfg.generator.kind != "mlp" or cfg.generator.z_categories < 2:
        raise GankitError(f"objective infogan needs a categorical code in z: set generator.kind "
                          f"mlp and generator.z_categories >= 2 (it is "
                          f"{cfg.generator.z_categories}, kind {cfg.generator.kind})")
    if not (math.isfinite(i.weight) and i.weight > 0):
        raise GankitError(f"info.weight = {i.weight} must be a number > 0 (InfoGAN's lambda; "
                          "for no information term use objective gan)")
    if not i.hidden or any(w < 1 for w in i.hidden):
        raise GankitError(f"info.hidden = {i.hidden} must list positive layer widths, "
                          "e.g. [128, 128]")
    if t.update != "alternating" or t.topk < 1.0:
        raise GankitError("objective infogan needs train.update alternating and train.topk 1 "
                          "(its G step is train/infogan.py's); change that setting or use "
                          "objective gan")


OBJECTIVE_CHECKS: tuple[Callable[[Config], None], ...] = (
    check_vae,
    check_srgan,
    check_pix2pix,
    check_text2image,
    check_inpaint,
    check_bigan,
    check_semi,
    check_infogan,
)
