"""Semi-supervised learning with a GAN (Salimans et al. 2016, "Improved Techniques for Training
GANs", §5; Odena 2016 is the same idea with an explicit fake class).

D is a (K+1)-class classifier whose fake class's logit is fixed at 0, so its K class logits are
all it has and logsumexp of them is its real/fake logit. Each D update sees three minibatches:
labelled images (cross-entropy of the K classes), unlabelled images (real) and G's samples
(fake). G learns by feature matching on D's last hidden layer (§3.1). The labelled images are
`semi.labels` training images, the same number per class, chosen by `semi.label_seed`; they are
fixed when the run starts, kept in the checkpoint and in the run folder's labelled.json, and a
resumed run uses exactly the saved ones. The unlabelled data is the loop's minibatches of the
whole training set, whose labels this objective never reads.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from gankit.config import Config, merged_optim
from gankit.errors import GankitError
from gankit.losses import (
    d_loss_semi,
    g_loss_feature_matching,
    g_loss_non_saturating,
    real_fake_logit,
)
from gankit.nets import build_generator
from gankit.nets.semi import build_semi_discriminator
from gankit.train.gan import FIXED_NOISE_SEED
from gankit.train.objective import (
    Batch,
    Clock,
    Objective,
    Stats,
    eval_mode,
    first_bad_parameter,
    first_bad_stat,
)
from gankit.train.steps import frozen, grad_norm, make_optimizer, set_schedule

LABELLED_FILE = "labelled.json"


def select_labelled(y: torch.Tensor, n_labels: int, n_classes: int, seed: int) -> torch.Tensor:
    """Indices (sorted) of n_labels / n_classes examples of each class, drawn by `seed` alone."""
    per_class = n_labels // n_classes
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(n_classes):
        members = (y == c).nonzero().flatten()
        chosen.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(chosen).sort().values


class SemiObjective(Objective):
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg, self.device = cfg, device
        self.batch_size = cfg.train.batch_size
        self.n_classes = data.n_classes
        mean = data.x.mean(dim=0) if data.is_image else None
        self.G = build_generator(cfg, data.shape, 0, data_mean=mean).to(device)
        self.D = build_semi_discriminator(cfg, data.shape, data.n_classes).to(device)
        self.G_ema = None
        self.g_opt_cfg, self.d_opt_cfg = merged_optim(cfg, "g_optim"), merged_optim(cfg, "d_optim")
        self.opt_g = make_optimizer(self.G.parameters(), self.g_opt_cfg, cfg.train.fused_optim)
        self.opt_d = make_optimizer(self.D.parameters(), self.d_opt_cfg, cfg.train.fused_optim)
        self._x, self._y = data.x, data.y  # the labelled subset is looked up here
        self._use_labelled(select_labelled(data.y, cfg.semi.labels, data.n_classes,
                                           cfg.semi.label_seed))
        fixed = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
        n_grid = cfg.train.n_sample_grid if data.is_image else 2500
        self.fixed_z = self.G.sample_z(n_grid, generator=fixed).to(device)

    def _use_labelled(self, indices: torch.Tensor) -> None:
        self.labelled = indices.cpu().long()
        self.x_lab = self._x[self.labelled].to(self.device)
        self.y_lab = self._y[self.labelled].to(self.device)
        self._cycles: dict[int, torch.Tensor] = {}

    @classmethod
    def inference_nets(cls, cfg: Config, shape: tuple[int, ...], n_classes: int,
                       state: dict[str, Any]) -> dict[str, torch.nn.Module]:
        g = build_generator(cfg, shape, 0)
        d = build_semi_discriminator(cfg, shape, n_classes)
        g.load_state_dict(state["generator"])
        d.load_state_dict(state["discriminator"])
        return {"generator": g, "discriminator": d}

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    def labelled_batch(self, d_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The labelled minibatch of D update number `d_steps`: the labelled images in a new
        seeded order each pass, read batch_size at a time (a function of the step, for resume)."""
        n, bs = len(self.labelled), self.batch_size
        first, last = d_steps * bs // n, ((d_steps + 1) * bs - 1) // n
        self._cycles = {c: p for c, p in self._cycles.items() if c >= first}
        for c in range(first, last + 1):
            if c not in self._cycles:
                g = torch.Generator().manual_seed(self.cfg.seed * 998_244_353 + c)
                self._cycles[c] = torch.randperm(n, generator=g)
        order = torch.cat([self._cycles[c] for c in range(first, last + 1)])
        idx = order[d_steps * bs - first * n:][:bs].to(self.device)
        return self.x_lab[idx], self.y_lab[idx]

    # --- the updates --------------------------------------------------------------------------
    def d_update(self, batch: Batch, clock: Clock) -> Stats:
        set_schedule(self.opt_d, self.d_opt_cfg, clock.d_steps, clock.epoch)
        x_lab, y_lab = self.labelled_batch(clock.d_steps)
        unlabelled = batch[0]  # batch[1], the labels of the whole training set, is never read
        with torch.no_grad():
            fake = self.G(self.G.sample_z(self.batch_size).to(self.device))
        # One forward pass for the three batches (D has no batch statistics to mix).
        logits = self.D(torch.cat([x_lab.flatten(1), unlabelled.flatten(1), fake.flatten(1)]))
        lab, unl, gen = logits.split([len(x_lab), len(unlabelled), len(fake)])
        loss = d_loss_semi(lab, y_lab, unl, gen, self.cfg.semi.unlabelled_weight)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"d_loss": loss.detach(), "real_logits": real_fake_logit(unl).detach(),
                "fake_logits": real_fake_logit(gen).detach(),
                "labelled_accuracy": (lab.argmax(1) == y_lab).float().mean().detach()}

    def g_update(self, clock: Clock, batch: Batch) -> Stats:
        set_schedule(self.opt_g, self.g_opt_cfg, clock.g_steps, clock.epoch)
        fake = self.G(self.G.sample_z(self.batch_size).to(self.device))
        with frozen(self.D):
            fake_features, fake_logits = self.D.features_and_logits(fake)
            if self.cfg.semi.generator_loss == "feature-matching":
                with torch.no_grad():
                    real_features, _ = self.D.features_and_logits(batch[0])
                loss = g_loss_feature_matching(real_features, fake_features)
            else:
                loss = g_loss_non_saturating(real_fake_logit(fake_logits))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"g_loss": loss.detach(), "fake_logits_g": real_fake_logit(fake_logits).detach()}

    def joint_update(self, batch: Batch, clock: Clock) -> Stats:
        raise GankitError("objective semi updates D and G in turn; set train.update=alternating")

    # --- what hooks see -------------------------------------------------------------------------
    def train_mode(self) -> None:
        self.G.train()
        self.D.train()

    @torch.no_grad()
    def preview(self, n: int, ema: bool = True) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(self.fixed_z[:n]).cpu()

    def diagnostics(self) -> dict[str, float]:
        return {"g_grad_norm": grad_norm(self.G), "d_grad_norm": grad_norm(self.D),
                "lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}

    def first_non_finite(self, stats: Stats) -> str:
        if name := first_bad_stat(stats, ("real_logits", "fake_logits", "fake_logits_g")):
            return f"D's logsumexp logits ({name})"
        return first_bad_parameter((("G", self.G), ("D", self.D)))

    # --- the run folder and checkpoints -------------------------------------------------------
    def run_files(self) -> dict[str, bytes]:
        labels = self._y[self.labelled]
        record = {
            "labels": len(self.labelled), "label_seed": self.cfg.semi.label_seed,
            "per_class": labels.bincount(minlength=self.n_classes).tolist(),
            "indices": self.labelled.tolist(), "classes": labels.tolist(),
            "note": "indices into the training split gankit loads for data.dataset "
                    f"{self.cfg.data.dataset}; fixed at the run's start, never changed",
        }
        lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in record.items())
        return {LABELLED_FILE: ("{\n" + lines + "\n}\n").encode()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "labelled": self.labelled.clone(), "label_seed": self.cfg.semi.label_seed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state["labelled"].cpu().long()
        s = self.cfg.semi
        if len(saved) != s.labels or state["label_seed"] != s.label_seed:
            raise GankitError(
                f"this run's labelled subset is {len(saved)} images chosen by label_seed "
                f"{state['label_seed']}, but the config asks for semi.labels={s.labels}, "
                f"semi.label_seed={s.label_seed}; a run's labelled subset never changes: resume "
                "with the run's own semi: settings, or start a new run")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self._use_labelled(saved)  # exactly the saved images, even if a new draw would differ
