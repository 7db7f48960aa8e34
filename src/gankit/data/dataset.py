"""The training and validation data a config names, as in-memory tensors.

Everything here fits in memory (MNIST is 188 MB as float32), so training indexes tensors directly
instead of going through a DataLoader: on 2 CPU cores that is the difference between a fast loop
and a slow one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

from gankit.config import DataConfig
from gankit.errors import GankitError


@dataclass
class TrainingData:
    x: torch.Tensor  # training examples, N x data_shape
    y: torch.Tensor | None  # labels, or None
    n_classes: int
    valid: torch.Tensor | None = None  # validation examples (MNIST: train[50000:60000])
    valid_y: torch.Tensor | None = None
    means: torch.Tensor | None = None  # toy mixtures: the true mode centres
    std: float | None = None  # toy mixtures: the true per-mode std
    # Per-example tensors beyond x and y (an input image for x, a caption, attributes), N rows
    # each. The loop's minibatches are (x, y, *extras.values()), in this dict's order.
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    vocabulary: list[str] | None = None  # captioned-folder: the words of its captions

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4


# Datasets that are whatever their folder holds. A run keeps their fingerprint in its
# checkpoint, so a resume can tell the same images in a new place from different images.
# (MNIST's files are checked against their published SHA-256 sums on every load, and the 2-D
# sets are drawn from the seed: moving their data cannot change what a run trains on.)
FOLDER_DATASETS = ("image-folder", "paired", "captioned-folder")


def fingerprint(data: TrainingData) -> str:
    """SHA-256 of the training examples and labels: the same for the same images anywhere."""
    digest = hashlib.sha256()
    for tensor in (data.x, data.y, *data.extras.values()):
        if tensor is not None:
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().cpu().contiguous().numpy())
    return digest.hexdigest()


def load_training_data(cfg: DataConfig, seed: int = 0) -> TrainingData:
    """The paper's split for MNIST: train[0:50000] to train on, train[50000:60000] to validate."""
    name = cfg.dataset
    if name == "mnist":
        from gankit.data.mnist import load_mnist

        x, y = load_mnist("train", cfg.dir)
        vx, vy = load_mnist("valid", cfg.dir)
        if cfg.n_train < len(x):  # a small-data run: the first n_train training images
            x, y = x[: cfg.n_train], y[: cfg.n_train]
        return TrainingData(x, y, 10, valid=vx, valid_y=vy)
    if name in ("ring", "grid"):
        from gankit.data.toy import make_toy

        x, means, std = make_toy(
            name,
            n=cfg.n_train,
            seed=seed,
            modes=cfg.modes,
            radius=cfg.radius,
            std=cfg.std,
            side=cfg.side,
            spacing=cfg.spacing,
        )
        # Labels are the mode index, so conditional toy GANs are possible too.
        y = torch.cdist(x, means).argmin(dim=1)
        return TrainingData(x, y, len(means), means=means, std=std)
    if name == "gauss1d":
        from gankit.data.toy import make_gauss1d

        x = make_gauss1d(cfg.n_train, mean=cfg.mean, std=cfg.std or 0.5, seed=seed)
        return TrainingData(x.reshape(-1, 1), None, 0)
    if name == "stacked-mnist":
        from gankit.data.mnist import load_mnist
        from gankit.data.stacked import make_stacked_mnist

        mx, my = load_mnist("train-full", cfg.dir)
        x, codes = make_stacked_mnist(mx, my, cfg.n_train, seed)
        return TrainingData(x, codes, 1000)
    if name == "image-folder":
        from gankit.data.images import load_image_folder

        if not cfg.dir:
            raise GankitError("data.dataset image-folder needs a folder of images: --data-dir PATH "
                              "(or --set data.dir=PATH)")
        x, y, classes = load_image_folder(cfg.dir, size=cfg.size, channels=cfg.channels)
        return TrainingData(x, y, len(classes) if y is not None else 0)
    if name == "cifar10":
        from gankit.data.cifar import load_cifar10

        x, y = load_cifar10("train", cfg.dir)
        return TrainingData(x, y, 10)
    if name == "mnist-sketch":  # pix2pix: the digit's outline (data/sketch.py) -> the digit
        from gankit.data.mnist import load_mnist
        from gankit.data.sketch import outline

        x, y = load_mnist("train", cfg.dir)
        vx, vy = load_mnist("valid", cfg.dir)
        return TrainingData(x, y, 10, valid=vx, valid_y=vy, extras={"input": outline(x)})
    if name == "paired":  # pix2pix: data.dir_a's images -> data.dir_b's, paired by file name
        from gankit.data.paired import load_paired

        a, b, _ = load_paired(cfg.dir_a, cfg.dir_b, cfg.size)
        return TrainingData(b, None, 0, extras={"input": a})
    if name == "mnist-captions":
        from gankit.data.captions import captioned_mnist

        x, y, extras, vx, vy = captioned_mnist(cfg.dir, cfg.held_out)
        return TrainingData(x, y, 10, valid=vx, valid_y=vy, extras=extras)
    if name == "captioned-folder":  # text to image on the user's images (data/captioned.py)
        from gankit.data.captioned import load_captioned_folder

        if not cfg.dir:
            raise GankitError("data.dataset captioned-folder needs a folder of images with "
                              "captions: --data-dir PATH (or --set data.dir=PATH)")
        x, tokens, counts, vocab = load_captioned_folder(cfg.dir, cfg.size, cfg.channels)
        return TrainingData(x, None, 0, extras={"captions": tokens, "n_captions": counts},
                            vocabulary=vocab)
    raise GankitError(f"unknown data.dataset {name!r}")


def marginal_labels(y: torch.Tensor, n_classes: int, n: int) -> torch.Tensor:
    """n labels whose class counts follow the training labels' frequencies (largest remainder),
    interleaved so that every prefix is mixed.

    A conditional G models p(x) = sum_c p(c) p(x | c) with p(c) the training marginal, so that
    is the mixture its samples are scored as (MNIST's classes run from 9.0 % to 11.2 %); equal
    counts per class would score another distribution than the one it learnt."""
    counts = torch.bincount(y.long(), minlength=n_classes)[:n_classes].double()
    if counts.sum() <= 0:
        raise GankitError("marginal_labels needs at least one training label")
    exact = counts / counts.sum() * n
    quota = exact.floor().long()
    short = n - int(quota.sum())
    # Largest remainders get the left-over labels; ties go to the lower class index.
    order = sorted(range(n_classes), key=lambda c: (-(exact[c] - quota[c]).item(), c))
    for c in order[:short]:
        quota[c] += 1
    # Interleave: the i-th label of class c sits at (i + 0.5) / quota[c] of the way along.
    position = torch.cat([(torch.arange(int(q)) + 0.5) / int(q) for q in quota if q > 0])
    label = torch.cat([torch.full((int(q),), c) for c, q in enumerate(quota) if q > 0])
    return label[torch.argsort(position, stable=True)]


def label_protocol(labels: torch.Tensor, y: torch.Tensor | None, n_classes: int) -> str:
    """How a conditional G's scored samples got their labels, for a result's protocol."""
    if y is not None and torch.equal(labels, marginal_labels(y, n_classes, len(labels))):
        return "training proportions"
    counts = torch.bincount(labels.long(), minlength=n_classes)
    return "equal per class" if bool((counts == counts[0]).all()) else "given"
