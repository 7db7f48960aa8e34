"""pix2pix: the U-Net's skips, the PatchGAN's receptive field and inputs, the objective's rules,
exact resume and `gankit translate`, on tiny paired folders."""

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, straight_and_resumed
from gankit.cli import main
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.nets.pix2pix import PatchDiscriminator, UNetGenerator, max_depth, receptive_field
from gankit.train.loop import Trainer
from gankit.train.run import load_run

CONFIG = REPO / "configs" / "mnist-sketch2digit.yaml"


@pytest.mark.parametrize("size, depth", [(28, 4), (32, 5), (64, 6)])
def test_unet_skips_join_maps_of_one_size_at_every_level(size, depth):
    g = UNetGenerator(1, 3, size, base=2).eval()
    a = torch.rand(2, 1, size, size)
    levels = g.levels(a)
    assert g.depth == max_depth(size) == depth == len(levels)
    assert levels[-1][0][-1] == 1  # the bottleneck is 1x1, as the paper's 256 -> 1
    expected = size
    for encoded, decoded in levels:
        expected //= 2
        assert encoded == decoded and encoded[-1] == expected  # 28 -> 14 -> 7 -> 3 -> 1
    assert g(a).shape == (2, 3, size, size)


def test_unet_output_depends_on_the_input_through_the_skips():
    """A change to one input pixel reaches the outermost skip and the output."""
    g = UNetGenerator(1, 1, 28, base=4, dropout=0.0).eval()
    a = torch.rand(1, 1, 28, 28)
    b = a.clone()
    b[0, 0, 5, 5] += 1.0
    _, skips_a, _ = g._run(a)
    _, skips_b, _ = g._run(b)
    assert not torch.equal(skips_a[0], skips_b[0])
    assert not torch.equal(g(a), g(b))


def test_patchgan_receptive_field_is_computed_and_nothing_outside_it_counts():
    assert receptive_field(PatchDiscriminator(1, 1, base=2, layers=3).net)[0] == 70  # the paper's
    d = PatchDiscriminator(1, 1, base=4, layers=1).eval()  # eval: batch norm is per-pixel affine
    extent, jump, offset = receptive_field(d.net)
    assert (extent, jump, offset) == (16, 2, -5)
    a, b = torch.rand(1, 1, 28, 28), torch.rand(1, 1, 28, 28)
    base = d(a, b)
    assert base.shape == (1, 1, 12, 12) and d.output_size(28) == 12
    i = j = 5  # patch (5, 5) sees rows and columns 5 .. 20
    lo, hi = i * jump + offset, i * jump + offset + extent - 1
    assert (lo, hi) == (5, 20)
    for r, c, inside in [(lo, 14, True), (hi, 14, True), (14, hi, True), (lo - 1, 14, False),
                         (hi + 1, 14, False), (14, hi + 1, False), (lo - 1, hi + 1, False)]:
        for image in ("a", "b"):  # both halves of the pair share the patch geometry
            aa, bb = a.clone(), b.clone()
            (aa if image == "a" else bb)[0, 0, r, c] += 1.0
            changed = not torch.equal(d(aa, bb)[0, 0, i, j], base[0, 0, i, j])
            assert changed == inside, (r, c, image)


def test_discriminator_sees_the_input_with_the_output():
    d = PatchDiscriminator(1, 1, base=4, layers=1).eval()
    a, b = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    assert not torch.allclose(d(a, b), d(torch.rand(2, 1, 28, 28), b))
    assert d.net[0].in_channels == 2  # (input, output) concatenated on channels


def _paired_folders(root, n=24, size=12):
    gen = torch.Generator().manual_seed(0)
    a, b = root / "a", root / "b"
    a.mkdir()
    b.mkdir()
    for i in range(n):
        x = (torch.rand(size, size, generator=gen) * 255).numpy().astype(np.uint8)
        Image.fromarray(x).save(a / f"im{i:02d}.png")
        Image.fromarray(255 - x).save(b / f"im{i:02d}.png")  # the task: invert
    return a, b


def _config(root, *extra):
    a, b = (root / "a", root / "b") if (root / "a").exists() else _paired_folders(root)
    return load_config(CONFIG, [
        "data.dataset=paired", f"data.dir_a={a}", f"data.dir_b={b}", "data.size=12",
        "pix2pix.g_base=4", "pix2pix.d_base=4", "train.batch_size=8", "train.epochs=0",
        "train.max_steps=6", "train.log_every=2", "train.progress=false",
        "train.n_sample_grid=8", *extra])


def test_exact_resume_equals_a_straight_run(tmp_path):
    """6 steps straight equal 3 + resume to 6, bit for bit (dropout and batch norm on)."""
    straight, resumed = straight_and_resumed(lambda *o: _config(tmp_path, *o), tmp_path)
    s, r = straight.state(), resumed.state()
    for net in ("generator", "discriminator"):
        for key in s[net]:
            assert torch.equal(s[net][key], r[net][key]), (net, key)
    assert straight.G.up[0].post[1].p == 0.5  # dropout was on


