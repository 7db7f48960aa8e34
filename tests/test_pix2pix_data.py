"""pix2pix's data: the MNIST outline procedure on hand-made images, and the paired folders."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.paired import load_paired
from gankit.data.sketch import outline
from gankit.errors import GankitError


def _img(*ink: tuple[int, int], size: int = 7, value: float = 1.0) -> torch.Tensor:
    x = torch.zeros(1, 1, size, size)
    for r, c in ink:
        x[0, 0, r, c] = value
    return x


def _cells(sketch: torch.Tensor) -> set[tuple[int, int]]:
    return {tuple(rc) for rc in sketch[0, 0].nonzero().tolist()}


def test_outline_of_one_pixel_is_its_four_neighbours():
    assert _cells(outline(_img((3, 3)))) == {(2, 3), (4, 3), (3, 2), (3, 4)}


def test_outline_of_a_square_is_the_ring_of_side_neighbours_outside_it():
    square = [(r, c) for r in (2, 3, 4) for c in (2, 3, 4)]
    ring = ({(1, c) for c in (2, 3, 4)} | {(5, c) for c in (2, 3, 4)}
            | {(r, 1) for r in (2, 3, 4)} | {(r, 5) for r in (2, 3, 4)})
    sketch = outline(_img(*square))
    assert _cells(sketch) == ring  # 12 pixels: the corners (1, 1) etc. touch only diagonally
    assert not _cells(sketch) & set(square)  # never on the ink itself
    assert set(sketch.unique().tolist()) == {0.0, 1.0}


def test_outline_at_the_border_and_the_ink_threshold():
    assert _cells(outline(_img((0, 0)))) == {(1, 0), (0, 1)}  # outside the image is nothing
    assert _cells(outline(_img((3, 3), value=0.49))) == set()  # below 0.5: background
    assert len(_cells(outline(_img((3, 3), value=0.5)))) == 4
    batch = torch.cat([_img((3, 3)), _img((0, 0))])
    assert torch.equal(outline(batch)[1:], outline(_img((0, 0))))  # images are independent


def _save(path, array):
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _pair_dirs(tmp_path, names=("cat", "dog", "emu"), size=(8, 6)):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for i, name in enumerate(names):
        _save(a / f"{name}.png", np.full(size[::-1], 10 * (i + 1)))
        _save(b / f"{name}.png", np.full((*size[::-1], 3), 100 + 10 * (i + 1)))
    return a, b


def test_pairs_are_matched_by_name_not_by_order(tmp_path):
    a, b = _pair_dirs(tmp_path)
    # A target saved under another extension still pairs by its name; file order plays no part.
    (b / "cat.png").unlink()
    _save(b / "cat.bmp", np.full((6, 8, 3), 110))
    x, y, names = load_paired(str(a), str(b), size=4)
    assert names == ["cat", "dog", "emu"]
    assert x.shape == (3, 1, 4, 4) and y.shape == (3, 3, 4, 4)  # grey inputs, colour targets
    for i in range(3):
        assert round(x[i].mean().item() * 255) == 10 * (i + 1)
        assert round(y[i].mean().item() * 255) == 100 + 10 * (i + 1)


@pytest.mark.parametrize("damage, message", [
    (lambda a, b: (b / "dog.png").unlink(), r"data.dir_a file dog.png has no partner in data.dir_b"),
    (lambda a, b: _save(b / "yak.png", np.zeros((6, 8, 3))),
     r"data.dir_b file yak.png has no partner in data.dir_a"),
    (lambda a, b: _save(b / "dog.png", np.zeros((7, 8, 3))),
     r"pair dog: dog.png is 8x6 but dog.png is 8x7"),
    (lambda a, b: _save(a / "dog.png", np.zeros((6, 8, 3))),
     r"data.dir_a mixes greyscale and colour images \(dog.png"),
    (lambda a, b: _save(a / "dog.bmp", np.zeros((6, 8))), r"holds dog.bmp and dog.png|dog.png and dog.bmp"),
    (lambda a, b: (a / "emu.png").write_text("not an image"), r"cannot read image .*emu.png"),
])
def test_paired_folder_errors_name_the_file(tmp_path, damage, message):
    a, b = _pair_dirs(tmp_path)
    damage(a, b)
    with pytest.raises(GankitError, match=message):
        load_paired(str(a), str(b), size=4)


def test_paired_folder_errors_for_missing_and_empty_folders(tmp_path):
    a, b = _pair_dirs(tmp_path)
    with pytest.raises(GankitError, match=r"data.dir_b = .*nowhere does not exist"):
        load_paired(str(a), str(tmp_path / "nowhere"), size=4)
    with pytest.raises(GankitError, match=r"needs data.dir_a"):
        load_paired(None, str(b), size=4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match=r"data.dir_a = .*empty holds no images"):
        load_paired(str(tmp_path / "empty"), str(b), size=4)
