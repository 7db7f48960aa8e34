"""The update steps of a GAN on one minibatch, as functions of nets, optimisers and tensors.

An objective (gan.py) calls these; the loop (loop.py) never does. Each step leaves the other
network untouched: D's step computes G(z) without a graph, G's step runs through a frozen D.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from gankit.config import OptimConfig, TrainConfig
from gankit.losses import Loss
from gankit.train.schedules import learning_rate, momentum
from gankit.train.speedups import optimizer_kwargs

Stats = dict[str, torch.Tensor]
Labels = torch.Tensor | None


@contextmanager
def frozen(net: nn.Module) -> Iterator[None]:
    """No gradients flow into `net`'s parameters inside the block (and none are computed).
    Every parameter of a gankit net is trained, so all are made trainable again after."""
    net.requires_grad_(False)
    try:
        yield
    finally:
        net.requires_grad_(True)


def grad_norm(net: nn.Module) -> float:
    norms = [p.grad.detach().norm() for p in net.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


def discriminator_loss(D: nn.Module, loss: Loss, real: torch.Tensor, y_real: Labels,
                       fake: torch.Tensor, y_fake: Labels) -> tuple[torch.Tensor, ...]:
    """D's loss (with the loss's own penalty, if any) and the logits it came from."""
    # R1 differentiates the real logits with respect to the real images
    real = real.detach().requires_grad_(True) if loss.r1_weight else real
    real_logits, fake_logits = D(real, y_real), D(fake, y_fake)
    # A conditional WGAN-GP scores its interpolates under the real minibatch's labels (the
    # fake half of each interpolate was drawn for another label): a choice, stated; the
    # penalty only needs D's gradient norm near the data, and it is taken there.
    return (loss.critic_loss(lambda x: D(x, y_real), real_logits, fake_logits, real, fake),
            real_logits, fake_logits)


def discriminator_step(G: nn.Module, D: nn.Module, opt_d: Optimizer, loss: Loss,
                       real: torch.Tensor, y_real: Labels, z: torch.Tensor, y_fake: Labels) -> Stats:
    """One update of D on a real and a generated minibatch; G is not touched."""
    with torch.no_grad():
        fake = G(z, y_fake)
    total, real_logits, fake_logits = discriminator_loss(D, loss, real, y_real, fake, y_fake)
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    opt_d.step()
    loss.after_critic_step(D)
    return {"d_loss": total.detach(), "real_logits": real_logits.detach(),
            "fake_logits": fake_logits.detach()}


def joint_discriminator_step(G: nn.Module, D: nn.Module, opt_d: Optimizer, loss: Loss,
                             real: torch.Tensor, y_real: Labels, z: torch.Tensor,
                             y_fake: Labels) -> Stats:
    """discriminator_step with D's two passes made one (train.joint_d_pass): D scores the real
    and the generated minibatch stacked, which a D that treats each sample alone allows (config
    validation checks), so each weight gradient is one matrix product over both minibatches
    instead of two products summed."""
    with torch.no_grad():
        fake = G(z, y_fake)
    y = None if y_real is None else torch.cat([y_real, y_fake])
    logits = D(torch.cat([real, fake.to(real.dtype)]), y)
    n_real = len(logits) * len(real) // (len(real) + len(fake))  # PacGAN: fewer logits
    real_logits, fake_logits = logits[:n_real], logits[n_real:]
    total = loss.critic_loss(lambda x: D(x, y_real), real_logits, fake_logits, real, fake)
    opt_d.zero_grad(set_to_none=True)  # from here on as discriminator_step
    total.backward()
    opt_d.step()
    loss.after_critic_step(D)
    return {"d_loss": total.detach(), "real_logits": real_logits.detach(),
            "fake_logits": fake_logits.detach()}


def generator_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, loss: Loss, z: torch.Tensor,
                   y_fake: Labels, keep: int | None = None) -> Stats:
    """One update of G through a frozen D; D's parameters get no gradient.

    With `keep`, G's loss uses only the `keep` fakes D scores as most real (top-k training,
    Sinha et al. 2020): the worst fakes' gradients can push them away from the nearest mode.
    """
    with frozen(D):
        fake_logits = D(G(z, y_fake), y_fake)
        scored = fake_logits if keep is None else fake_logits.topk(keep).values
        g_loss = loss.g_loss(scored)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    opt_g.step()
    return {"g_loss": g_loss.detach(), "fake_logits_g": fake_logits.detach()}


def simultaneous_step(
    G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
    loss: Loss, real: torch.Tensor, y_real: torch.Tensor | None, z: torch.Tensor,
    y_fake: torch.Tensor | None,
) -> Stats:
    """D and G updated from the same minibatch and the same parameters (the authors' code):
    each network's gradient is taken of its own loss only, then both descend it."""
    fake = G(z, y_fake)
    d_loss, real_logits, fake_logits = discriminator_loss(D, loss, real, y_real, fake, y_fake)
    g_loss = loss.g_loss(fake_logits)
    d_params = [p for p in D.parameters() if p.requires_grad]
    g_params = [p for p in G.parameters() if p.requires_grad]
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, g_params)
    for params, grads in ((d_params, d_grads), (g_params, g_grads)):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
    opt_d.step()
    opt_g.step()
    loss.after_critic_step(D)
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
            "real_logits": real_logits.detach(), "fake_logits": fake_logits.detach(),
            "fake_logits_g": fake_logits.detach()}


def topk_keep(n: int, train: TrainConfig, epoch: int) -> int | None:
    """How many of n fake scores G learns from in `epoch` (1-based); None: all of them.

    Sinha et al. 2020: k = n at first, times topk_decay each epoch, never below topk * n.
    """
    if train.topk >= 1.0:
        return None
    k = max(n * train.topk_decay ** (epoch - 1), n * train.topk)
    return max(1, min(n, math.ceil(k)))


def make_optimizer(params: Any, opt: OptimConfig, fused: bool = False) -> torch.optim.Optimizer:
    """The config's optimiser; `fused` is train.fused_optim (see speedups.py)."""
    impl = optimizer_kwargs(opt.name, fused)
    if opt.name == "sgd":
        # PyTorch's momentum (v = mu v + g; p -= lr v) equals pylearn2's classic momentum
        # (v = mu v - lr g; p += v) while lr is constant; here lr decays by 4e-6 per step.
        return torch.optim.SGD(
            params, lr=opt.lr, momentum=opt.momentum_start, weight_decay=opt.weight_decay, **impl
        )
    if opt.name == "adam":
        return torch.optim.Adam(
            params, lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay, **impl
        )
    return torch.optim.RMSprop(params, lr=opt.lr, weight_decay=opt.weight_decay, **impl)


def set_schedule(optimizer: Optimizer, opt: OptimConfig, updates: int, epoch: int) -> None:
    """The learning rate after `updates` updates of this network, and the epoch's momentum."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(opt, updates)
        if "momentum" in group and opt.name == "sgd":
            group["momentum"] = momentum(opt, epoch)
