"""Where a text-to-image run's sentences come from: one class per captioned dataset.

Each turns a minibatch into word indices of a true and a mismatched caption per row (`draw`),
gives the sentences of the sample grids (`grid_tokens`) and of samples drawn with no text
(`default_tokens`), a `tokenizer` that turns a user's sentence into indices, and the `state`
the run's checkpoint keeps so a loaded run can do all of this without its data.

- `MnistSentences` (mnist-captions): captions written afresh from each digit's label and
  measured attributes (data/captions.py), the mismatched one contradicting the image; a fixed
  vocabulary.
- `FolderSentences` (captioned-folder): one of the image's own caption lines, and a line of
  another image (data/captioned.py); the vocabulary is the folder's words, saved with the run.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.config import Config
from gankit.data import captioned, captions

# The MNIST grid's columns: one attribute combination each (thickness, slant, size), per digit.
GRID_ATTRIBUTES = ((0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 1, 0), (0, 2, 0),
                   (1, 1, 0), (2, 2, 0), (0, 0, 1), (0, 0, 2), (2, 1, 2))
FOLDER_GRID_ROWS = 10  # sentences of a captioned-folder run's sample grid, one row each


def mnist_grid_captions(n: int) -> list[str]:
    """The per-epoch grid's captions: row = digit, column = attribute combination."""
    return [captions.describe((i // 10) % 10, GRID_ATTRIBUTES[i % 10]) for i in range(n)]


class MnistTokenizer:
    """Sentences in mnist-captions' fixed vocabulary (a digit required) -> word indices."""

    def encode(self, texts: list[str], where: str = "--text") -> torch.Tensor:
        for text in texts:
            captions.check_text(text, where)
        return captions.encode(texts)


class MnistSentences:
    def __init__(self, cfg: Config) -> None:
        self.seed, self.t = cfg.seed, cfg.text2image
        self.held = captions.parse_held_out(cfg.data.held_out)
        self.vocab_size = len(captions.VOCAB)
        self.tokenizer = MnistTokenizer()

    def draw(self, batch: tuple, what: str, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        right, wrong = captions.minibatch_captions(
            batch[1].cpu(), batch[2].cpu(), f"{self.seed}-{what}-{step}", self.t.drop,
            self.t.numeral, self.held)
        return captions.encode(right), captions.encode(wrong)

    def grid_tokens(self, n: int) -> torch.Tensor:
        return captions.encode(mnist_grid_captions(n))

    def default_tokens(self) -> torch.Tensor:
        """The captions "zero" ... "nine": what the generator uses when given no text."""
        return captions.encode(list(captions.DIGITS))

    def state(self) -> dict[str, Any]:
        return {}

    def per_row(self, n: int) -> int | None:
        """Images per grid row: None, the grid decides (rows are not one sentence each)."""
        return None

    def run_files(self) -> dict[str, bytes]:
        return {}


class FolderSentences:
    def __init__(self, cfg: Config, vocabulary: list[str], grid: list[str]) -> None:
        self.seed = cfg.seed
        self.vocabulary, self.grid = list(vocabulary), list(grid)
        self.tokenizer = captioned.Vocabulary(self.vocabulary)
        self.vocab_size = len(self.tokenizer)

    @classmethod
    def from_data(cls, cfg: Config, data: Any) -> FolderSentences:
        grid = captioned.grid_captions(data.extras["captions"], data.vocabulary,
                                       FOLDER_GRID_ROWS)
        return cls(cfg, data.vocabulary, grid)

    def draw(self, batch: tuple, what: str, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return captioned.draw_captions(batch[2].cpu(), batch[3].cpu(),
                                       f"{self.seed}-{what}-{step}")

    def per_row(self, n: int) -> int:
        """Images per row of a grid of n, so that row r shows grid sentence r."""
        return max(1, n // len(self.grid))

    def grid_tokens(self, n: int) -> torch.Tensor:
        texts = [self.grid[(i // self.per_row(n)) % len(self.grid)] for i in range(n)]
        return self.tokenizer.encode(texts)

    def default_tokens(self) -> torch.Tensor:
        return self.tokenizer.encode(self.grid)

    def state(self) -> dict[str, Any]:
        return {"vocabulary": self.vocabulary, "grid_captions": self.grid}

    def run_files(self) -> dict[str, bytes]:
        """The vocabulary, one word a line, and the sample grids' sentences, one per row."""
        return {captioned.VOCABULARY_FILE: "".join(w + "\n" for w in self.vocabulary[1:]).encode(),
                "grid-sentences.txt": "".join(t + "\n" for t in self.grid).encode()}


def sentences_for(cfg: Config, data: Any = None, state: dict[str, Any] | None = None
                  ) -> MnistSentences | FolderSentences:
    """The run's sentence source, from its data (training) or its checkpoint (load_run)."""
    if cfg.data.dataset != "captioned-folder":
        return MnistSentences(cfg)
    if state is not None:
        return FolderSentences(cfg, state["vocabulary"], state["grid_captions"])
    return FolderSentences.from_data(cfg, data)
