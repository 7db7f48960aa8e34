"""The cached MNIST classifier: training, checksum sidecar, corrupt-file rebuild, user weights.

Training runs on a tiny synthetic set (monkeypatched load_mnist), never on full MNIST. The
shipped weights are hidden here (tests/test_shipped_classifier.py covers them), so these tests
see the user-cache path they exercise.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

import gankit.metrics.classifier as classifier_module
from gankit.errors import GankitError
from gankit.metrics.classifier import (
    MnistClassifier,
    accuracy,
    cache_dir,
    default_weights_path,
    load_mnist_classifier,
    train_mnist_classifier,
)


def _toy_digits(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Class c = a bright 4 x 4 block at a class-specific place, plus noise: easy to learn."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = 0.1 * torch.rand(n, 1, 28, 28, generator=generator)
    for c in range(10):
        row, col = 4 + 8 * (c // 4), 2 + 6 * (c % 4)
        images[labels == c, :, row:row + 4, col:col + 4] = 1.0
    return images, labels


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch):
    """An empty cache folder, no shipped weights, one training epoch, and a load_mnist serving
    64 toy digits."""
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier_module, "shipped_weights_path",
                        lambda: tmp_path / "no-shipped" / "mnist_classifier_v1.pt")
    monkeypatch.setattr(classifier_module, "TRAIN_EPOCHS", 1)
    calls = []

    def load(split, data_dir=None):
        calls.append(split)
        return _toy_digits(64)

    monkeypatch.setattr(classifier_module, "load_mnist", load)
    return calls


def test_cache_dir_honours_env_and_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("GANKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "gankit"
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_weights_path().parent == tmp_path / "mine"


def test_training_learns_and_model_shapes():
    images, labels = _toy_digits(200)
    model = train_mnist_classifier(images, labels, epochs=2, batch_size=10)
    assert not model.training
    test_images, test_labels = _toy_digits(200, seed=1)
    assert accuracy(model, test_images, test_labels) > 0.9
    with torch.no_grad():
        feats = model.features(test_images[:5])
        logits = model(test_images[:5])
    assert feats.shape == (5, MnistClassifier.feature_dim) and logits.shape == (5, 10)
    torch.testing.assert_close(model.logits_from_features(feats), logits)


def test_first_load_trains_and_writes_weights_with_checksum(tiny_cache, capsys):
    model = load_mnist_classifier()
    out = capsys.readouterr().out
    assert "shipped MNIST classifier" in out and "not found; using the user cache" in out
    assert "training it now" in out
    assert tiny_cache == ["train-full"] and not model.training
    assert model.weights_source.startswith("trained now sha256:")
    path = default_weights_path()
    sidecar = path.with_name(path.name + ".sha256")
    assert sidecar.read_text().split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_second_load_uses_cache_without_training(tiny_cache, monkeypatch):
    first = load_mnist_classifier(verbose=False)
    monkeypatch.setattr(classifier_module, "train_mnist_classifier",
                        lambda *a, **k: pytest.fail("retrained although the cache is valid"))
    second = load_mnist_classifier(verbose=False)
    assert second.weights_source.startswith("user cache sha256:")
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "no_sidecar"])
def test_damaged_cache_is_rebuilt_with_notice(tiny_cache, capsys, damage):
    load_mnist_classifier(verbose=False)
    path = default_weights_path()
    if damage == "corrupt":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.with_name(path.name + ".sha256").unlink()
    model = load_mnist_classifier()
    out = capsys.readouterr().out
    assert "training it now" in out
    assert "checksum" in out
    assert len(tiny_cache) == 2 and isinstance(model, MnistClassifier)
    assert load_mnist_classifier(verbose=False) is not None  # and it verifies again


def test_missing_cache_without_retraining_is_an_error(tiny_cache):
    with pytest.raises(GankitError, match="not found"):
        load_mnist_classifier(retrain_if_missing=False)
    assert tiny_cache == []


def test_user_weights_are_loaded_and_checked(tmp_path, tiny_cache):
    model = train_mnist_classifier(*_toy_digits(64), epochs=1)
    user = tmp_path / "mine.pt"
    classifier_module.save_weights(model, user)
    loaded = load_mnist_classifier(user)
    torch.testing.assert_close(loaded.head.weight, model.head.weight)
    assert not loaded.training and tiny_cache == []  # no training, no MNIST needed
    digest = hashlib.sha256(user.read_bytes()).hexdigest()
    assert loaded.weights_source == f"file mine.pt sha256:{digest[:12]}"

    with pytest.raises(GankitError, match="not found"):
        load_mnist_classifier(tmp_path / "missing.pt")
    user.write_bytes(user.read_bytes()[:-10])  # sidecar now disagrees
    with pytest.raises(GankitError, match="checksum mismatch"):
        load_mnist_classifier(user)
    garbage = tmp_path / "garbage.pt"  # no sidecar: the load itself must fail cleanly
    garbage.write_bytes(b"junk")
    with pytest.raises(GankitError, match="not a gankit MNIST classifier"):
        load_mnist_classifier(garbage)
    assert tiny_cache == []
