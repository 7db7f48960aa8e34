"""CIFAR-10 (Krizhevsky 2009) from its official python-version archive.

The archive `cifar-10-python.tar.gz` (163 MB, https://www.cs.toronto.edu/~kriz/cifar.html) holds
`cifar-10-batches-py/data_batch_1` ... `data_batch_5` (50,000 training images) and `test_batch`
(10,000): pickled dicts whose b"data" is an N x 3072 uint8 array (the red 32x32 plane, then green,
then blue, each row by row) and b"labels" a list of N ints 0-9. Its published MD5 is
c58f30108f718f92721af3b95e74349a; every load checks it, because the batches are pickles: only
the official file is unpickled.

Where it is looked for: data.dir (the archive itself, or a folder holding it), else
$GANKIT_DATA_DIR, else the user cache (~/.cache/gankit/cifar10/). When it is in none of them it
is downloaded into the cache from the official URL, and refused if its MD5 differs.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import torch

from gankit.data import mnist
from gankit.errors import GankitError

ARCHIVE = "cifar-10-python.tar.gz"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SIDE = 32


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def candidates(data_dir: str | Path | None) -> list[Path]:
    """Where the archive may be, in the order they are tried."""
    if data_dir:
        given = Path(data_dir).expanduser()
        return [given if given.name == ARCHIVE else given / ARCHIVE]
    env = os.environ.get(mnist.ENV_DATA_DIR)
    places = [Path(env).expanduser() / ARCHIVE] if env else []
    return [*places, mnist.user_cache_dir() / "cifar10" / ARCHIVE]


def _how_to_get_it(where: Path, reason: str) -> GankitError:
    return GankitError(
        f"CIFAR-10 archive {where} {reason}; download {URL} (MD5 {MD5}) and put it there, or "
        f"point data.dir (--data-dir) at the folder that holds {ARCHIVE}")


def find_archive(data_dir: str | Path | None, download: bool = True) -> Path:
    """The verified archive: found, or downloaded into the last candidate place."""
    places = candidates(data_dir)
    for path in places:
        if path.is_file():
            _check_md5(path)
            return path
    target = places[-1]
    if data_dir or not download:
        raise _how_to_get_it(target, "not found")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mnist.download_url(URL, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise _how_to_get_it(target, f"not found and the download failed ({exc})") from None
    try:
        _check_md5(target)
    except GankitError:
        target.unlink(missing_ok=True)  # a wrong download is not kept
        raise
    return target


def _check_md5(path: Path) -> None:
    got = md5_of(path)
    if got != MD5:
        raise _how_to_get_it(path, f"has MD5 {got}, not the official {MD5} (a damaged or "
                                   "different file; it is not read)")


def _read_batch(tar: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    member = tar.extractfile(f"cifar-10-batches-py/{name}")
    if member is None:
        raise KeyError(name)
    batch = pickle.load(io.BytesIO(member.read()), encoding="bytes")  # noqa: S301 (MD5-checked)
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or len(labels) != len(data):
        raise ValueError(f"{name}: data {data.shape}, {len(labels)} labels")
    return data, labels


def load_cifar10(split: str, data_dir: str | Path | None = None,
                 download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(images N x 3 x 32 x 32 float in [0, 1], labels int64 N); split "train" or "test"."""
    if split not in ("train", "test"):
        raise GankitError(f"unknown CIFAR-10 split {split!r}; choose train or test")
    path = find_archive(data_dir, download)
    names = TRAIN_BATCHES if split == "train" else (TEST_BATCH,)
    try:
        with tarfile.open(path, "r:gz") as tar:
            parts = [_read_batch(tar, name) for name in names]
    except (tarfile.TarError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as exc:
        raise _how_to_get_it(path, f"cannot be read ({exc})") from None
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    images = torch.from_numpy(data).reshape(-1, 3, SIDE, SIDE).float().div_(255.0)
    return images, torch.from_numpy(labels)
