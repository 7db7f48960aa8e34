"""Captions for MNIST digits: measured attributes, phrasings, a fixed vocabulary, and back.

Each image gets three attributes, measured from its pixels (values in [0, 1]):

- thickness, from the ink mass (the sum of the pixel values) relative to the median ink mass of
  the image's digit class over the training set: "thin" below THIN (0.8 of the median), "thick"
  above THICK (1.25 of the median), otherwise unspoken;
- slant, from the second-order central moments of the intensities: with c the column (right)
  and r the row (down), slant = -mu11 / mu02, the columns moved right per row moved up (a
  shear). "leaning right" above SLANT (0.2), "leaning left" below -SLANT, else "upright";
- size, from the bounding box of the pixels above INK_LEVEL (0.2): its area relative to the
  class's median area, "small" below SMALL (0.8), "large" above LARGE (1.1), else unspoken.
  MNIST scales every digit so that the longer side of its box is 20 pixels, so the area mostly
  follows the width: a "large" digit is a wide one, and classes whose median box is
  near 20 x 20 (0, 2, 5) have few or no large examples.

A caption names the digit and some of the attributes in one of several phrasings ("a thick
seven leaning right", "seven, bold, slanted right", ...), chosen by a seeded `random.Random`.
Word order carries no meaning in this grammar, which is why a bag-of-words encoder suffices.
"""

from __future__ import annotations

import random
import re

import torch

from gankit.errors import GankitError

THIN, THICK = 0.8, 1.25  # ink mass / class median
SLANT = 0.2  # |-mu11 / mu02| beyond which a digit leans
INK_LEVEL = 0.2  # a pixel belongs to the bounding box above this value
SMALL, LARGE = 0.8, 1.1  # bounding-box area / class median

# Attribute columns of `TrainingData.extras["attributes"]` (after the digit, which is y).
# Value 0 is the middle of each scale; only some values have words.
ATTRIBUTES = ("thickness", "slant", "size")
VALUES = {"thickness": ("normal", "thin", "thick"), "slant": ("upright", "left", "right"),
          "size": ("normal", "small", "large")}
SPOKEN = {"thickness": (1, 2), "slant": (0, 1, 2), "size": (1, 2)}  # values a caption can name

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Words for each (attribute, value); the first is the one `describe` uses by default.
WORDS = {
    ("thickness", 1): ("thin", "light", "fine"),
    ("thickness", 2): ("thick", "bold", "heavy"),
    ("slant", 0): ("upright", "straight"),
    ("slant", 1): ("leaning left", "slanted left", "tilted left"),
    ("slant", 2): ("leaning right", "slanted right", "tilted right"),
    ("size", 1): ("small", "narrow"),
    ("size", 2): ("large", "wide"),
}
# {T} thickness, {S} slant, {Z} size, {D} digit; a missing attribute drops its slot.
TEMPLATES = (
    "a {Z} {T} {D} {S}",
    "{D}, {T}, {Z}, {S}",
    "the digit {D}, {Z} and {T}, {S}",
    "a {T} {Z} {D} {S}",
    "{Z} {T} {D}, {S}",
)
FILLER = ("a", "the", "digit", "and")
WORD_RE = re.compile(r"[a-z0-9]+")


def vocabulary() -> list[str]:
    """The fixed vocabulary, index 0 the padding: every word a generated caption can hold."""
    words = set(FILLER) | set(DIGITS) | {str(d) for d in range(10)}
    for phrases in WORDS.values():
        for phrase in phrases:
            words.update(phrase.split())
    return ["<pad>", *sorted(words)]


VOCAB = vocabulary()
INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_WORDS = 12  # longest template: 4 fillers + digit + 2 + 1 + 1 attribute words, with room


# --- measuring ------------------------------------------------------------------------------

def measure(x: torch.Tensor) -> torch.Tensor:
    """N x 3 float measurements of N x 1 x H x W images: ink mass, slant, bounding-box area."""
    img = x.reshape(len(x), x.shape[-2], x.shape[-1]).double()
    h, w = img.shape[1:]
    rows = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    cols = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    mass = img.sum(dim=(1, 2))
    safe = mass.clamp_min(1e-9)
    rbar = (img * rows).sum(dim=(1, 2)) / safe
    cbar = (img * cols).sum(dim=(1, 2)) / safe
    dr, dc = rows - rbar.view(-1, 1, 1), cols - cbar.view(-1, 1, 1)
    mu11 = (img * dr * dc).sum(dim=(1, 2))
    mu02 = (img * dr * dr).sum(dim=(1, 2))
    slant = -mu11 / mu02.clamp_min(1e-9)
    on = img > INK_LEVEL
    any_row, any_col = on.any(dim=2), on.any(dim=1)
    height = _extent(any_row)
    width = _extent(any_col)
    return torch.stack([mass, slant, height * width], dim=1).float()


