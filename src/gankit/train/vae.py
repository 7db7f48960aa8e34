"""The variational autoencoder of Kingma & Welling (2014), trained by the same loop as the GANs:
one of the likelihood models the GAN paper compares itself with.

No discriminator (`adversarial = False`): the loop calls `g_update` once per real minibatch,
which maximises the ELBO with the reparameterisation trick. The images are binarised afresh at
every update (each pixel 1 with probability its grey level, from the run's global random state,
so a resumed run draws the same), the usual protocol for reporting MNIST likelihoods in nats.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.config import Config, merged_optim
from gankit.nets.vae import BernoulliDecoder, GaussianEncoder, elbo
from gankit.train.objective import Batch, Clock, Objective, Stats, first_bad_parameter
from gankit.train.steps import grad_norm, make_optimizer, set_schedule

FIXED_NOISE_SEED = 12345  # offset of the per-epoch grids' noise from the run's seed


def build_vae(cfg: Config, shape: tuple[int, ...],
              data_mean: torch.Tensor | None = None) -> tuple[GaussianEncoder, BernoulliDecoder]:
    v = cfg.vae
    bias = None
    if data_mean is not None:  # logit of each pixel's mean, kept away from +-infinity
        bias = torch.logit(data_mean.clamp(1e-3, 1 - 1e-3))
    # The order fixes which global random numbers each network's init draws.
    encoder = GaussianEncoder(shape, list(v.hidden), v.z_dim)
    decoder = BernoulliDecoder(v.z_dim, list(reversed(v.hidden)), shape, bias)
    return encoder, decoder


class VAEObjective(Objective):
    adversarial = False
    probabilities = False  # no discriminator: nothing to read as D's probabilities

    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device = cfg, device
        mean = data.x.mean(dim=0) if cfg.vae.decoder_bias_from_data else None
        self.encoder, self.decoder = (net.to(device) for net in build_vae(cfg, data.shape, mean))
        self.opt_cfg = merged_optim(cfg, "g_optim")
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.opt = make_optimizer(params, self.opt_cfg, cfg.train.fused_optim)
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
        self.fixed_z = self.decoder.sample_z(cfg.train.n_sample_grid, generator=fixed).to(device)

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        encoder, decoder = build_vae(cfg, shape)
        encoder.load_state_dict(state["encoder"])
        decoder.load_state_dict(state["decoder"])
        return {"generator": decoder, "encoder": encoder}

    # The loop's epoch facts and the trainer's G property name the sampled network G.
    @property
    def G(self) -> torch.nn.Module:
        return self.decoder

    @property
    def sampler(self) -> torch.nn.Module:
        return self.decoder

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt, self.opt_cfg, clock.g_steps, clock.epoch)
        x = torch.bernoulli(batch[0])  # dynamic binarisation: a new draw at every update
        bound = elbo(self.encoder, self.decoder, x)
        loss = -bound.mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        # g_loss is the negative ELBO in nats per image (an upper bound on -log p(x)).
        return {"g_loss": loss.detach()}

    def train_mode(self) -> None:
        self.encoder.train()
        self.decoder.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        return self.decoder(self.fixed_z[:n]).cpu()  # no dropout or batch norm: no mode switch

    def diagnostics(self) -> dict[str, float]:
        return {"g_grad_norm": grad_norm(self.decoder), "e_grad_norm": grad_norm(self.encoder),
                "lr_g": self.opt.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        return first_bad_parameter((("encoder", self.encoder), ("decoder", self.decoder)),
                                   otherwise="the ELBO itself")

    def state_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder.state_dict(), "decoder": self.decoder.state_dict(),
                "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.decoder.load_state_dict(state["decoder"])
        self.opt.load_state_dict(state["opt"])
