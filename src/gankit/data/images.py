"""A folder of the user's own images as a tensor dataset (ImageFolder-style layout).

Either a flat folder of images (no labels) or one sub-folder per class (labels are the
indices of the sorted sub-folder names).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from gankit.errors import GankitError

_MODES = {1: "L", 3: "RGB"}


def _visible_files(folder: Path, recursive: bool) -> list[Path]:
    """Non-hidden files under ``folder`` in sorted order (hidden: .DS_Store, ._x, .git...)."""
    pattern = "**/*" if recursive else "*"
    files = []
    for path in sorted(folder.glob(pattern)):
        relative = path.relative_to(folder).parts
        if path.is_file() and not any(part.startswith(".") for part in relative):
            files.append(path)
    return files


def input_images(images: Path) -> list[Path]:
    """The image files a verb's --images names (one file, or a folder's visible files, sorted),
    each to be written back as <stem>.png: two inputs with one stem are refused."""
    if images.is_file():
        return [images]
    if not images.is_dir():
        raise GankitError(f"--images {images} does not exist; give an image file or a folder")
    files = _visible_files(images, recursive=False)
    if not files:
        raise GankitError(f"--images {images} holds no images; put PNG/JPEG files there")
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems:
            raise GankitError(f"--images {images} holds {stems[file.stem].name} and {file.name}: "
                              f"both would be written as {file.stem}.png; keep one of them")
        stems[file.stem] = file
    return files


def _load_one(path: Path, size: int, mode: str) -> np.ndarray:
    """Open, fix orientation, convert to ``mode``, resize the short side, centre-crop."""
    with Image.open(path) as opened:
        opened.load()
        img = ImageOps.exif_transpose(opened)  # phone photos are often stored rotated
    if img.mode == "P":
        img = img.convert("RGBA")  # palette images may carry transparency; expand it first
    img = img.convert(mode)
    width, height = img.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    array = np.asarray(img, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def load_image_folder(
    path: str | Path, size: int, channels: int, strict: bool = False
) -> tuple[Tensor, Tensor | None, list[str]]:
    """Load every image under ``path`` as (images N×C×size×size in [0, 1], labels, class names).

    With class sub-folders, labels are int64 indices into the sorted class names; with a flat
    folder, labels is None and class names is []. Files Pillow cannot read are skipped with one
    warning giving their count, or raise GankitError with ``strict=True``.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise GankitError(
            f"image folder {folder} does not exist or is not a folder; check the path."
        )
    if channels not in _MODES:
        raise GankitError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}.")
    if size < 1:
        raise GankitError(f"image size must be a positive number of pixels, got {size}.")

    class_names = sorted(
        p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    entries: list[tuple[Path, int]] = []
    if class_names:
        for index, name in enumerate(class_names):
            entries += [(file, index) for file in _visible_files(folder / name, recursive=True)]
        loose = _visible_files(folder, recursive=False)
        if loose:
            warnings.warn(
                f"{len(loose)} file(s) directly in {folder} ignored: with class sub-folders, "
                "images must sit inside a class folder.",
                stacklevel=2,
            )
    else:
        entries = [(file, -1) for file in _visible_files(folder, recursive=False)]

    arrays: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[Path] = []
    for file, label in entries:
        try:
            arrays.append(_load_one(file, size, _MODES[channels]))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            if strict:
                raise GankitError(
                    f"cannot read image {file} ({exc}); remove it or run without strict mode to "
                    "skip unreadable files."
                ) from exc
            skipped.append(file)
            continue
        labels.append(label)

    if skipped:
        shown = ", ".join(p.name for p in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(
            f"skipped {len(skipped)} unreadable or non-image file(s) in {folder}: {shown}",
            stacklevel=2,
        )
    if not arrays:
        raise GankitError(
            f"no readable images found in {folder}; put PNG/JPEG files in it (or in one "
            "sub-folder per class)."
        )

    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    label_tensor = torch.tensor(labels, dtype=torch.int64) if class_names else None
    return images.contiguous(), label_tensor, class_names
