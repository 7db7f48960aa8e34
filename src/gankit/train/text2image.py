"""Text to image: GAN-CLS with manifold interpolation (GAN-INT), Reed et al. (2016).

D judges (image, sentence) pairs and is matching-aware: a real image with its own caption is
"real"; a real image with a caption that contradicts it, and G's image with the caption it was
made from, are "fake" (Reed et al.'s Algorithm 1: L_D = log s_r + (log(1 - s_w) +
log(1 - s_f)) / 2). G learns from its own captions and, with GAN-INT, also from the midpoints
beta * t1 + (1 - beta) * t2 of two captions' embeddings, which fills in the text manifold.

The sentence encoder (nets/text.py) is trained inside the run, jointly with D and by D's loss:
telling a real image's own caption from a contradicting one is itself a matching objective, so
it shapes the embedding without a separate pre-training stage or downloaded weights. G sees
the embeddings as fixed inputs (detached). Captions are drawn afresh for every update from the
minibatch's measured attributes (data/captions.py), or from each image's own caption lines on
a captioned folder (data/captioned.py), seeded by the run's seed and the update's number, so a
resumed run draws the same captions (train/sentences.py).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gankit.config import Config, merged_optim
from gankit.nets.text import SentenceEncoder, TextDiscriminator, TextGenerator, TextToImage
from gankit.train.objective import (
    Batch,
    Clock,
    Objective,
    Stats,
    eval_mode,
    first_bad_parameter,
    first_bad_stat,
)
from gankit.train.sentences import sentences_for
from gankit.train.steps import frozen, grad_norm, make_optimizer, set_schedule

FIXED_NOISE_SEED = 12345  # offset of the per-epoch grids' noise from the run's seed


def gan_cls_d_loss(s_right: torch.Tensor, s_wrong: torch.Tensor,
                   s_fake: torch.Tensor) -> torch.Tensor:
    """-[log D(x, t) + (log(1 - D(x, t_wrong)) + log(1 - D(G(z, t), t))) / 2] from logits."""
    ones, zeros = torch.ones_like(s_right), torch.zeros_like(s_wrong)
    return (F.binary_cross_entropy_with_logits(s_right, ones)
            + (F.binary_cross_entropy_with_logits(s_wrong, zeros)
               + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake))) / 2)


def gan_int_g_loss(s_fake: torch.Tensor, s_interp: torch.Tensor | None,
                   weight: float) -> torch.Tensor:
    """G's non-saturating loss on its captions, plus `weight` times the same on interpolations."""
    loss = F.binary_cross_entropy_with_logits(s_fake, torch.ones_like(s_fake))
    if s_interp is not None:
        loss = loss + weight * F.binary_cross_entropy_with_logits(s_interp,
                                                                  torch.ones_like(s_interp))
    return loss


