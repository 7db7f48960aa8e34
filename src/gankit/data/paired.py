"""`data.dataset: paired`: two folders of images paired by file name, for image-to-image
translation (pix2pix): `data.dir_a` holds the inputs, `data.dir_b` the targets.

a/cat.png pairs with b/cat.png (or b/cat.jpg: the name without its extension decides, never the
order). Every file needs a partner, the two images of a pair must have the same width and
height (they are aligned pixel for pixel), and each folder holds only greyscale or only colour
images (the inputs may be grey and the targets colour, as in colourisation). Images are resized
(short side) and centre-cropped to data.size, like image-folder's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.data.images import _load_one, _visible_files
from gankit.errors import GankitError

GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # one channel; every other mode is read as RGB


def _folder(path: str | None, key: str) -> Path:
    if not path:
        raise GankitError(f"data.dataset paired needs {key}: --set {key}=FOLDER")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise GankitError(f"{key} = {folder} does not exist or is not a folder; check the path")
    return folder


def _by_stem(folder: Path, key: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for file in _visible_files(folder, recursive=False):
        if file.stem in files:
            raise GankitError(f"{key} = {folder} holds {files[file.stem].name} and {file.name}: "
                              "two files with one name; keep one of them")
        files[file.stem] = file
    if not files:
        raise GankitError(f"{key} = {folder} holds no images; put the PNG/JPEG files there")
    return files


def _header(file: Path) -> tuple[tuple[int, int], int]:
    """(width, height) and channels (1 or 3) of an image, read from its header."""
    try:
        with Image.open(file) as img:
            return img.size, 1 if img.mode in GREY_MODES else 3
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise GankitError(f"cannot read image {file} ({exc}); remove it or replace it") from None


def _channels(headers: dict[str, tuple[tuple[int, int], int]], files: dict[str, Path],
              key: str) -> int:
    kinds = {stem: c for stem, (_, c) in headers.items()}
    if len(set(kinds.values())) > 1:
        grey = [files[s].name for s, c in kinds.items() if c == 1]
        colour = [files[s].name for s, c in kinds.items() if c == 3]
        odd = grey if len(grey) <= len(colour) else colour
        raise GankitError(f"{key} mixes greyscale and colour images ({', '.join(odd[:3])} "
                          f"differ from the other {len(kinds) - len(odd)}); convert them to one kind")
    return next(iter(kinds.values()))


def load_paired(dir_a: str | None, dir_b: str | None,
                size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(inputs N x Ca x size x size, targets N x Cb x size x size, names), pairs sorted by name."""
    folder_a, folder_b = _folder(dir_a, "data.dir_a"), _folder(dir_b, "data.dir_b")
    files_a, files_b = _by_stem(folder_a, "data.dir_a"), _by_stem(folder_b, "data.dir_b")
    for mine, other, key in ((files_a, files_b, "data.dir_b"), (files_b, files_a, "data.dir_a")):
        lonely = sorted(set(mine) - set(other))
        if lonely:
            here = "data.dir_a" if key == "data.dir_b" else "data.dir_b"
            raise GankitError(f"{here} file {mine[lonely[0]].name} has no partner in {key} (pairs "
                              f"share a file name; {len(lonely)} without one); add it or remove it")
    stems = sorted(files_a)
    head_a = {s: _header(files_a[s]) for s in stems}
    head_b = {s: _header(files_b[s]) for s in stems}
    for s in stems:
        if head_a[s][0] != head_b[s][0]:
            (wa, ha), (wb, hb) = head_a[s][0], head_b[s][0]
            raise GankitError(f"pair {s}: {files_a[s].name} is {wa}x{ha} but {files_b[s].name} is "
                              f"{wb}x{hb}; a pair must be the same size (aligned pixel for pixel)")
    ca, cb = _channels(head_a, files_a, "data.dir_a"), _channels(head_b, files_b, "data.dir_b")
    a = load_images([files_a[s] for s in stems], size, ca)
    b = load_images([files_b[s] for s in stems], size, cb)
    return a, b, stems


def load_images(files: list[Path], size: int, channels: int) -> torch.Tensor:
    """Images N x channels x size x size in [0, 1]; an unreadable file is an error naming it."""
    arrays = []
    for file in files:
        try:
            arrays.append(_load_one(file, size, "L" if channels == 1 else "RGB"))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise GankitError(f"cannot read image {file} ({exc}); remove it or replace it") from None
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    return images.contiguous()
