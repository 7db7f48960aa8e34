"""MNIST captions: attributes measured on hand-made images, phrasings that parse back,
contradicting captions that really contradict, held-out combinations kept out."""

from __future__ import annotations

import random

import pytest
import torch

from gankit.data import captions as C
from gankit.errors import GankitError


def bar(width: int, slope: float = 0.0, length: int = 16) -> torch.Tensor:
    """A 1 x 1 x 28 x 28 vertical bar `width` pixels wide, its top shifted right by `slope`
    columns per row up."""
    img = torch.zeros(1, 1, 28, 28)
    top = 6
    for r in range(top, top + length):
        shift = round(slope * (top + length - 1 - r))
        c0 = 12 + shift
        img[0, 0, r, c0 : c0 + width] = 1.0
    return img


def test_thick_bar_has_more_ink_and_is_thick_against_the_median():
    thin, normal, thick = bar(1), bar(2), bar(4)
    m = C.measure(torch.cat([thin, normal, thick]))
    assert m[0, 0] == 16 and m[2, 0] == 64  # ink mass: pixels on
    y = torch.zeros(3, dtype=torch.long)
    attrs = C.attributes(m, y, C.class_medians(m, y, 1))  # median: the 2-wide bar
    assert attrs[:, 0].tolist() == [1, 0, 2]  # thin, normal, thick


def test_slant_from_moments_has_the_right_sign_and_size():
    m = C.measure(torch.cat([bar(2), bar(2, 0.5), bar(2, -0.5)]))
    assert abs(m[0, 1]) < 1e-6
    # Columns shift 0.5 per row up (rounded), so the fitted shear is close to 0.5.
    assert 0.4 < m[1, 1] < 0.6 and -0.6 < m[2, 1] < -0.4
    y = torch.zeros(3, dtype=torch.long)
    assert C.attributes(m, y, C.class_medians(m, y, 1))[:, 1].tolist() == [0, 2, 1]


def test_bounding_box_area():
    img = torch.zeros(1, 1, 28, 28)
    img[0, 0, 5:15, 3:9] = 0.5
    img[0, 0, 20, 20] = 0.1  # below INK_LEVEL: outside the box
    assert C.measure(img)[0, 2] == 10 * 6


@pytest.mark.parametrize("seed", range(5))
def test_every_phrasing_parses_back_to_its_digit_and_attributes(seed):
    rng = random.Random(seed)
    for _ in range(200):
        digit, attrs = rng.randrange(10), [rng.randrange(3) for _ in range(3)]
        text = C.describe(digit, attrs, rng, drop=0.3, numeral=0.3)
        said_digit, said = C.parse(text)
        assert said_digit == digit, text
        for attr, value in said.items():
            assert attrs[C.ATTRIBUTES.index(attr)] == value, text
        assert not C.contradicts(digit, attrs, text)
        assert not C.unknown_words(text)
    full = C.describe(7, [2, 2, 0])
    assert full == "a thick seven leaning right"
    assert C.parse(full) == (7, {"thickness": 2, "slant": 2})
    assert C.parse("seven, bold, slanted right") == (7, {"thickness": 2, "slant": 2})


def test_mismatched_captions_contradict_every_row():
    y = torch.arange(100) % 10
    attrs = torch.randint(3, (100, 3), generator=torch.Generator().manual_seed(0))
    right, wrong = C.minibatch_captions(y, attrs, "0-d-5", drop=0.3)
    for d, a, r, w in zip(y.tolist(), attrs.tolist(), right, wrong, strict=True):
        assert not C.contradicts(d, a, r), r
        assert C.contradicts(d, a, w), (d, a, w)
    again = C.minibatch_captions(y, attrs, "0-d-5", drop=0.3)
    assert again == (right, wrong)  # drawn from the seed alone
    assert C.minibatch_captions(y, attrs, "0-d-6", drop=0.3) != (right, wrong)


def test_held_out_combinations_never_reach_training_captions():
    held = C.parse_held_out(["3:thin", "7:left"])
    y = torch.arange(300) % 10
    attrs = torch.randint(3, (300, 3), generator=torch.Generator().manual_seed(1))
    keep = ~C.held_out_mask(y, attrs, held)
    assert keep.sum() < 300  # some rows were held combinations
    right, wrong = C.minibatch_captions(y[keep], attrs[keep], "0-d-0", drop=0.0, held=held)
    for text in right + wrong:  # not even as a contradicting caption
        digit, said = C.parse(text)
        assert not (digit == 3 and said.get("thickness") == 1), text
        assert not (digit == 7 and said.get("slant") == 1), text


def test_a_held_out_image_in_a_minibatch_is_an_error():
    held = C.parse_held_out(["3:thin"])
    with pytest.raises(GankitError, match="held-out"):
        C.minibatch_captions(torch.tensor([3]), torch.tensor([[1, 0, 0]]), "s", 0.0, held=held)


def test_bad_held_out_and_unknown_words_are_refused():
    with pytest.raises(GankitError, match="DIGIT:WORD"):
        C.parse_held_out(["3:skinny"])
    with pytest.raises(GankitError, match="unknown word 'purple'.*vocabulary"):
        C.encode(["a purple three"])
    with pytest.raises(GankitError, match="names no digit"):
        C.encode(["a thin digit"])
    tokens = C.encode(["a thin three leaning left"])
    assert tokens.shape == (1, C.MAX_WORDS) and (tokens[0, 5:] == 0).all()


@pytest.mark.slow  # loads and measures 50,000 images: seconds alone, more on a busy machine
def test_mnist_captions_leaves_the_held_out_images_out():
    from conftest import SHARED_MNIST

    if not SHARED_MNIST.is_dir():
        pytest.skip("no shared MNIST")
    from gankit.config import DataConfig
    from gankit.data.dataset import load_training_data

    data = load_training_data(DataConfig(dataset="mnist-captions", held_out=["3:thin"]))
    attrs = data.extras["attributes"]
    assert len(data.x) == len(attrs) < 50_000
    assert not ((data.y == 3) & (attrs[:, 0] == 1)).any()
    assert ((data.y == 3) & (attrs[:, 0] == 2)).any()  # thick threes stay
    assert ((data.y == 5) & (attrs[:, 0] == 1)).any()  # and thin fives
