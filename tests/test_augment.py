"""DiffAugment and ADA (gankit.augment): differentiable, applied to everything D sees in both
updates, ADA's p moving the right way, off = the steps as before, and an exact resume."""

from __future__ import annotations

import pytest
import torch

from conftest import REPO, SHARED_MNIST, TINY_DCGAN
from gankit.augment import Augment, AugmentConfig, make_augment
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.train.steps import discriminator_step, generator_step


def _images(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 12, 12, generator=torch.Generator().manual_seed(seed))


def test_every_transform_changes_images_and_passes_gradients():
    for op in ("color", "translation", "cutout"):
        aug = Augment(AugmentConfig(kind="diffaugment", policy=[op]))
        x = _images().requires_grad_(True)
        torch.manual_seed(1)
        out = aug(x)
        assert out.shape == x.shape and not torch.equal(out, x), op
        (out * torch.randn_like(out)).sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0, op


def test_translation_moves_pixels_and_cutout_zeroes_a_square():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 4, 4] = 1.0
    torch.manual_seed(0)
    moved = Augment(AugmentConfig(kind="diffaugment", policy=["translation"], translation=0.25))
    outs = [moved(x) for _ in range(20)]
    assert all(o.sum() == 1 for o in outs)  # one pixel, somewhere within 2 of (4, 4)
    assert len({tuple(o.nonzero()[0].tolist()) for o in outs}) > 1
    cut = Augment(AugmentConfig(kind="diffaugment", policy=["cutout"], cutout=0.5))(torch.ones(3, 1, 8, 8))
    zeros = (cut == 0).sum(dim=(1, 2, 3))
    assert ((zeros >= 1) & (zeros <= 16)).all()  # a 4x4 square, clipped at the border


def test_generator_gradients_flow_through_the_augmentation():
    G = torch.nn.Sequential(torch.nn.Linear(4, 144), torch.nn.Unflatten(1, (1, 12, 12)))
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 1))
    G2 = lambda z, y: G(z)  # noqa: E731  (the steps call G(z, y) and D(x, y))
    D2 = lambda x, y: D(x).squeeze(1)  # noqa: E731
    before = [p.clone() for p in G.parameters()]
    opt = torch.optim.SGD(G.parameters(), lr=0.1)
    aug = Augment(AugmentConfig(kind="diffaugment"))
    generator_step(G2, _Frozen(D, D2), opt, make_loss("non-saturating"), torch.randn(8, 4),
                   None, augment=aug)
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))


class _Frozen(torch.nn.Module):
    """D as generator_step expects it: a module (it is frozen) called with (x, y)."""

    def __init__(self, net: torch.nn.Module, call):
        super().__init__()
        self.net, self.call = net, call

    def forward(self, x, y):
        return self.call(x, y)


def test_d_sees_the_augmented_batches_in_both_updates():
    seen: list[torch.Tensor] = []

    def D(x, y):
        seen.append(x.detach().clone())
        return x.flatten(1).sum(1) * w

    w = torch.ones((), requires_grad=True)
    opt_d = torch.optim.SGD([w], lr=0.0)
    G = lambda z, y: z.view(-1, 1, 12, 12)  # noqa: E731
    aug = Augment(AugmentConfig(kind="diffaugment"))
    real, z = _images(4), _images(4, seed=1).flatten(1)
    torch.manual_seed(5)
    discriminator_step(G, D, opt_d, make_loss("minimax"), real, None, z, None, augment=aug)
    torch.manual_seed(5)
    want_real, want_fake = aug(real), aug(z.view(-1, 1, 12, 12))
    assert torch.equal(seen[0], want_real) and torch.equal(seen[1], want_fake)
    torch.manual_seed(7)
    generator_step(G, _Frozen(torch.nn.Identity(), D), torch.optim.SGD([w], lr=0.0),
                   make_loss("minimax"), z, None, augment=aug)
    torch.manual_seed(7)
    assert torch.equal(seen[2], aug(z.view(-1, 1, 12, 12)))
    assert not torch.equal(seen[2], z.view(-1, 1, 12, 12))


def test_ada_p_rises_when_d_is_sure_of_the_reals_and_falls_when_not():
    cfg = AugmentConfig(kind="ada", ada_target=0.6, ada_interval=2, ada_speed=1000, ada_p=0.5)
    aug = Augment(cfg)
    sure = torch.tensor([3.0, 2.0, 1.0, 4.0])  # r_t = 1 > 0.6: D overfits
    unsure = torch.tensor([3.0, -2.0, 1.0, -4.0])  # r_t = 0 < 0.6
    aug.observe(sure, 100)
    assert aug.p == 0.5  # adjusted every 2 D steps only
    aug.observe(sure, 100)
    assert aug.p == pytest.approx(0.7)  # + 100 * 2 / 1000
    for _ in range(4):
        aug.observe(unsure, 100)
    assert aug.p == pytest.approx(0.3)
    for _ in range(20):
        aug.observe(unsure, 100)
    assert aug.p == 0.0  # clamped
    fresh = Augment(AugmentConfig(kind="ada"))
    x = _images()
    assert torch.equal(fresh(x), x)  # p = 0: nothing is augmented


def test_off_builds_nothing_and_bad_settings_are_refused():
    assert make_augment(AugmentConfig()) is None
    cfg = load_config(REPO / "configs/mnist-dcgan.yaml")
    assert cfg.augment.kind == "none"
    for bad in ("augment.kind=mixup", "augment.policy=[flip]", "augment.ada_target=1.5"):
        with pytest.raises(GankitError, match="augment"):
            load_config(REPO / "configs/mnist-dcgan.yaml", [bad])
    with pytest.raises(GankitError, match="not made of images"):
        load_config(REPO / "configs/ring8.yaml", ["augment.kind=diffaugment"])


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs MNIST")
def test_ada_run_resumes_exactly_and_p_is_logged(tmp_path):
    from gankit.train.loop import Trainer
    from gankit.train.run import read_metrics

    extra = [*TINY_DCGAN, "data.n_train=64", "train.epochs=0", "augment.kind=ada",
             "augment.ada_speed=200", "augment.ada_interval=1", "train.eval_every=0"]
    cfg = lambda *o: load_config(REPO / "configs/mnist-dcgan.yaml", [*extra, *o])  # noqa: E731
    straight = Trainer(cfg("train.max_steps=6"), tmp_path / "straight")
    straight.run()
    Trainer(cfg("train.max_steps=3"), tmp_path / "resumed").run()
    resumed = Trainer(cfg("train.max_steps=6"), tmp_path / "resumed", resume=True)
    resumed.run()
    for a, b in zip(straight.state()["generator"].values(), resumed.state()["generator"].values(),
                    strict=True):
        assert torch.equal(a, b)
    assert straight.state()["augment"] == resumed.state()["augment"]
    assert 0 < straight.state()["augment"]["p"] <= 1  # D is sure of 64 images at once
    assert any("augment_p" in r for r in read_metrics(tmp_path / "straight"))
