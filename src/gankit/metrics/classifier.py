"""gankit's own MNIST classifier: the feature extractor for FD/KID/PRDC and the mode counter.

No pretrained weights are downloaded. The package ships weights trained with the fixed recipe
below (benchmarks/train_classifier.py made them; docs/results/classifier.md says how and what
they score), verified against the SHA-256 in their manifest on every load. When they are
missing or fail the check, the user cache is used (weights plus a SHA-256 sidecar), and when
that fails too the network is trained once (fixed seed, a few epochs of Adam on the 60,000
MNIST training images) and cached.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gankit.data import load_mnist
from gankit.data.mnist import sha256_of, user_cache_dir
from gankit.errors import GankitError
from gankit.metrics.shipped_weights import SHIPPED_DIR, read_manifest, shipped_problem

ENV_CACHE_DIR = "GANKIT_CACHE_DIR"
WEIGHTS_NAME = "mnist_classifier_v1.pt"  # bump the version when the architecture changes

# Training recipe of the shipped and cached model (benchmarks/train_classifier.py reports its
# accuracy and training time).
TRAIN_SPLIT = "train-full"
TRAIN_EPOCHS = 4
TRAIN_BATCH = 128
TRAIN_LR = 2e-3
TRAIN_SEED = 0


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """F.max_pool2d(x, 2)'s values for even-sized N x C x H x W maps, as the maximum of four
    strided views: PyTorch's CPU kernel for that layout also computes the argmax indices and
    runs about ten times slower. Forward only: on ties its gradient would differ."""
    top = torch.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
    return torch.maximum(top, torch.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))


class MnistClassifier(nn.Module):
    """A LeNet-sized conv net: two 5x5 conv + max-pool blocks (16, 32 channels), a 128-unit
    feature layer, 10 logits. About 1.1 M multiply-adds per image, so it trains in minutes on CPU.

    Input N x 1 x 28 x 28 in [0, 1]. `features(x)` gives the 128-D penultimate activations.
    """

    feature_dim = 128
    n_classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # 24x24 -> 12x12
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # 8x8 -> 4x4
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, self.feature_dim), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)  # active only in training; features are unaffected
        self.head = nn.Linear(self.feature_dim, self.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features, N x 128."""
        if torch.is_grad_enabled():
            return self.body(x)
        for layer in self.body:  # inference: the same values by a faster pooling
            x = max_pool_2x2(x) if isinstance(layer, nn.MaxPool2d) else layer(x)
        return x

    def logits_from_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Class logits from `features(x)`, so one pass serves both features and predictions."""
        return self.head(feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def cache_dir() -> Path:
    """$GANKIT_CACHE_DIR if set, else the gankit user cache ($XDG_CACHE_HOME/gankit)."""
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env).expanduser() if env else user_cache_dir()


def default_weights_path() -> Path:
    return cache_dir() / WEIGHTS_NAME


def shipped_weights_path() -> Path:
    """The weights shipped as package data (made by benchmarks/train_classifier.py)."""
    return SHIPPED_DIR / WEIGHTS_NAME


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def train_mnist_classifier(images: torch.Tensor, labels: torch.Tensor,
                           epochs: int = TRAIN_EPOCHS, batch_size: int = TRAIN_BATCH,
                           lr: float = TRAIN_LR, seed: int = TRAIN_SEED,
                           verbose: bool = False) -> MnistClassifier:
    """Train a fresh classifier with Adam and a linearly decaying learning rate."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MnistClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(images) // batch_size)
    # Decaying to 0 over the run gives most of the accuracy of a longer schedule in few epochs.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1.0 - step / (epochs * steps_per_epoch))
    model.train()
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for i in range(0, len(images), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        if verbose:
            print(f"  classifier epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f} "
                  f"({time.perf_counter() - start:.0f} s)")
    return model.eval()


def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 1000) -> float:
    """Share of `images` whose predicted class equals `labels`."""
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(images[i:i + batch_size]).argmax(1)
                           == labels[i:i + batch_size]).sum())
                      for i in range(0, len(images), batch_size))
    return correct / len(images)


