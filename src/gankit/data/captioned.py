"""A folder of the user's own captioned images, for text to image (`data.dataset:
captioned-folder`).

Layout: every image `NAME.png` (or .jpg, ...) has a text file `NAME.txt` beside it holding one
caption per line; several lines are several phrasings of the same image (the layout of Reed et
al.'s CUB and Oxford-102 caption files: one .txt per image). Sub-folders are read too (CUB
keeps one per class). Images are read as the image-folder loader reads them (data/images.py:
grey or RGB, short side resized to data.size, centre-cropped).

Captions become word indices into a vocabulary built from the folder's own captions: "<pad>"
(index 0), then every word, sorted. Words are runs of letters and digits, lower-cased
(`words`). The vocabulary is saved with the run, so a loaded run turns sentences into indices
without the folder (`Vocabulary.encode`, which refuses a word the captions never used).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

# The image-folder loader's own reading, shared so both read an image the same way.
from gankit.data.images import _MODES, _load_one, _visible_files
from gankit.errors import GankitError

CAPTION_SUFFIX = ".txt"
WORD_RE = re.compile(r"[^\W_]+")  # letters and digits of any script; punctuation splits words
SHOWN_WORDS = 80  # words an unknown-word error lists before pointing at vocabulary.txt
VOCABULARY_FILE = "vocabulary.txt"  # the run folder's copy of the vocabulary, one word a line


def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())


def _shown(paths: list[Path], folder: Path) -> str:
    names = [str(p.relative_to(folder)) for p in paths[:3]]
    return ", ".join(names) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def pair_files(folder: Path) -> list[tuple[Path, Path]]:
    """(image, caption file) pairs under `folder`, sorted by path; every mismatch refused."""
    files = _visible_files(folder, recursive=True)
    texts = {f.with_suffix(""): f for f in files if f.suffix.lower() == CAPTION_SUFFIX}
    images: dict[Path, Path] = {}
    for f in files:
        if f.suffix.lower() == CAPTION_SUFFIX:
            continue
        stem = f.with_suffix("")
        if stem in images:
            raise GankitError(f"{images[stem]} and {f} would share the caption file "
                              f"{stem.name}{CAPTION_SUFFIX}; keep one of the two images")
        images[stem] = f
    if not images:
        raise GankitError(f"data.dir {folder} holds no images; put NAME.png (or .jpg) files "
                          f"there, each with its captions in NAME{CAPTION_SUFFIX} beside it")
    lonely = [images[s] for s in images if s not in texts]
    if lonely:
        raise GankitError(f"{len(lonely)} image(s) in {folder} have no caption file: "
                          f"{_shown(lonely, folder)}; write NAME{CAPTION_SUFFIX} beside each "
                          "NAME image, one caption per line (or remove the image)")
    orphans = [texts[s] for s in texts if s not in images]
    if orphans:
        raise GankitError(f"{len(orphans)} caption file(s) in {folder} have no image beside "
                          f"them: {_shown(orphans, folder)}; add the image with the same name "
                          "(NAME.png for NAME.txt) or remove the caption file")
    return [(images[s], texts[s]) for s in sorted(images)]


def read_captions(path: Path) -> list[str]:
    """The non-blank lines of a caption file; an empty file or a line without words refused."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise GankitError(f"cannot read caption file {path} ({exc}); save it as UTF-8 text, one "
                          "caption per line") from None
    lines = [line for line in lines if line]
    if not lines:
        raise GankitError(f"caption file {path} is empty; write at least one caption (one per "
                          "line) describing its image, or remove the image and the file")
    for number, line in enumerate(lines, 1):
        if not words(line):
            raise GankitError(f"caption {number} of {path} ({line!r}) has no words; write a "
                              "sentence or remove the line")
    return lines


