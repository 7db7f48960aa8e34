"""Objective inpaint: masks, what G sees, what D sees, the L2 loss, exact resume, the viz verb."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from conftest import REPO, SHARED_MNIST, straight_and_resumed
from gankit.cli import main
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.data.masks import sample_masks
from gankit.errors import GankitError
from gankit.nets.inpaint import InpaintDiscriminator, InpaintGenerator
from gankit.train.inpaint import hidden_l2
from gankit.train.loop import Trainer
from gankit.train.run import load_run

TINY = ["generator.base=4", "discriminator.base=4", "generator.z_dim=8", "train.batch_size=16",
        "train.max_steps=6", "train.log_every=2", "train.progress=false", "train.threads=1",
        "train.n_sample_grid=16"]
SIZE = (28, 28)


def tiny_cfg(*extra: str):
    return load_config(REPO / "configs" / "mnist-inpaint.yaml", [*TINY, *extra])


def tiny_data(n: int = 64) -> TrainingData:
    g = torch.Generator().manual_seed(0)
    return TrainingData(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10, 10)


def _rect_ok(m: torch.Tensor) -> tuple[int, int]:
    """The hidden part of a 1 x H x W mask is one full rectangle; returns its (height, width)."""
    rows, cols = m[0].any(1).nonzero(), m[0].any(0).nonzero()
    h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
    assert int(m.sum()) == h * w
    return h, w


@pytest.mark.parametrize("kind,share", [("half", 0.5), ("top", 0.5), ("bottom", 0.5),
                                        ("left", 0.5), ("right", 0.5), ("quarter", 0.25),
                                        ("all", 1.0)])
def test_fixed_size_masks_cover_their_share(kind, share):
    masks = sample_masks(200, SIZE, [kind], [8, 16], torch.Generator().manual_seed(1))
    assert masks.shape == (200, 1, 28, 28)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(masks.mean((1, 2, 3)), torch.full((200,), share))
    for m in masks[:20]:
        _rect_ok(m)
    if kind in ("half", "quarter"):  # every side / quadrant is drawn
        assert len(torch.unique(masks.flatten(1), dim=0)) == 4
    if kind == "top":
        assert masks[:, :, :14].eq(1).all() and masks[:, :, 14:].eq(0).all()
    if kind == "left":
        assert masks[..., :14].eq(1).all() and masks[..., 14:].eq(0).all()


def test_boxes_have_sides_in_range_and_move_around():
    masks = sample_masks(300, SIZE, ["box"], [5, 9], torch.Generator().manual_seed(2))
    sides = [_rect_ok(m) for m in masks]
    assert all(5 <= h <= 9 and 5 <= w <= 9 for h, w in sides)
    assert {h for h, _ in sides} == set(range(5, 10))
    coverage = masks.mean(0)[0]
    for edge in (coverage[0], coverage[-1], coverage[:, 0], coverage[:, -1]):
        assert edge.max() > 0  # boxes reach every border


def test_a_mixture_draws_every_kind_and_the_same_stream_gives_the_same_masks():
    a = sample_masks(400, SIZE, ["half", "quarter", "all"], [8, 16], torch.Generator().manual_seed(3))
    b = sample_masks(400, SIZE, ["half", "quarter", "all"], [8, 16], torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert set(a.mean((1, 2, 3)).tolist()) == {0.25, 0.5, 1.0}


def _g() -> InpaintGenerator:
    torch.manual_seed(0)
    return InpaintGenerator(z_dim=8, channels=1, size=SIZE, base=4)


def test_hidden_pixels_never_reach_g_and_visible_pixels_are_kept():
    G = _g()
    seen = []
    fill = G.fill
    G.fill = lambda z, visible, mask: seen.append(visible.clone()) or fill(z, visible, mask)
    x = torch.rand(6, 1, 28, 28)
    mask = sample_masks(6, SIZE, ["half", "quarter", "box"], [8, 16])
    other = torch.where(mask > 0, torch.rand_like(x), x)  # differs only in hidden pixels
    poisoned = torch.where(mask > 0, torch.full_like(x, float("nan")), x)
    z = G.sample_z(6)
    outs = [G.complete(z, inp, mask) for inp in (x, other, poisoned)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    assert torch.equal(seen[0], seen[1]) and torch.equal(seen[0], seen[2])
    assert seen[0][mask > 0].eq(0).all()
    visible = mask == 0
    assert torch.equal(outs[0][visible], x[visible])
    assert not torch.equal(outs[0][~visible], x[~visible])  # hidden pixels are generated
    assert not torch.equal(G.complete(G.sample_z(6), x, mask), outs[0])  # and depend on z


def test_the_discriminator_judges_the_mask_too():
    torch.manual_seed(0)
    D = InpaintDiscriminator(1, SIZE, base=4, batch_norm=False).eval()
    x = torch.rand(4, 1, 28, 28)
    top, left = (sample_masks(4, SIZE, [k], [8, 16]) for k in ("top", "left"))
    assert not torch.equal(D(x, top), D(x, left))
    with pytest.raises(GankitError, match="pass the mask"):
        D(x)


def test_d_update_gives_d_the_same_masks_for_real_and_completed_images(tmp_path):
    t = Trainer(tiny_cfg(), tmp_path / "run", data=tiny_data())
    calls = []
    forward = t.objective.D.forward
    t.objective.D.forward = lambda x, mask=None: calls.append((x, mask)) or forward(x, mask)
    real = t.real_batch(0)[0]
    t.objective.d_update(t.real_batch(0), t.clock())
    (x_real, m_real), (x_fake, m_fake) = calls
    assert torch.equal(x_real, real) and torch.equal(m_real, m_fake)
    assert m_real.shape == (16, 1, 28, 28) and 0 < m_real.mean() < 1
    assert torch.equal(x_fake[m_fake.expand_as(x_fake) == 0], real[m_real.expand_as(real) == 0])


def test_hidden_l2_by_hand():
    real = torch.zeros(1, 1, 2, 2)
    completed = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert hidden_l2(completed, real, mask).item() == pytest.approx((2**2 + 3**2) / 2)


def test_l2_baseline_trains_without_d_and_completes_deterministically(tmp_path):
    t = Trainer(tiny_cfg("inpaint.adversarial=false"), tmp_path / "run", data=tiny_data())
    assert t.objective.D is None and not t.objective.adversarial
    t.run()
    run = load_run(tmp_path / "run")
    assert set(run.nets) == {"generator"}
    G, x = run.generator, torch.rand(3, 1, 28, 28)
    mask = sample_masks(3, SIZE, ["top"], [8, 16])
    assert torch.equal(G.complete(G.sample_z(3), x, mask), G.complete(G.sample_z(3), x, mask))


def test_exact_resume_equals_straight_run(tmp_path):
    data = tiny_data()
    straight, resumed = straight_and_resumed(tiny_cfg, tmp_path, data=data)
    a, b = straight.objective.state_dict(), resumed.objective.state_dict()
    for net in ("generator", "discriminator"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), (net, key)
    nets = load_run(tmp_path / "resumed").nets
    assert set(nets) == {"generator", "discriminator"}


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="shared MNIST not available")
def test_viz_inpaint_draws_rows_of_completions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_DATA_DIR", str(SHARED_MNIST))
    Trainer(tiny_cfg("train.max_steps=2"), tmp_path / "run", data=tiny_data()).run()
    out = tmp_path / "box.png"
    assert main(["viz", "inpaint", str(tmp_path / "run"), "--mask", "box", "--rows", "3",
                 "--k", "4", "--out", str(out)]) == 0
    width, height = Image.open(out).size
    assert (width, height) == (2 * (6 * 30 + 2), 2 * (3 * 30 + 2))  # 4 + 2 columns, 3 rows
    assert main(["viz", "inpaint", str(tmp_path / "run"), "--mask", "middle"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("override,message", [
    ("inpaint.masks=[half,middle]", r"inpaint.masks = 'middle' is not known"),
    ("inpaint.masks=[]", r"inpaint.masks is empty"),
    ("inpaint.box_size=[9,4]", r"inpaint.box_size = \[9, 4\] must be"),
    ("generator.kind=mlp generator.base=64", r"set generator.kind: dcgan"),
    ("train.ema=0.9", r"train.ema = 0.9 is not supported by objective inpaint"),
])
def test_bad_settings_are_one_line_errors(override, message):
    with pytest.raises(GankitError, match=message) as info:
        tiny_cfg(*override.split(" "))
    assert "\n" not in str(info.value)


def test_unconditional_samples_only_from_runs_trained_with_the_mask_all():
    torch.manual_seed(0)
    g = InpaintGenerator(8, 1, SIZE, base=4, unconditional=False)
    with pytest.raises(GankitError, match="not trained with the mask `all`"):
        g(g.sample_z(2))
    g.unconditional = True
    assert g(g.sample_z(2)).shape == (2, 1, 28, 28)
    with pytest.raises(GankitError, match="includes all"):
        tiny_cfg("train.eval_every=1")


def test_inpaint_settings_in_a_gan_config_are_refused():
    with pytest.raises(GankitError, match="only objective inpaint reads"):
        load_config(REPO / "configs" / "mnist-dcgan.yaml", ["inpaint.masks=[box]"])


def test_a_box_larger_than_the_images_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(GankitError, match="does not fit 28x28"):
        Trainer(tiny_cfg("inpaint.box_size=[8, 40]"), tmp_path / "run", data=tiny_data())
    assert not (tmp_path / "run").exists()