class Text2ImageObjective(Objective):
    G_ema = None  # no EMA copy: samples come from G itself (Trainer.G_ema reads this)

    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device, self.t = cfg, device, cfg.text2image
        self.batch_size = cfg.train.batch_size
        self.sentences = sentences_for(cfg, data)
        self.E, self.G, self.D = self.build(cfg, data.shape, self.sentences.vocab_size,
                                            data.x.mean(dim=0))
        for net in (self.E, self.G, self.D):
            net.to(device)
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg)
        # The encoder learns with D, from D's matching-aware loss.
        self.opt_d = make_optimizer([*self.D.parameters(), *self.E.parameters()], self.d_opt_cfg)
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
        n_grid = cfg.train.n_sample_grid
        self.fixed_z = self.G.sample_z(n_grid, generator=fixed).to(device)
        self.fixed_tokens = self.sentences.grid_tokens(n_grid).to(device)
        self.T2I = TextToImage(self.E, self.G, self.sentences.default_tokens().to(device),
                               self.sentences.tokenizer)

    @staticmethod
    def build(cfg: Config, shape: tuple[int, ...], vocab_size: int,
              mean: torch.Tensor | None = None
              ) -> tuple[SentenceEncoder, TextGenerator, TextDiscriminator]:
        t = cfg.text2image
        e = SentenceEncoder(vocab_size, t.word_dim, t.embed_dim)
        g = TextGenerator(cfg.generator.z_dim, t.embed_dim, list(cfg.generator.hidden), shape,
                          mean)
        d = TextDiscriminator(shape, t.embed_dim, list(cfg.discriminator.hidden))
        return e, g, d

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        sentences = sentences_for(cfg, state=state)
        e, g, d = cls.build(cfg, shape, sentences.vocab_size)
        e.load_state_dict(state["encoder"])
        g.load_state_dict(state["generator"])
        d.load_state_dict(state["discriminator"])
        return {"generator": TextToImage(e, g, sentences.default_tokens(), sentences.tokenizer),
                "encoder": e, "discriminator": d}

    @property
    def sampler(self) -> torch.nn.Module:
        return self.T2I

    # --- captions -----------------------------------------------------------------------------
    def captions_for(self, batch: Batch, what: str, step: int) -> tuple[torch.Tensor, ...]:
        """Word indices of a true and a mismatched caption for each row of the batch."""
        right, wrong = self.sentences.draw(batch, what, step)
        return right.to(self.device), wrong.to(self.device)

    # --- the updates --------------------------------------------------------------------------
    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        right, wrong = self.captions_for(batch, "d", clock.d_steps)
        z = self.G.sample_z(len(right)).to(self.device)
        e_right, e_wrong = self.E(right), self.E(wrong)
        with torch.no_grad():
            fake = self.G(z, e_right.detach())
        x = batch[0]
        s_right, s_wrong, s_fake = self.D(x, e_right), self.D(x, e_wrong), self.D(fake, e_right)
        loss = gan_cls_d_loss(s_right, s_wrong, s_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"d_loss": loss.detach(), "real_logits": s_right.detach(),
                "fake_logits": s_fake.detach(), "wrong_logits": s_wrong.detach()}

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        right, _ = self.captions_for(batch, "g", clock.g_steps)
        with torch.no_grad():
            e = self.E(right)
        z = self.G.sample_z(len(e)).to(self.device)
        with frozen(self.D):
            s_fake = self.D(self.G(z, e), e)
            s_int = None
            if self.t.interpolate > 0:
                # GAN-INT: the midpoint of each caption and the next row's (another image's).
                e_int = self.t.beta * e + (1 - self.t.beta) * e.roll(1, dims=0)
                z_int = self.G.sample_z(len(e)).to(self.device)
                s_int = self.D(self.G(z_int, e_int), e_int)
            loss = gan_int_g_loss(s_fake, s_int, self.t.interpolate)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        self.opt_g.step()
        return {"g_loss": loss.detach(), "fake_logits_g": s_fake.detach()}

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        for net in (self.E, self.G, self.D):
            net.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(self.fixed_z[:n], self.E(self.fixed_tokens[:n])).cpu()

    def diagnostics(self) -> dict[str, float]:
        return {"g_grad_norm": grad_norm(self.G), "d_grad_norm": grad_norm(self.D),
                "e_grad_norm": grad_norm(self.E), "lr_g": self.opt_g.param_groups[0]["lr"],
                "lr_d": self.opt_d.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        names = ("real_logits", "wrong_logits", "fake_logits", "fake_logits_g")
        if name := first_bad_stat(stats, names):
            return f"D's logits ({name})"
        return first_bad_parameter((("G", self.G), ("D", self.D), ("E", self.E)))

    # --- checkpoints --------------------------------------------------------------------------
    def run_files(self) -> dict[str, bytes]:
        """A captioned-folder run keeps its vocabulary and its grids' sentences readable."""
        return self.sentences.run_files()

    def preview_grid(self, n: int) -> tuple[torch.Tensor, int | None]:
        """A captioned folder's grids: one row per grid sentence (RUN/grid-sentences.txt)."""
        return self.preview(n), self.sentences.per_row(n)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                "encoder": self.E.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), **self.sentences.state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("vocabulary") != self.sentences.state().get("vocabulary"):
            raise ValueError("the captions' vocabulary differs from the checkpoint's")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.E.load_state_dict(state["encoder"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
