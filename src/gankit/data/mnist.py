"""MNIST from the four original IDX .gz files: locate, download, verify, parse, cache.

The files are checked against their SHA-256 sums, parsed without torchvision and cached as
uint8 tensors in the user cache so that later loads skip the gzip/IDX parsing.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import GankitError

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# SHA-256 of the original files (their md5 sums match the published ones on LeCun's page).
SHA256 = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# yann.lecun.com now often refuses downloads, so use the mirrors torchvision and TF rely on.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# The splits used by Goodfellow et al. 2014: the last 10,000 training images are held out
# for validation (Parzen bandwidth selection), the t10k set is the test set.
SPLITS = ("train", "valid", "test", "train-full")
N_TRAIN = 50_000

ENV_DATA_DIR = "GANKIT_DATA_DIR"

# IDX type byte -> numpy big-endian dtype (format described at yann.lecun.com/exdb/mnist).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_CACHE_FORMAT = 1  # bump when the layout of the cached .pt changes


def user_cache_dir() -> Path:
    """The gankit user cache folder: $XDG_CACHE_HOME/gankit, else ~/.cache/gankit."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gankit"


def _find_shared_mnist() -> Path | None:
    """A shared/data/mnist folder holding MNIST files, next to or above cwd or this source."""
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data" / "mnist"
            # Require a data file so that an empty placeholder folder is not picked up.
            if candidate.is_dir() and any((candidate / name).exists() for name in SHA256):
                return candidate
    return None


