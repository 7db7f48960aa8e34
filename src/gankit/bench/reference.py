"""The yardstick: gankit's networks trained by a plain loop written the way tutorials write it.

The pattern is that of the most copied GAN tutorial code (PyTorch-GAN's implementations/gan/gan.py,
PyTorch's DCGAN example): a DataLoader over single examples, label tensors of ones and zeros made
at every step, D's output through a sigmoid and nn.BCELoss, the generator updated first (its
backward pass also computes D's weight gradients, which zero_grad later discards), then D on the
real batch and the detached fakes. The networks, batch size and optimisers are the config's, so
the difference to gankit's step is the loop alone. It is kinder than a tutorial in one way: the
data are already tensors (no per-image PIL decoding and transforms).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gankit.config import Config, merged_optim
from gankit.data.dataset import TrainingData
from gankit.nets import build_discriminator, build_generator
from gankit.train.steps import make_optimizer


class ReferenceLoop:
    """`iteration()` is one tutorial-style G update and one D update on the next minibatch."""

    def __init__(self, cfg: Config, data: TrainingData, device: torch.device):
        self.device, self.conditional = device, cfg.data.conditional
        self.n_classes = data.n_classes
        self.G = build_generator(cfg, data.shape, data.n_classes).to(device).train()
        self.D = build_discriminator(cfg, data.shape, data.n_classes).to(device).train()
        self.opt_g = make_optimizer(self.G.parameters(), merged_optim(cfg, "g_optim"))
        self.opt_d = make_optimizer(self.D.parameters(), merged_optim(cfg, "d_optim"))
        self.pack = cfg.discriminator.pack
        self.bce = nn.BCELoss()
        tensors = (data.x, data.y) if self.conditional else (data.x,)
        self.loader = DataLoader(TensorDataset(*tensors), batch_size=cfg.train.batch_size,
                                 shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.batch_size = cfg.train.batch_size

    def _next(self) -> list[torch.Tensor]:
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch, as `for epoch ...: for batch in loader` does
            self.batches = iter(self.loader)
            return next(self.batches)

    def _validity(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return torch.sigmoid(self.D(x, y)).view(-1, 1)

    def iteration(self) -> None:
        batch = self._next()
        real = batch[0].to(self.device)
        real_y = batch[1].to(self.device) if self.conditional else None
        n = real.size(0)
        valid = torch.ones(n // self.pack, 1, device=self.device)
        fake = torch.zeros(n // self.pack, 1, device=self.device)

        self.opt_g.zero_grad()
        z = torch.randn(n, self.G.z_dim, device=self.device)
        gen_y = torch.randint(self.n_classes, (n,), device=self.device) if self.conditional else None
        gen = self.G(z, gen_y)
        g_loss = self.bce(self._validity(gen, gen_y), valid)
        g_loss.backward()
        self.opt_g.step()

        self.opt_d.zero_grad()
        real_loss = self.bce(self._validity(real, real_y), valid)
        fake_loss = self.bce(self._validity(gen.detach(), gen_y), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        self.opt_d.step()

    def run(self, iterations: int) -> None:
        for _ in range(iterations):
            self.iteration()

    @torch.no_grad()
    def samples(self, n: int, generator: torch.Generator, batch_size: int = 1000) -> torch.Tensor:
        """n images of G in eval mode (on the CPU), from z ~ N(0, I) as `iteration` trains it
        (not the config's z_dist), drawn from `generator`; class labels cycle 0..n_classes-1
        when conditional. For scoring the loop's G (benchmarks/time_to_quality.py)."""
        self.G.eval()
        out = []
        try:
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                z = torch.randn(m, self.G.z_dim, generator=generator).to(self.device)
                y = (torch.arange(start, start + m, device=self.device) % self.n_classes
                     if self.conditional else None)
                out.append(self.G(z, y).cpu())
        finally:
            self.G.train()
        return torch.cat(out)