def save_weights(model: MnistClassifier, path: Path) -> None:
    """Write weights (temp file + rename) and then their SHA-256 sidecar.

    An interrupted save leaves weights without a matching sidecar, which the next load
    detects and rebuilds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(model.state_dict(), handle)
        digest = sha256_of(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sidecar(path).write_text(f"{digest}  {path.name}\n")


def _read_weights(path: Path) -> MnistClassifier:
    """Load a state dict into a fresh classifier; GankitError if it is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = MnistClassifier()
        model.load_state_dict(state)
    except Exception as exc:  # unpickling, shape and key errors all mean "not our weights"
        raise GankitError(f"{path} is not a gankit MNIST classifier weights file ({exc}); "
                          "delete it to retrain, or pass the right file") from exc
    return model.eval()


def _cached_problem(path: Path) -> str | None:
    """Why the cached weights cannot be used, or None when they verify."""
    if not path.is_file():
        return "not found"
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        return "checksum file missing"
    expected = sidecar.read_text().split()[:1]
    if expected != [sha256_of(path)]:
        return "checksum mismatch (corrupt or partly written)"
    return None


def _tagged(model: MnistClassifier, source: str, digest: str) -> MnistClassifier:
    """Record where the weights came from; extractor_name() puts it into eval protocols."""
    model.weights_source = f"{source} sha256:{digest[:12]}"
    return model


def _load_shipped(verbose: bool) -> MnistClassifier | None:
    """The shipped weights when they verify; else None, after a one-line notice saying why."""
    path = shipped_weights_path()
    problem = shipped_problem(path)
    if problem is None:
        try:
            return _tagged(_read_weights(path), "shipped", read_manifest(path)["sha256"])
        except GankitError as exc:
            problem = str(exc).splitlines()[0]
    if verbose:
        print(f"gankit: shipped MNIST classifier {path}: {problem}; using the user cache instead")
    return None


def load_mnist_classifier(weights: str | Path | None = None, data_dir: str | Path | None = None,
                          retrain_if_missing: bool = True,
                          verbose: bool = True) -> MnistClassifier:
    """The MNIST classifier in eval mode: from `weights`, else shipped, else the user cache.

    With `weights` given, that file is loaded (its sidecar checksum is checked if present) and
    never overwritten. Otherwise the weights shipped with the package are used when their
    SHA-256 matches their manifest; failing that, the cached copy; when that is missing or
    fails its checksum too, the classifier is retrained (8-18 minutes on 2 shared CPU cores)
    unless `retrain_if_missing` is False. The returned model's `weights_source` says which
    weights were used.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise GankitError(f"classifier weights {path} not found; pass an existing file, or "
                              "leave the weights unset to use gankit's shipped model")
        problem = _cached_problem(path)
        if problem is not None and _sidecar(path).is_file():
            raise GankitError(f"classifier weights {path}: {problem}; replace the file")
        return _tagged(_read_weights(path), f"file {path.name}", sha256_of(path))

    shipped = _load_shipped(verbose)
    if shipped is not None:
        return shipped

    path = default_weights_path()
    problem = _cached_problem(path)
    if problem is None:
        try:
            return _tagged(_read_weights(path), "user cache", sha256_of(path))
        except GankitError as exc:
            problem = str(exc).splitlines()[0]
    if not retrain_if_missing:
        raise GankitError(f"cached MNIST classifier {path}: {problem}; allow retraining or pass "
                          "a weights file")
    if verbose:
        print(f"gankit: MNIST classifier at {path}: {problem}; training it now "
              f"({TRAIN_EPOCHS} epochs on MNIST {TRAIN_SPLIT}, 8-18 minutes on 2 shared CPU cores)")
    images, labels = load_mnist(TRAIN_SPLIT, data_dir=data_dir)
    model = train_mnist_classifier(images, labels, epochs=TRAIN_EPOCHS, verbose=verbose)
    save_weights(model, path)
    if verbose:
        print(f"gankit: saved the MNIST classifier to {path}")
    return _tagged(model, "trained now", sha256_of(path))