def _extent(mask: torch.Tensor) -> torch.Tensor:
    """Length of the span from the first to the last True of each row (0 for none)."""
    idx = torch.arange(mask.shape[1], dtype=torch.float64)
    first = torch.where(mask, idx, torch.inf).amin(dim=1)
    last = torch.where(mask, idx, -torch.inf).amax(dim=1)
    return (last - first + 1).clamp_min(0).nan_to_num(0.0)


def class_medians(measures: torch.Tensor, y: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """n_classes x 3 medians of the measurements per class (the reference of thin/thick, size)."""
    return torch.stack([measures[y == c].median(dim=0).values for c in range(n_classes)])


def attributes(measures: torch.Tensor, y: torch.Tensor, medians: torch.Tensor) -> torch.Tensor:
    """N x 3 int64 attribute values (thickness, slant, size; see VALUES) of measured images."""
    ink = measures[:, 0] / medians[y, 0]
    area = measures[:, 2] / medians[y, 2].clamp_min(1e-9)
    thick = torch.where(ink < THIN, 1, torch.where(ink > THICK, 2, 0))
    slant = torch.where(measures[:, 1] < -SLANT, 1, torch.where(measures[:, 1] > SLANT, 2, 0))
    size = torch.where(area < SMALL, 1, torch.where(area > LARGE, 2, 0))
    return torch.stack([thick, slant, size], dim=1).long()


# --- held-out combinations -------------------------------------------------------------------

def parse_held_out(items: list[str]) -> list[tuple[int, int, int]]:
    """"3:thin" -> (digit 3, attribute column 0, value 1); the words are VALUES' names."""
    out = []
    names = {v: (a, i) for a, values in VALUES.items() for i, v in enumerate(values)
             if i in SPOKEN[a] and not (a == "slant" and i == 0)}
    for item in items:
        digit, _, word = str(item).partition(":")
        if not digit.isdigit() or int(digit) > 9 or word not in names:
            raise GankitError(
                f"data.held_out item {item!r} must be DIGIT:WORD, a digit 0-9 and one of "
                f"{', '.join(names)} (e.g. 3:thin)")
        attr, value = names[word]
        out.append((int(digit), ATTRIBUTES.index(attr), value))
    return out


def held_out_mask(y: torch.Tensor, attrs: torch.Tensor, held: list[tuple[int, int, int]]
                  ) -> torch.Tensor:
    """True for the images whose digit and attribute form a held-out combination."""
    mask = torch.zeros(len(y), dtype=torch.bool)
    for digit, col, value in held:
        mask |= (y == digit) & (attrs[:, col] == value)
    return mask


def captioned_mnist(data_dir: str | None, held_out: list[str]) -> tuple:
    """MNIST's training split with attributes, the held-out combinations' images removed:
    (x, y, {"attributes": N x 3}, valid x, valid y). The class medians are those of all
    50,000 training images, so holding out changes no other image's words."""
    from gankit.data.mnist import load_mnist

    x, y = load_mnist("train", data_dir)
    vx, vy = load_mnist("valid", data_dir)
    m = measure(x)
    attrs = attributes(m, y, class_medians(m, y))
    keep = ~held_out_mask(y, attrs, parse_held_out(held_out))
    return x[keep], y[keep], {"attributes": attrs[keep]}, vx, vy


def reference(data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images, labels, class medians) of the training split: what attributes are relative to."""
    from gankit.data.mnist import load_mnist

    x, y = load_mnist("train", data_dir)
    return x, y, class_medians(measure(x), y)


# --- writing and reading captions ------------------------------------------------------------

def describe(digit: int, attrs: tuple[int, int, int] | list[int], rng: random.Random | None = None,
             drop: float = 0.0, numeral: float = 0.0) -> str:
    """A caption of a digit with attribute values (thickness, slant, size). With `rng`, the
    template and synonyms are drawn, each spoken attribute is left out with probability
    `drop`, and the digit is written as a numeral with probability `numeral`; without, the
    first template and words, every spoken attribute included."""
    pick = (lambda seq: seq[0]) if rng is None else rng.choice
    slots = {}
    for key, attr, value in zip("TSZ", ATTRIBUTES, attrs, strict=True):
        spoken = value in SPOKEN[attr] and (rng is None or rng.random() >= drop)
        slots[key] = pick(WORDS[(attr, value)]) if spoken else ""
    word = str(digit) if rng is not None and rng.random() < numeral else DIGITS[digit]
    text = pick(TEMPLATES).format(D=word, **slots)
    # Dropped slots leave empty list items and dangling "and"s ("seven, , bold and"): tidy.
    parts = []
    for part in text.split(","):
        toks = part.split()
        while toks and toks[0] == "and":
            toks.pop(0)
        while toks and toks[-1] == "and":
            toks.pop()
        if toks:
            parts.append(" ".join(toks))
    return ", ".join(parts)


def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())


def unknown_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in INDEX]


def check_text(text: str, where: str = "--text") -> None:
    """A GankitError naming the first word outside the vocabulary, and the vocabulary."""
    bad = unknown_words(text)
    if bad:
        raise GankitError(
            f"{where} {text!r}: unknown word {bad[0]!r}; use words of the vocabulary the "
            f"training captions are made of (gankit/data/captions.py, VOCAB): "
            f"{', '.join(VOCAB[1:])}")
    if parse(text)[0] is None:
        raise GankitError(f"{where} {text!r} names no digit; write one, as a word (seven) or "
                          "a numeral (7), e.g. 'a thin three leaning left'")


def parse(text: str) -> tuple[int | None, dict[str, int]]:
    """The digit (None if absent) and the attributes a caption names (attribute -> value)."""
    found: dict[str, int] = {}
    digit = None
    toks = words(text)
    for i, w in enumerate(toks):
        if w in DIGITS:
            digit = DIGITS.index(w)
        elif w.isdigit():
            digit = int(w)
        elif w in ("left", "right") and i and toks[i - 1] in ("leaning", "slanted", "tilted"):
            found["slant"] = 1 if w == "left" else 2
        else:
            for (attr, value), phrases in WORDS.items():
                if any(p == w for p in phrases):
                    found[attr] = value
    return digit, found


def encode(texts: list[str]) -> torch.Tensor:
    """len(texts) x MAX_WORDS int64 word indices, 0-padded; unknown words raise GankitError."""
    out = torch.zeros(len(texts), MAX_WORDS, dtype=torch.long)
    for row, text in enumerate(texts):
        check_text(text)
        idx = [INDEX[w] for w in words(text)][:MAX_WORDS]
        out[row, : len(idx)] = torch.tensor(idx, dtype=torch.long)
    return out


def mismatch(digit: int, attrs: list[int], rng: random.Random) -> tuple[int, list[int]]:
    """A description that contradicts the image: another digit (half the time), or the same
    digit with one attribute said to be a spoken value other than its own."""
    if rng.random() < 0.5:
        return rng.choice([d for d in range(10) if d != digit]), list(attrs)
    col = rng.randrange(len(ATTRIBUTES))
    attr = ATTRIBUTES[col]
    new = list(attrs)
    new[col] = rng.choice([v for v in SPOKEN[attr] if v != attrs[col]])
    return digit, new


def contradicts(digit: int, attrs: list[int], text: str) -> bool:
    """Whether `text` says something false about an image of `digit` with `attrs`."""
    said_digit, said = parse(text)
    if said_digit is not None and said_digit != digit:
        return True
    return any(attrs[ATTRIBUTES.index(a)] != v for a, v in said.items())


def says_held_out(text: str, held: list[tuple[int, int, int]]) -> bool:
    """Whether a caption names a held-out combination (its digit with the held-out word)."""
    digit, said = parse(text)
    return any(digit == d and said.get(ATTRIBUTES[col]) == value for d, col, value in held)


def minibatch_captions(y: torch.Tensor, attrs: torch.Tensor, seed: str, drop: float,
                       numeral: float = 0.1, held: list[tuple[int, int, int]] | None = None
                       ) -> tuple[list[str], list[str]]:
    """For each row, a true caption and a contradicting one, drawn from `seed` alone (the
    caller passes the run's seed and the update's number, so a resumed run draws the same).
    No caption, true or contradicting, names a `held` combination: those are never said in
    training (the rows' images have none, as the dataset left them out)."""
    rng = random.Random(seed)
    right, wrong = [], []
    for d, a in zip(y.tolist(), attrs.tolist(), strict=True):
        text = describe(d, a, rng, drop, numeral)
        if held and says_held_out(text, held):
            raise GankitError(f"the training data holds an image of a held-out combination "
                              f"({text!r}); load it with data.held_out set, which leaves them out")
        right.append(text)
        for _ in range(1000):
            wd, wa = mismatch(d, a, rng)
            # The contradicting value must be spoken: never dropped from the wrong caption.
            text = describe(wd, wa, rng, 0.0 if wd == d else drop, numeral)
            if not held or not says_held_out(text, held):
                break
        wrong.append(text)
    return right, wrong
