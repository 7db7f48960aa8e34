"""DiffAugment and ADA (gankit.augment): differentiable, applied to everything D sees in both
updates, ADA's p moving the right way, off = the steps as before, and an exact resume."""

from __future__ import annotations

import pytest
import torch

from conftest import REPO, SHARED_MNIST, TINY_DCGAN
from gankit.augment import Augment, AugmentConfig, AugmentedD, NoAugment, make_augment
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
    cutout = Augment(AugmentConfig(kind="diffaugment", policy=["cutout"], cutout=0.5))
    cut = cutout(torch.ones(3, 1, 8, 8))
    zeros = (cut == 0).sum(dim=(1, 2, 3))
    assert ((zeros >= 1) & (zeros <= 16)).all()  # a 4x4 square, clipped at the border


class _Recorder(torch.nn.Module):
    """A linear D that records every input it judges."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(144, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x, y=None):
        self.seen.append(x.detach().clone())
        return self.lin(x.flatten(1)).squeeze(1)


def test_generator_gradients_flow_through_the_augmentation():
    G = torch.nn.Sequential(torch.nn.Linear(4, 144), torch.nn.Unflatten(1, (1, 12, 12)))
    G2 = lambda z, y: G(z)  # noqa: E731  (the steps call G(z, y))
    D = AugmentedD(_Recorder(), Augment(AugmentConfig(kind="diffaugment")))
    before = [p.clone() for p in G.parameters()]
    generator_step(G2, D, torch.optim.SGD(G.parameters(), lr=0.1), make_loss("non-saturating"),
                   torch.randn(8, 4), None)
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))
    assert all(p.requires_grad for p in D.parameters())  # frozen only during G's step


def test_d_sees_the_augmented_batches_in_both_updates():
    G = lambda z, y: z.view(-1, 1, 12, 12)  # noqa: E731
    aug = Augment(AugmentConfig(kind="diffaugment"))
    D = AugmentedD(_Recorder(), aug)
    real, z = _images(4), _images(4, seed=1).flatten(1)
    loss = make_loss("minimax")
    torch.manual_seed(5)
    discriminator_step(G, D, torch.optim.SGD(D.parameters(), lr=0.0), loss, real, None, z, None)
    torch.manual_seed(5)
    want_real, want_fake = aug(real), aug(z.view(-1, 1, 12, 12))
    seen = D.net.seen
    assert torch.equal(seen[0], want_real) and torch.equal(seen[1], want_fake)
    torch.manual_seed(7)
    zg = z.clone().requires_grad_(True)  # G here has no weights: the graph starts at z
    generator_step(G, D, torch.optim.SGD([zg]), loss, zg, None)
    torch.manual_seed(7)
    assert torch.equal(seen[2], aug(z.view(-1, 1, 12, 12)))
    assert not torch.equal(seen[2], z.view(-1, 1, 12, 12))


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs MNIST")
def test_the_gan_wraps_d_only_when_augmentation_is_on():
    from gankit.data.dataset import load_training_data
    from gankit.train.gan import GANObjective

    for kind, wrapped in (("none", False), ("diffaugment", True)):
        cfg = load_config(REPO / "configs/mnist-dcgan.yaml",
                          [*TINY_DCGAN, "data.n_train=64", f"augment.kind={kind}"])
        gan = GANObjective(cfg, load_training_data(cfg.data), torch.device("cpu"))
        assert isinstance(gan.D_step, AugmentedD) is wrapped
        assert isinstance(gan.D_g, AugmentedD) is wrapped
        assert (gan.D_step is gan.D) is not wrapped


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
    assert isinstance(make_augment(AugmentConfig()), NoAugment)
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


def test_transforms_match_the_paper_in_gankits_zero_to_one_pixels():
    """Zhao et al.'s code works on [-1, 1] images: brightness U(-0.5, 0.5), contrast U(0.5, 1.5)
    about the image mean, a shift of up to 1/8 of the side per sample, a cut-out square of half
    the side. gankit's images are in [0, 1] (half the range), so brightness is U(-0.25, 0.25)."""
    torch.manual_seed(0)
    color = Augment(AugmentConfig(kind="diffaugment", policy=["color"]))
    flat = color(torch.full((2000, 1, 4, 4), 0.5))  # contrast leaves a flat image as it is
    shift = flat[:, 0, 0, 0] - 0.5
    assert torch.allclose(flat, flat[:, :, :1, :1].expand_as(flat))  # one shift per image
    assert shift.abs().max() <= 0.25 and shift.min() < -0.23 and shift.max() > 0.23
    two = torch.zeros(2000, 1, 2, 2)
    two[:, :, 0] = 1.0  # mean 0.5, half the pixels 0.5 above it
    spread = color(two)
    gain = (spread[:, 0, 0, 0] - spread[:, 0, 1, 0]) / 1.0  # brightness cancels in a difference
    assert gain.min() >= 0.5 - 1e-6 and gain.max() <= 1.5 + 1e-6 and gain.max() - gain.min() > 0.9

    dot = torch.zeros(400, 1, 28, 28)
    dot[:, 0, 14, 14] = 1.0
    moved = Augment(AugmentConfig(kind="diffaugment", policy=["translation"]))(dot)
    where = moved.flatten(1).argmax(dim=1)
    dy, dx = where // 28 - 14, where % 28 - 14
    assert (moved.flatten(1).sum(dim=1) == 1).all()  # nothing lost within 4 px of the centre
    assert set(dy.tolist()) == set(range(-4, 5)) == set(dx.tolist())  # per sample, 28 / 8 = 4 px
    cut = Augment(AugmentConfig(kind="diffaugment", policy=["cutout"]))(torch.ones(400, 1, 28, 28))
    holes = (cut == 0).flatten(1).sum(dim=1)
    assert holes.max() == 14 * 14 and holes.min() >= 7 * 7  # a 14-px square, clipped at the edge


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs MNIST")
def test_mnist_pixels_are_in_zero_to_one_as_the_transforms_assume():
    from gankit.data.dataset import load_training_data

    cfg = load_config(REPO / "configs/mnist-dcgan.yaml", [*TINY_DCGAN, "data.n_train=64"])
    x = load_training_data(cfg.data).x
    assert x.min() == 0 and x.max() == 1  # black background 0: translation and cutout fill it