def mnist_dir(data_dir: str | Path | None = None) -> Path:
    """Where the MNIST .gz files live (or will be downloaded to).

    Order: explicit ``data_dir`` > $GANKIT_DATA_DIR > a ``shared/data/mnist`` folder next to or
    above the working directory or the package > the user cache (``~/.cache/gankit/mnist``).
    """
    # An empty string (an unset config value) means "not given", not the working directory.
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    shared = _find_shared_mnist()
    if shared is not None:
        return shared
    return user_cache_dir() / "mnist"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_url(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download ``url`` to ``dest`` via a temp file in the same folder, then rename.

    The rename makes the write atomic: an interrupted download never leaves a partial file
    under the real name.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _missing_files_error(folder: Path, missing: list[str], reason: str) -> GankitError:
    return GankitError(
        f"MNIST file(s) {', '.join(missing)} missing in {folder} ({reason}); put the four original "
        f"files ({', '.join(SHA256)}) in that folder, or point --data-dir / ${ENV_DATA_DIR} at a "
        "folder that holds them.\n"
        f"They can be downloaded from {MIRRORS[0]} or {MIRRORS[1]}."
    )


def fetch_file(name: str, folder: Path, retries: int = 3, timeout: float = 30.0) -> None:
    """Download one MNIST file into ``folder``, trying each mirror ``retries`` times."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _missing_files_error(folder, [name], f"cannot create the folder: {exc}") from exc
    errors: list[str] = []
    for attempt in range(retries):
        for mirror in MIRRORS:
            url = mirror + name
            try:
                download_url(url, folder / name, timeout=timeout)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            got = sha256_of(folder / name)
            if got == SHA256[name]:
                return
            # A mirror serving a wrong file: drop it and try the next one.
            (folder / name).unlink(missing_ok=True)
            errors.append(f"{url}: SHA-256 {got} != expected {SHA256[name]}")
        if attempt + 1 < retries:
            time.sleep(2.0**attempt)  # back off before another round over the mirrors
    detail = errors[-1] if errors else "no mirror tried"
    raise _missing_files_error(folder, [name], f"download failed, offline? last error: {detail}")


# Files that make a folder look like the user's images rather than an MNIST folder.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _foreign_files(folder: Path) -> list[Path]:
    """What in ``folder`` is not MNIST's: an MNIST cache holds only the four files (and the
    .part files of an interrupted download, which start with their names)."""
    if not folder.is_dir():
        return []
    return [
        p for p in sorted(folder.iterdir())
        if not p.name.startswith(".") and not p.name.startswith(tuple(SHA256))
    ]


def _holds_images(entries: list[Path]) -> bool:
    """Image files among ``entries``, or in their sub-folders (one folder per class)."""
    for entry in entries:
        files = entry.iterdir() if entry.is_dir() else [entry]
        if any(f.suffix.lower() in IMAGE_SUFFIXES for f in files):
            return True
    return False


def check_download_folder(folder: Path) -> None:
    """Refuse a folder that holds other files: MNIST is never downloaded among the user's files
    (a folder of images given as --data-dir with an MNIST config is the common case)."""
    foreign = _foreign_files(folder)
    if not foreign:
        return
    if _holds_images(foreign):
        raise GankitError(
            f"{folder} holds images, not the MNIST files (nothing was downloaded); to train on "
            "your own images use --set data.dataset=image-folder, or the config made for it: "
            f"gankit train image-folder --data-dir {folder}"
        )
    raise GankitError(
        f"{folder} holds other files ({foreign[0].name}, ...) but not the MNIST files; gankit "
        "downloads MNIST only into an empty folder or one that holds MNIST files (nothing was "
        "downloaded): point --data-dir at the four MNIST .gz files or at an empty folder"
    )


def ensure_mnist_files(folder: Path, download: bool = True) -> None:
    """Make sure all four files are in ``folder`` with the right SHA-256, downloading if allowed."""
    missing = [name for name in SHA256 if not (folder / name).is_file()]
    if missing and (download or _holds_images(_foreign_files(folder))):
        check_download_folder(folder)
    if missing and not download:
        raise _missing_files_error(folder, missing, "download=False")
    for name in missing:
        fetch_file(name, folder)
    for name, expected in SHA256.items():
        got = sha256_of(folder / name)
        if got != expected:
            raise GankitError(
                f"MNIST file {folder / name} is corrupt (SHA-256 mismatch); delete it and run "
                "again to re-download it, or replace it with the original file.\n"
                f"expected {expected}\ngot      {got}"
            )


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file (gzip-compressed if the name ends in .gz) into a numpy array."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise GankitError(
            f"{path} is truncated or not a valid gzip file ({exc}); delete it and download it "
            "again."
        ) from exc
    except OSError as exc:
        raise GankitError(f"cannot read {path} ({exc}); check the path and permissions.") from exc

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise GankitError(
            f"{path} is not an IDX file (bad magic number {raw[:4].hex()}); use the original "
            "MNIST .gz files."
        )
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise GankitError(f"{path} is truncated (header cut short); delete it and re-download.")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected_bytes = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_len != expected_bytes:
        raise GankitError(
            f"{path} holds {len(raw) - header_len} data bytes but its header {dims} needs "
            f"{expected_bytes}; the file is truncated or corrupt, delete it and re-download."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


def _check_pair(images: np.ndarray, labels: np.ndarray, name: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise GankitError(
            f"{name}: expected uint8 images of shape N×28×28, got {images.dtype} {images.shape}; "
            "use the original MNIST files."
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise GankitError(
            f"{name}: {labels.shape} labels for {images.shape[0]} images; use the original "
            "MNIST files."
        )
    if labels.size and labels.max() > 9:
        raise GankitError(f"{name}: labels outside 0..9; use the original MNIST files.")


def _parse_all(folder: Path) -> dict[str, Tensor]:
    arrays = {
        key: read_idx(folder / name)
        for key, name in (
            ("train_images", TRAIN_IMAGES),
            ("train_labels", TRAIN_LABELS),
            ("test_images", TEST_IMAGES),
            ("test_labels", TEST_LABELS),
        )
    }
    _check_pair(arrays["train_images"], arrays["train_labels"], "MNIST train")
    _check_pair(arrays["test_images"], arrays["test_labels"], "MNIST t10k")
    return {key: torch.from_numpy(value) for key, value in arrays.items()}


def _cache_path() -> Path:
    # Keyed by the files' checksums: different files can never be served from a stale cache.
    key = hashlib.sha256("".join(SHA256[name] for name in sorted(SHA256)).encode()).hexdigest()
    return user_cache_dir() / f"mnist-uint8-v{_CACHE_FORMAT}-{key[:16]}.pt"


def _load_cached() -> dict[str, Tensor] | None:
    path = _cache_path()
    if not path.is_file():
        return None
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
        if set(tensors) == {"train_images", "train_labels", "test_images", "test_labels"}:
            return tensors
    except Exception:  # any unreadable cache is simply rebuilt
        pass
    path.unlink(missing_ok=True)
    return None


def _save_cached(tensors: dict[str, Tensor]) -> None:
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(tensors, handle)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # The cache only saves time; a read-only home must not stop training.
        warnings.warn(f"could not write the MNIST cache {path}: {exc}", stacklevel=3)


def load_mnist(
    split: str, data_dir: str | Path | None = None, download: bool = True
) -> tuple[Tensor, Tensor]:
    """Load an MNIST split as (images float32 N×1×28×28 in [0, 1], labels int64 N).

    Splits (Goodfellow et al. 2014): "train" = first 50,000 training images, "valid" = the last
    10,000, "test" = the 10,000 t10k images, "train-full" = all 60,000 training images.
    """
    if split not in SPLITS:
        raise GankitError(f"unknown MNIST split {split!r}; choose one of {', '.join(SPLITS)}.")
    folder = mnist_dir(data_dir)
    ensure_mnist_files(folder, download=download)
    tensors = _load_cached()
    if tensors is None:
        tensors = _parse_all(folder)
        _save_cached(tensors)

    if split == "test":
        images, labels = tensors["test_images"], tensors["test_labels"]
    else:
        images, labels = tensors["train_images"], tensors["train_labels"]
        if split == "train":
            images, labels = images[:N_TRAIN], labels[:N_TRAIN]
        elif split == "valid":
            images, labels = images[N_TRAIN:], labels[N_TRAIN:]
    return images.unsqueeze(1).float().div_(255.0), labels.long()