class Vocabulary:
    """Words <-> indices (0 is padding); `encode` is what turns a --text into G's input."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.words = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: list[str]) -> Vocabulary:
        return cls(["<pad>", *sorted({w for text in texts for w in words(text)})])

    def __len__(self) -> int:
        return len(self.words)

    def check(self, text: str, where: str = "--text") -> list[int]:
        found = words(text)
        if not found:
            raise GankitError(f"{where} {text!r} has no words; write a sentence like the "
                              "run's training captions")
        unknown = [w for w in found if w not in self.index]
        if unknown:
            known = self.words[1:]
            listed = ", ".join(known[:SHOWN_WORDS]) + (", ..." if len(known) > SHOWN_WORDS
                                                       else "")
            raise GankitError(f"{where} {text!r}: unknown word {unknown[0]!r}; this run knows "
                              f"only the {len(known)} words of its training captions (all in "
                              f"the run folder's {VOCABULARY_FILE}): {listed}")
        return [self.index[w] for w in found]

    def encode(self, texts: list[str], where: str = "--text") -> torch.Tensor:
        """len(texts) x L int64 word indices (L: the longest), 0-padded."""
        rows = [self.check(text, where) for text in texts]
        out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
        for i, row in enumerate(rows):
            out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out


def load_captioned_folder(path: str | Path, size: int, channels: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    """(images N x C x size x size in [0, 1], captions N x P x L word indices (P: the most
    captions of one image, rows past an image's own all padding), caption counts N, vocabulary).
    Everything is read and checked before anything is returned."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise GankitError(f"data.dir {folder} does not exist or is not a folder; give the folder "
                          "of captioned images (--data-dir PATH)")
    pairs = pair_files(folder)
    texts = [read_captions(caption) for _, caption in pairs]
    arrays = []
    for image, _ in pairs:
        try:
            arrays.append(_load_one(image, size, _MODES[channels]))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise GankitError(f"cannot read image {image} ({exc}); remove it and its caption "
                              "file, or replace it with a PNG/JPEG") from None
    vocab = Vocabulary.build([t for lines in texts for t in lines])
    encoded = [vocab.encode(lines, str(caption)) for lines, (_, caption) in zip(texts, pairs,
                                                                                strict=True)]
    p = max(len(e) for e in encoded)
    length = max(e.shape[1] for e in encoded)
    tokens = torch.zeros(len(pairs), p, length, dtype=torch.long)
    for i, e in enumerate(encoded):
        tokens[i, : e.shape[0], : e.shape[1]] = e
    counts = torch.tensor([len(e) for e in encoded], dtype=torch.long)
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    return x.contiguous(), tokens, counts, vocab.words


def draw_captions(tokens: torch.Tensor, counts: torch.Tensor, seed: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of a minibatch (tokens B x P x L, counts B): one of its own captions, and
    one of another row's whose caption file differs (GAN-CLS's mismatched text: Reed et al.
    take another image's caption). Drawn from `seed` alone, so a resumed run draws the same.
    A batch whose rows all have the same captions gets its own captions as the wrong ones."""
    rng = random.Random(seed)
    n = len(tokens)
    rows = list(range(n))
    right_idx = [rng.randrange(int(counts[i])) for i in rows]
    wrong_row, wrong_idx = [], []
    for i in rows:
        j = i
        for _ in range(20):  # another row, preferably with other captions (a different image)
            j = (i + rng.randrange(1, n)) % n if n > 1 else i
            if not torch.equal(tokens[j], tokens[i]):
                break
        wrong_row.append(j)
        wrong_idx.append(rng.randrange(int(counts[j])))
    right = tokens[torch.tensor(rows), torch.tensor(right_idx)]
    wrong = tokens[torch.tensor(wrong_row), torch.tensor(wrong_idx)]
    return right, wrong


def grid_captions(tokens: torch.Tensor, vocabulary: list[str], n: int = 10) -> list[str]:
    """Up to `n` distinct first captions, spread evenly over the folder's images in name order:
    the sentences of the run's sample grids (one row each) and of samples drawn with no text."""
    distinct: list[str] = []
    for row in tokens[:, 0].tolist():
        text = " ".join(vocabulary[i] for i in row if i)
        if text not in distinct:
            distinct.append(text)
    if len(distinct) <= n:
        return distinct
    return [distinct[round(k * (len(distinct) - 1) / (n - 1))] for k in range(n)] if n > 1 \
        else distinct[:1]