def test_l1_alone_trains_no_discriminator_and_the_run_loads(tmp_path):
    t = Trainer(_config(tmp_path, "pix2pix.adversarial_weight=0"), tmp_path / "run")
    d0 = [p.detach().clone() for p in t.D.parameters()]
    t.run()
    assert t.progress.g_steps == 6 and not t.objective.adversarial
    assert all(torch.equal(p, q) for p, q in zip(d0, t.D.parameters(), strict=True))
    run = load_run(tmp_path / "run")
    assert set(run.nets) == {"generator", "discriminator"}
    with pytest.raises(GankitError, match="gankit translate RUN"):
        run.sample(4)


@pytest.mark.parametrize("overrides, message", [
    (["data.dataset=mnist"], "objective pix2pix translates paired images"),
    (["pix2pix.l1_weight=0", "pix2pix.adversarial_weight=0"], "not both 0"),
    (["generator.z_dim=8"], "generator.z_dim is set, but objective pix2pix"),
    (["train.ema=0.9"], "does not support train.ema"),
    (["data.dir_a=x"], "read by data.dataset paired only"),
    (["data.dataset=paired", "data.dir=x"], "reads data.dir_a and data.dir_b"),
])
def test_config_errors(overrides, message):
    with pytest.raises(GankitError, match=message):
        load_config(CONFIG, overrides)


def test_paired_datasets_refuse_other_objectives():
    with pytest.raises(GankitError, match="only objective pix2pix reads the inputs"):
        load_config(REPO / "configs" / "mnist-dcgan.yaml", ["data.dataset=mnist-sketch"])


def test_translate_writes_one_png_per_input_with_its_name(tmp_path, capsys):
    Trainer(_config(tmp_path, "train.max_steps=2"), tmp_path / "run").run()
    images = tmp_path / "mine"
    images.mkdir()
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(images / "wide.jpg")
    Image.fromarray(np.full((12, 12), 200, np.uint8)).save(images / "sq.png")
    out = tmp_path / "out"
    assert main(["translate", str(tmp_path / "run"), "--images", str(images), "--out",
                 str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["sq.png", "wide.png"]
    assert Image.open(out / "wide.png").size == (12, 12)
    assert main(["translate", str(tmp_path / "run"), "--images", str(images / "sq.png"),
                 "--out", str(tmp_path / "one")]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["sq.png"]
    assert main(["translate", str(tmp_path / "run"), "--images", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "--images" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "s.png")]) == 2
    assert "use gankit translate" in capsys.readouterr().err
    assert main(["translate", str(tmp_path / "run"), "--images", str(images), "--out",
                 str(tmp_path / "y"), "--sketch"]) == 2
    assert "drop --sketch" in capsys.readouterr().err


@pytest.mark.slow
def test_mnist_sketch_run_translates_plain_digits_with_sketch(tmp_path):
    """The shipped config's data: inputs are the outlines of the training digits; --sketch
    outlines the user's digit images the same way."""
    from gankit.data.sketch import outline

    cfg = load_config(CONFIG, ["pix2pix.g_base=4", "pix2pix.d_base=4", "train.max_steps=2",
                               "train.progress=false", "train.n_sample_grid=4"])
    t = Trainer(cfg, tmp_path / "run")
    assert torch.equal(t.data.extras["input"], outline(t.data.x))
    t.run()
    digits = tmp_path / "digits"
    digits.mkdir()
    for i in range(3):
        Image.fromarray((t.data.x[i, 0] * 255).byte().numpy()).save(digits / f"d{i}.png")
    assert main(["translate", str(tmp_path / "run"), "--images", str(digits), "--out",
                 str(tmp_path / "out"), "--sketch"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["d0.png", "d1.png", "d2.png"]


def _bench():
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("pix2pix")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_benchmark_doc_renders_from_its_saved_results_and_its_verdict_is_computed():
    import copy
    import json

    bench = _bench()
    saved = json.loads((REPO / "docs/results/pix2pix.json").read_text())
    assert bench.render(saved) == (REPO / "docs/results/pix2pix.md").read_text()
    r, facts = copy.deepcopy(saved["results"]), saved["training"]
    truth = r["truth"]["grey_share"]
    r["l1"].update(grey_share=truth + 0.1, fd=20.0)
    r["l1gan"].update(grey_share=truth + 0.01, fd=5.0)
    r["l1cpu"].update(grey_share=truth + 0.05, fd=10.0)
    r["l1ganlong"].update(grey_share=truth + 0.01, fd=4.0)
    assert bench.lesson(r, facts).startswith("Shown here")
    r["l1cpu"].update(grey_share=truth, fd=1.0)  # L1 alone catches up given more steps
    assert bench.lesson(r, facts).startswith("Not shown here. At")
    r["l1"].update(grey_share=truth, fd=1.0)
    assert "restored no sharpness at either" in bench.lesson(r, facts)
    r["l1cpu"].update(grey_share=truth + 0.05, fd=10.0)
    assert bench.lesson(r, facts).startswith("Shown at")
