"""CIFAR-10 from its python-version archive: reading, the MD5 refusal, the "not found" error,
and a DCGAN and an SRGAN step on it, all on a small archive written in the same format."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from conftest import REPO, TINY_DCGAN
from gankit.config import load_config
from gankit.data import cifar
from gankit.errors import GankitError
from gankit.train.loop import Trainer


def write_archive(folder, n: int = 4, seed: int = 0):
    """A cifar-10-python.tar.gz with n images per batch; returns (path, train x, train y)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / cifar.ARCHIVE
    xs, ys = [], []
    with tarfile.open(path, "w:gz") as tar:
        for name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH):
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 10, n)]
            if name != cifar.TEST_BATCH:
                xs.append(data)
                ys += labels
            blob = pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path, np.concatenate(xs), ys


def trust(monkeypatch, path):
    """Make the test archive's MD5 the expected one (the real one is the official file's)."""
    monkeypatch.setattr(cifar, "MD5", hashlib.md5(path.read_bytes()).hexdigest())


def test_reads_the_batches_in_the_published_layout(tmp_path, monkeypatch):
    path, data, labels = write_archive(tmp_path / "c")
    trust(monkeypatch, path)
    x, y = cifar.load_cifar10("train", tmp_path / "c")
    assert x.shape == (20, 3, 32, 32) and y.tolist() == labels
    # pixel (row 1, col 2) of the blue plane of image 3: offset 2 * 1024 + 1 * 32 + 2
    assert x[3, 2, 1, 2].item() == pytest.approx(data[3, 2048 + 32 + 2] / 255)
    tx, _ = cifar.load_cifar10("test", path)  # data.dir may name the archive itself
    assert tx.shape == (4, 3, 32, 32)


def test_an_archive_with_another_md5_is_refused(tmp_path):
    write_archive(tmp_path / "c")
    with pytest.raises(GankitError, match=f"not the official {cifar.MD5}") as err:
        cifar.load_cifar10("train", tmp_path / "c")
    assert "\n" not in str(err.value)


def test_a_missing_archive_says_where_to_put_it(tmp_path, monkeypatch):
    with pytest.raises(GankitError, match=r"not found; download https://www.cs.toronto.edu/"
                                          r"~kriz/cifar-10-python.tar.gz \(MD5 c58f"):
        cifar.load_cifar10("train", tmp_path / "empty")
    # Without data.dir: the cache; offline, the failed download says the same.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_DATA_DIR", raising=False)

    def offline(url, dest, timeout=30.0):
        raise OSError("no network")

    monkeypatch.setattr(cifar.mnist, "download_url", offline)
    with pytest.raises(GankitError, match="download failed .*no network.*put it there"):
        cifar.load_cifar10("train")


def test_a_wrong_download_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_DATA_DIR", raising=False)

    def fake(url, dest, timeout=30.0):
        assert url == cifar.URL
        dest.write_bytes(b"not the archive")

    monkeypatch.setattr(cifar.mnist, "download_url", fake)
    with pytest.raises(GankitError, match="not the official"):
        cifar.load_cifar10("train")
    assert not (tmp_path / "cache" / "gankit" / "cifar10" / cifar.ARCHIVE).exists()


def test_shipped_cifar_config_fails_in_one_line_without_the_archive(tmp_path):
    cfg = load_config("cifar10-dcgan", [f"data.dir={tmp_path / 'nothing'}"])
    with pytest.raises(GankitError, match="put it there, or point data.dir"):
        Trainer(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(GankitError, match="data.size=32 and data.channels=3"):
        load_config("cifar10-dcgan", ["data.size=64"])


@pytest.mark.parametrize("objective", ["gan", "srgan"])
def test_dcgan_and_srgan_train_on_the_archive(tmp_path, monkeypatch, objective):
    path, _, _ = write_archive(tmp_path / "c")
    trust(monkeypatch, path)
    if objective == "gan":
        cfg = load_config("cifar10-dcgan", [*TINY_DCGAN, f"data.dir={path.parent}",
                                            "train.epochs=0", "train.max_steps=1"])
    else:
        cfg = load_config(REPO / "configs/mnist-sr4.yaml", [
            "data.dataset=cifar10", f"data.dir={path.parent}", "data.size=32",
            "data.channels=3", "srgan.feature_weight=0", "srgan.g_base=4", "srgan.g_blocks=1",
            "srgan.d_base=4", "train.batch_size=8", "train.epochs=0", "train.max_steps=1",
            "train.progress=false", "train.n_sample_grid=8"])
    t = Trainer(cfg, tmp_path / "run")
    t.run()
    assert t.data.shape == (3, 32, 32)
    assert torch.isfinite(t.objective.preview(4)).all()
