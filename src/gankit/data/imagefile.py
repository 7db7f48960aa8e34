"""Images a user hands a trained run (`gankit encode --images FILE`): a .npy array of
N x C x H x W values in [0, 1], or one PNG (grayscale or RGB, converted to the run's channels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.errors import GankitError


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)


def load_image_file(path: str | Path, shape: tuple[int, ...], key: str = "--images") -> torch.Tensor:
    """The images in `path` as float32 N x `shape` in [0, 1]; refuses anything else in one line."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"{key} {path} does not exist; give a .npy array or a .png image")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise GankitError(f"{key} {path} is not a readable .npy array ({exc}); save it "
                              "with numpy.save") from None
    elif suffix == ".png":
        try:
            with Image.open(path) as picture:
                mode = "L" if shape[0] == 1 else "RGB"
                array = np.asarray(picture.convert(mode), dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError) as exc:
            raise GankitError(f"{key} {path} is not a readable PNG ({exc})") from None
        array = array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None]
    else:
        raise GankitError(f"{key} {path}: name a .npy array (N x {_shape_text(shape)}) or a "
                          ".png image")
    if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != tuple(shape) or not len(array):
        raise GankitError(f"{key} {path} holds an array of shape {_shape_text(array.shape)}; "
                          f"this run needs N x {_shape_text(shape)} images (N >= 1)")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise GankitError(f"{key} {path} holds {array.dtype} values; give real numbers in [0, 1]")
    x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if not bool(x.isfinite().all()) or float(x.min()) < 0.0 or float(x.max()) > 1.0:
        raise GankitError(f"{key} {path} holds values outside [0, 1] (or NaN); scale the "
                          "pixels to [0, 1] (uint8 images: divide by 255)")
    return x
