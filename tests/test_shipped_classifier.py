"""The classifier weights shipped in the package: manifest, load without training, refusal of a
damaged copy, and accuracy on real MNIST."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import torch

import gankit.metrics.classifier as classifier_module
from conftest import SHARED_MNIST
from gankit.data import load_mnist
from gankit.metrics.classifier import (
    MnistClassifier,
    accuracy,
    load_mnist_classifier,
    shipped_weights_path,
    train_mnist_classifier,
)
from gankit.metrics.features import extractor_name
from gankit.metrics.shipped_weights import manifest_path, read_manifest

SHIPPED = shipped_weights_path()


def test_shipped_weights_match_their_manifest():
    manifest = read_manifest(SHIPPED)
    data = SHIPPED.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["file"] == SHIPPED.name and manifest["bytes"] == len(data) < 1_000_000
    assert manifest["command"].startswith("python benchmarks/train_classifier.py")
    assert manifest["test_accuracy"] > 0.98 and manifest["torch"] and manifest["date"]


def test_load_uses_shipped_weights_without_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier_module, "train_mnist_classifier",
                        lambda *a, **k: pytest.fail("trained although shipped weights exist"))
    model = load_mnist_classifier()
    assert isinstance(model, MnistClassifier) and not model.training
    assert capsys.readouterr().out == ""  # no notice: nothing went wrong
    assert not (tmp_path / "cache").exists()  # the user cache is neither read nor written
    sha = read_manifest(SHIPPED)["sha256"]
    assert model.weights_source == f"shipped sha256:{sha[:12]}"
    assert extractor_name(model).endswith(f"(shipped sha256:{sha[:12]})")


@pytest.mark.parametrize("damage", ["flip_byte", "no_manifest"])
def test_damaged_shipped_copy_is_refused_and_the_cache_used(tmp_path, monkeypatch, capsys,
                                                            damage):
    copy = tmp_path / "shipped" / SHIPPED.name
    copy.parent.mkdir()
    shutil.copyfile(SHIPPED, copy)
    shutil.copyfile(manifest_path(SHIPPED), manifest_path(copy))
    if damage == "flip_byte":
        data = bytearray(copy.read_bytes())
        data[len(data) // 2] ^= 0xFF
        copy.write_bytes(bytes(data))
    else:
        manifest_path(copy).unlink()
    monkeypatch.setattr(classifier_module, "shipped_weights_path", lambda: copy)
    # A valid user cache, made from a cheap toy model, is what the loader should fall back to.
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(tmp_path / "cache"))
    toy = train_mnist_classifier(torch.rand(20, 1, 28, 28), torch.arange(20) % 10, epochs=1)
    classifier_module.save_weights(toy, classifier_module.default_weights_path())

    model = load_mnist_classifier()
    out = capsys.readouterr().out
    reason = "SHA-256 mismatch" if damage == "flip_byte" else "manifest"
    assert f"shipped MNIST classifier {copy}: {reason}" in out
    assert "using the user cache instead" in out and len(out.strip().splitlines()) == 1
    assert model.weights_source.startswith("user cache sha256:")
    torch.testing.assert_close(model.head.weight, toy.head.weight)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="real MNIST files not present")
def test_shipped_classifier_accuracy_on_real_mnist():
    images, labels = load_mnist("test", data_dir=SHARED_MNIST)
    model = load_mnist_classifier(verbose=False)
    assert model.weights_source.startswith("shipped")
    assert accuracy(model, images[:1000], labels[:1000]) > 0.97
