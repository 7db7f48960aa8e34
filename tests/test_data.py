"""Tests for gankit.data: IDX parsing, MNIST loading, toy mixtures, image folders, Stacked MNIST."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import (
    grid_means,
    load_image_folder,
    load_mnist,
    make_gauss1d,
    make_stacked_mnist,
    make_toy,
    mnist_dir,
    read_idx,
    ring_means,
)
from gankit.data import mnist as mnist_module
from gankit.errors import GankitError

REPO_ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- IDX helpers


def write_idx(path: Path, array: np.ndarray, type_code: int = 0x08) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in .gz)."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(dtype).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_fake_mnist(folder: Path, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict:
    """Four small MNIST-shaped IDX .gz files; returns {name: sha256} for them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        mnist_module.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        mnist_module.TRAIN_LABELS: np.arange(n_train, dtype=np.uint8) % 10,
        mnist_module.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        mnist_module.TEST_LABELS: (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    sums = {}
    for name, array in contents.items():
        write_idx(folder / name, array)
        sums[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return {"sums": sums, "arrays": contents}


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Point the user cache at a temp folder so tests never touch ~/.cache."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("GANKIT_DATA_DIR", raising=False)
    return cache


# ---------------------------------------------------------------- IDX parsing


def test_read_idx_roundtrip_uint8_and_int32(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    parsed = read_idx(write_idx(tmp_path / "img.gz", images))
    assert parsed.dtype == np.uint8 and parsed.shape == (7, 28, 28)
    np.testing.assert_array_equal(parsed, images)

    values = np.array([-5, 0, 70000, 2**30], dtype=np.int64)
    parsed = read_idx(write_idx(tmp_path / "ints.idx", values, type_code=0x0C))
    np.testing.assert_array_equal(parsed, values)  # big-endian decoded correctly
    assert parsed.dtype.isnative


def test_read_idx_bad_magic_raises(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00"))
    with pytest.raises(GankitError, match="magic"):
        read_idx(path)


def test_read_idx_header_size_mismatch_raises(tmp_path):
    path = tmp_path / "short.gz"
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 10, 28, 28)
    path.write_bytes(gzip.compress(header + bytes(28 * 28 * 3)))  # 3 images, header says 10
    with pytest.raises(GankitError, match="truncated or corrupt"):
        read_idx(path)


def test_read_idx_truncated_gzip_raises(tmp_path):
    full = write_idx(tmp_path / "full.gz", np.ones((50, 28, 28), dtype=np.uint8))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    with pytest.raises(GankitError, match="cut.gz"):
        read_idx(cut)


def test_read_idx_not_gzip_raises(tmp_path):
    path = tmp_path / "junk.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(GankitError, match="gzip"):
        read_idx(path)


# ---------------------------------------------------------------- MNIST loading (fake files)


def test_load_mnist_fake_files_splits_and_cache(tmp_path, monkeypatch, isolated_cache):
    fake = write_fake_mnist(tmp_path / "mnist", n_train=12, n_test=5)
    monkeypatch.setattr(mnist_module, "SHA256", fake["sums"])
    monkeypatch.setattr(mnist_module, "N_TRAIN", 8)  # 50,000 of 60,000 in the real data

    train_x, train_y = load_mnist("train", data_dir=tmp_path / "mnist", download=False)
    assert train_x.shape == (8, 1, 28, 28) and train_x.dtype == torch.float32
    assert train_y.dtype == torch.int64
    expected = torch.from_numpy(fake["arrays"][mnist_module.TRAIN_IMAGES][:8]).float() / 255
    torch.testing.assert_close(train_x[:, 0], expected)
    assert train_y.tolist() == list(range(8))

    # The parsed tensors went into the user cache; the second load must not re-parse.
    assert len(list((isolated_cache / "gankit").glob("mnist-*.pt"))) == 1

    def no_parse(folder):
        raise AssertionError("cache not used")

    monkeypatch.setattr(mnist_module, "_parse_all", no_parse)
    valid_x, valid_y = load_mnist("valid", data_dir=tmp_path / "mnist", download=False)
    assert valid_x.shape == (4, 1, 28, 28) and valid_y.tolist() == [8, 9, 0, 1]
    full_x, _ = load_mnist("train-full", data_dir=tmp_path / "mnist", download=False)
    torch.testing.assert_close(full_x, torch.cat([train_x, valid_x]))
    test_x, test_y = load_mnist("test", data_dir=tmp_path / "mnist", download=False)
    assert test_x.shape == (5, 1, 28, 28) and test_y.tolist() == [0, 3, 6, 9, 2]
    assert 0.0 <= float(test_x.min()) and float(test_x.max()) <= 1.0


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch, isolated_cache):
    fake = write_fake_mnist(tmp_path / "mnist")
    monkeypatch.setattr(mnist_module, "SHA256", fake["sums"])
    cache_file = mnist_module._cache_path()
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"garbage")
    images, _ = load_mnist("test", data_dir=tmp_path / "mnist", download=False)
    assert images.shape == (5, 1, 28, 28)
    assert torch.load(cache_file, weights_only=True)["test_images"].shape == (5, 28, 28)


def test_checksum_mismatch_raises(tmp_path, isolated_cache):
    write_fake_mnist(tmp_path / "mnist")  # real constants, fake content
    with pytest.raises(GankitError) as info:
        load_mnist("train", data_dir=tmp_path / "mnist", download=False)
    message = str(info.value)
    assert mnist_module.TRAIN_IMAGES in message
    assert mnist_module.SHA256[mnist_module.TRAIN_IMAGES] in message
    got = hashlib.sha256((tmp_path / "mnist" / mnist_module.TRAIN_IMAGES).read_bytes())
    assert got.hexdigest() in message
    assert "delete" in message.splitlines()[0]


def test_unknown_split_lists_valid_ones():
    with pytest.raises(GankitError) as info:
        load_mnist("training")
    for split in ("train", "valid", "test", "train-full"):
        assert split in str(info.value)


def test_missing_files_without_download_raises(tmp_path, isolated_cache):
    with pytest.raises(GankitError, match="download=False") as info:
        load_mnist("test", data_dir=tmp_path / "empty", download=False)
    assert "--data-dir" in str(info.value)


def test_offline_download_raises_clear_error(tmp_path, monkeypatch, isolated_cache):
    calls = []

    def offline(url, dest, timeout=30.0):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(mnist_module, "download_url", offline)
    monkeypatch.setattr(mnist_module.time, "sleep", lambda seconds: None)
    target = tmp_path / "nowhere"
    with pytest.raises(GankitError) as info:
        load_mnist("train", data_dir=target)
    first_line = str(info.value).splitlines()[0]
    assert str(target) in first_line and "--data-dir" in first_line
    assert "offline" in first_line
    # Every mirror was tried, with retries, before giving up.
    for mirror in mnist_module.MIRRORS:
        assert calls.count(mirror + mnist_module.TRAIN_IMAGES) == 3


def test_download_falls_back_to_next_mirror(tmp_path, monkeypatch, isolated_cache):
    source = tmp_path / "source"
    fake = write_fake_mnist(source)
    monkeypatch.setattr(mnist_module, "SHA256", fake["sums"])

    def fake_download(url, dest, timeout=30.0):
        if url.startswith(mnist_module.MIRRORS[0]):
            dest.write_bytes(b"an error page, not the file")  # wrong checksum: must be skipped
        else:
            dest.write_bytes((source / dest.name).read_bytes())

    monkeypatch.setattr(mnist_module, "download_url", fake_download)
    images, labels = load_mnist("test", data_dir=tmp_path / "downloaded")
    assert images.shape == (5, 1, 28, 28) and labels.shape == (5,)
    for name, digest in fake["sums"].items():
        assert mnist_module.sha256_of(tmp_path / "downloaded" / name) == digest


def test_mnist_dir_precedence(tmp_path, monkeypatch, isolated_cache):
    monkeypatch.setenv("GANKIT_DATA_DIR", str(tmp_path / "from-env"))
    assert mnist_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert mnist_dir() == tmp_path / "from-env"
    assert mnist_dir("") == tmp_path / "from-env"  # empty config value = not given
    monkeypatch.delenv("GANKIT_DATA_DIR")

    shared = tmp_path / "shared" / "data" / "mnist"
    shared.mkdir(parents=True)
    (shared / mnist_module.TEST_LABELS).write_bytes(b"x")
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    assert mnist_dir() == shared.resolve()

    monkeypatch.setattr(mnist_module, "_find_shared_mnist", lambda: None)
    assert mnist_dir() == isolated_cache / "gankit" / "mnist"


def _real_mnist_dir() -> Path | None:
    for candidate in (
        Path("/work/shared/data/mnist"),
        REPO_ROOT.parent / "shared" / "data" / "mnist",
        REPO_ROOT / "shared" / "data" / "mnist",
    ):
        if all((candidate / name).is_file() for name in mnist_module.SHA256):
            return candidate
    return None


@pytest.mark.skipif(_real_mnist_dir() is None, reason="shared MNIST files not present")
def test_real_mnist(isolated_cache):
    folder = _real_mnist_dir()
    train_x, train_y = load_mnist("train", data_dir=folder, download=False)
    valid_x, valid_y = load_mnist("valid", data_dir=folder, download=False)
    test_x, test_y = load_mnist("test", data_dir=folder, download=False)
    assert train_x.shape == (50_000, 1, 28, 28)
    assert valid_x.shape == (10_000, 1, 28, 28)
    assert test_x.shape == (10_000, 1, 28, 28)
    for images in (train_x, valid_x, test_x):
        assert images.dtype == torch.float32
        assert float(images.min()) == 0.0 and float(images.max()) == 1.0
    # Published MNIST facts: label counts of the t10k and of all 60,000 training images,
    # the first training digit is a 5, and the training pixel mean/std are 0.1307/0.3081.
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert torch.bincount(test_y).tolist() == test_counts
    full_counts = torch.bincount(torch.cat([train_y, valid_y])).tolist()
    assert full_counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert int(train_y[0]) == 5
    full_x = torch.cat([train_x, valid_x])
    assert abs(float(full_x.mean()) - 0.1307) < 1e-3
    assert abs(float(full_x.std()) - 0.3081) < 1e-3


# ---------------------------------------------------------------- toy mixtures


def _assign_modes(data: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    return torch.cdist(data, means).argmin(dim=1)


def test_ring_means_angles_are_distinct():
    means = ring_means(8, radius=2.0)
    assert means.shape == (8, 2)
    torch.testing.assert_close(means.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(means[:, 1], means[:, 0]) % (2 * math.pi)
    expected = torch.arange(8) * 2 * math.pi / 8
    torch.testing.assert_close(angles.sort().values, expected, atol=1e-5, rtol=0)
    # No duplicated mode (the linspace(0, 2*pi, K) bug makes the first and last coincide).
    distances = torch.cdist(means, means) + torch.eye(8) * 100
    assert float(distances.min()) == pytest.approx(2 * 2.0 * math.sin(math.pi / 8), rel=1e-5)


def test_grid_means_defaults():
    means = grid_means()
    assert means.shape == (25, 2)
    expected = {(2 * i - 4, 2 * j - 4) for i in range(5) for j in range(5)}
    assert {(round(float(x)), round(float(y))) for x, y in means} == expected
    torch.testing.assert_close(means, means.round())
    torch.testing.assert_close(means.mean(dim=0), torch.zeros(2))


@pytest.mark.parametrize("name,k,std", [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_make_toy_statistics(name, k, std):
    data, means, got_std = make_toy(name, n=50_000, seed=3)
    assert data.shape == (50_000, 2) and data.dtype == torch.float32
    assert means.shape == (k, 2) and got_std == std
    modes = _assign_modes(data, means)
    counts = torch.bincount(modes, minlength=k)
    assert int((counts > 0).sum()) == k  # every mode is sampled
    # Uniform mode choice: each count within 6 binomial sigmas of n/K.
    sigma = math.sqrt(50_000 * (1 / k) * (1 - 1 / k))
    assert float((counts - 50_000 / k).abs().max()) < 6 * sigma
    for mode in range(k):
        points = data[modes == mode]
        torch.testing.assert_close(points.mean(dim=0), means[mode], atol=6 * std / 40, rtol=0)
        per_axis_std = points.std(dim=0)
        assert torch.all((per_axis_std - std).abs() < 0.1 * std)


def test_make_toy_seed_and_overrides():
    a, _, _ = make_toy("ring", n=100, seed=1)
    b, _, _ = make_toy("ring", n=100, seed=1)
    c, _, _ = make_toy("ring", n=100, seed=2)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    data, means, std = make_toy("ring", n=5000, modes=5, radius=3.0, std=0.02)
    assert means.shape == (5, 2) and std == 0.02
    assert float((data.norm(dim=1) - 3.0).abs().max()) < 0.2
    with pytest.raises(GankitError, match="ring, grid"):
        make_toy("spiral")


def test_make_gauss1d():
    samples = make_gauss1d(n=20_000, mean=4.0, std=0.5, seed=0)
    assert samples.shape == (20_000, 1)
    assert abs(float(samples.mean()) - 4.0) < 0.02
    assert abs(float(samples.std()) - 0.5) < 0.02


# ---------------------------------------------------------------- image folders


def _make_image_tree(root: Path) -> None:
    (root / "dogs").mkdir(parents=True)
    (root / "cats").mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(root / "cats" / "a.png")
    Image.new("L", (17, 50), 128).save(root / "cats" / "b.jpg", quality=95)
    Image.new("RGBA", (9, 9), (0, 0, 255, 255)).save(root / "dogs" / "c.png")
    Image.new("P", (64, 20)).save(root / "dogs" / "d.gif")
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "dogs" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: ignored, not counted


def test_image_folder_with_classes_skips_junk(tmp_path):
    _make_image_tree(tmp_path / "imgs")
    with pytest.warns(UserWarning, match="skipped 2"):
        images, labels, names = load_image_folder(tmp_path / "imgs", size=16, channels=3)
    assert names == ["cats", "dogs"]
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.float32
    assert labels is not None and labels.tolist() == [0, 0, 1, 1]
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    # The red RGB image stays red; the grey L image becomes equal R=G=B.
    torch.testing.assert_close(images[0, :, 8, 8], torch.tensor([200, 10, 10]) / 255)
    grey = images[1, :, 8, 8]
    assert float(grey.max() - grey.min()) < 1e-6 and abs(float(grey[0]) - 128 / 255) < 0.02


def test_image_folder_strict_names_bad_file(tmp_path):
    _make_image_tree(tmp_path / "imgs")
    with pytest.raises(GankitError, match="broken.png"):
        load_image_folder(tmp_path / "imgs", size=16, channels=3, strict=True)


def test_image_folder_flat_grayscale_centre_crop(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    # 30×10 image: left third black, middle third white, right third black. Resizing the short
    # side to 10 keeps it as is, and the centre crop must keep only the white middle.
    pixels = np.zeros((10, 30, 3), dtype=np.uint8)
    pixels[:, 10:20] = 255
    Image.fromarray(pixels).save(folder / "wide.png")
    Image.new("RGB", (5, 5), (0, 255, 0)).save(folder / "small.png")  # upscaled to 10×10
    images, labels, names = load_image_folder(folder, size=10, channels=1)
    assert labels is None and names == []
    assert images.shape == (2, 1, 10, 10)
    # Files load in sorted order: small.png, then wide.png.
    green_luma = 0.587  # ITU-R 601 weight Pillow uses for G in RGB -> L
    assert abs(float(images[0].mean()) - green_luma) < 0.01
    assert float(images[1].min()) > 0.99  # only the white middle survives the crop


def test_image_folder_errors(tmp_path):
    with pytest.raises(GankitError, match="does not exist"):
        load_image_folder(tmp_path / "missing", size=8, channels=3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no readable images"):
        load_image_folder(tmp_path / "empty", size=8, channels=3)
    Image.new("RGB", (8, 8)).save(tmp_path / "empty" / "x.png")
    with pytest.raises(GankitError, match="channels"):
        load_image_folder(tmp_path / "empty", size=8, channels=4)


# ---------------------------------------------------------------- Stacked MNIST


def test_stacked_mnist_shapes_and_codes():
    # Each source image is a constant equal to its digit / 9, so channels reveal the digits.
    labels = torch.arange(200) % 10
    images = (labels.float() / 9).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).contiguous()
    stacked, codes = make_stacked_mnist(images, labels, n=5000, seed=0)
    assert stacked.shape == (5000, 3, 28, 28) and codes.shape == (5000,)
    assert codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) <= 999
    digits = (stacked[:, :, 0, 0] * 9).round().long()
    torch.testing.assert_close(codes, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
    # 5000 uniform draws over 1000 codes cover ~993 of them in expectation.
    assert len(torch.unique(codes)) > 950
    again, again_codes = make_stacked_mnist(images, labels, n=5000, seed=0)
    assert torch.equal(again, stacked) and torch.equal(again_codes, codes)


def test_stacked_mnist_rejects_rgb_input():
    with pytest.raises(GankitError, match="single-channel"):
        make_stacked_mnist(torch.zeros(4, 3, 28, 28), torch.zeros(4, dtype=torch.long), 2, 0)
