"""Networks of text-to-image GANs (GAN-CLS, Reed et al. 2016), small enough for a laptop CPU.

- `SentenceEncoder`: a bag of words, the mean of learned word vectors (padding excluded), then
  a linear layer and a LeakyReLU. The captions' grammar gives word order no meaning, so an
  order-blind encoder loses nothing and trains faster than a recurrent one on a CPU.
- `TextGenerator`: an MLP from z to an image, the sentence embedding concatenated to every
  layer's input (batch norm, ReLU, sigmoid output whose bias starts at the logit of each pixel's training mean).
- `TextDiscriminator`: an MLP over the image; the sentence embedding joins its last hidden
  layer twice: concatenated and through one more layer (Reed et al.'s depth concatenation),
  and as a projection term <h, P e> (Miyato & Koyama 2018), which conditions D strongly.
- `TextToImage`: the encoder and generator together, what `load_run` calls "generator":
  `forward(z, tokens)` with word indices (its `tokenizer.encode`), or with None: the run's
  default captions in turn ("zero", "one", ... on MNIST, so class-balanced samples come from
  `gankit eval`; a captioned folder's grid sentences).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class SentenceEncoder(nn.Module):
    def __init__(self, vocab_size: int, word_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.words = nn.EmbeddingBag(vocab_size, word_dim, mode="mean", padding_idx=0)
        self.out = nn.Linear(word_dim, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """N x L word indices (0 = padding) -> N x embed_dim."""
        return F.leaky_relu(self.out(self.words(tokens)), 0.2)


class TextGenerator(nn.Module):
    def __init__(self, z_dim: int, embed_dim: int, hidden: list[int], shape: tuple[int, ...],
                 data_mean: torch.Tensor | None = None) -> None:
        super().__init__()
        self.z_dim, self.shape = z_dim, tuple(shape)
        # The sentence joins every layer's input, not only the first: its word then reaches
        # the output through one layer wherever G's noise has taken the hidden units.
        self.layers = nn.ModuleList()
        width = z_dim
        for h in hidden:
            self.layers.append(nn.Sequential(nn.Linear(width + embed_dim, h), nn.BatchNorm1d(h),
                                             nn.ReLU()))
            width = h
        self.out = nn.Linear(width + embed_dim, math.prod(shape))
        if data_mean is not None:  # start at the mean image, not at grey
            with torch.no_grad():
                self.out.bias.copy_(torch.logit(data_mean.flatten().clamp(1e-3, 1 - 1e-3)))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=generator)

    def forward(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.layers:
            h = layer(torch.cat([h, e], dim=1))
        return torch.sigmoid(self.out(torch.cat([h, e], dim=1))).view(len(z), *self.shape)


class TextDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], embed_dim: int, hidden: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = math.prod(shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        self.body = nn.Sequential(*layers)
        self.joint = nn.Linear(width + embed_dim, width)
        self.out = nn.Linear(width, 1)
        self.project = nn.Linear(embed_dim, width, bias=False)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """One logit per (image, sentence embedding) pair: do they make a real, matching pair."""
        h = self.body(x.flatten(1))
        joint = F.leaky_relu(self.joint(torch.cat([h, e], dim=1)), 0.2)
        return self.out(joint).squeeze(1) + (h * self.project(e)).sum(dim=1)


class TextToImage(nn.Module):
    """Sentence in, image out: the run's "generator" for sampling and evaluation."""

    def __init__(self, encoder: SentenceEncoder, generator: TextGenerator,
                 default_tokens: torch.Tensor, tokenizer: Any = None) -> None:
        super().__init__()
        self.encoder, self.generator = encoder, generator
        # Sentences -> word indices in the run's vocabulary: `encode(texts, where)`.
        self.tokenizer = tokenizer
        self.register_buffer("default_tokens", default_tokens, persistent=False)

    @property
    def z_dim(self) -> int:
        return self.generator.z_dim

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator.sample_z(n, generator)

    def forward(self, z: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        if tokens is None:
            idx = torch.arange(len(z), device=z.device) % len(self.default_tokens)
            tokens = self.default_tokens[idx]
        return self.generator(z, self.encoder(tokens))

    def from_embedding(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return self.generator(z, e)
