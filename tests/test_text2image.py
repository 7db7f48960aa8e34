"""Text to image (objective text2image): GAN-CLS's loss by hand, exact resume, load_run, and
`gankit sample --text` / `gankit viz text-interpolate` with their errors, on a tiny run."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import REPO
from gankit.cli import main
from gankit.config import load_config
from gankit.data import captions as C
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.train.text2image import gan_cls_d_loss, gan_int_g_loss

TINY_T2I = [
    "generator.z_dim=8", "generator.hidden=[16]", "discriminator.hidden=[16]",
    "text2image.word_dim=8", "text2image.embed_dim=4", "train.batch_size=16", "train.epochs=0",
    "train.max_steps=8", "train.log_every=2", "train.progress=false", "train.threads=1",
    "train.n_sample_grid=20",
]


def tiny_t2i(*overrides: str):
    return load_config(REPO / "configs/mnist-text2digit.yaml", [*TINY_T2I, *overrides])


def tiny_data(n: int = 64) -> TrainingData:
    """Random images with random labels and attributes: enough to run the objective. The
    config's held-out combinations are left out, as the mnist-captions loader does."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.arange(n) % 10
    attrs = torch.randint(3, (n, 3), generator=g)
    keep = ~C.held_out_mask(y, attrs, C.parse_held_out(["3:thin", "7:left"]))
    return TrainingData(x[keep], y[keep], 10, extras={"attributes": attrs[keep]})


def test_gan_cls_loss_by_hand():
    s_r, s_w, s_f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0]), torch.tensor([0.5, 0.0])

    def sp(v):  # softplus: -log sigmoid(-v) = -log(1 - sigmoid(v))
        return math.log1p(math.exp(v))

    real = (sp(-0.0) + sp(-2.0)) / 2  # -log D(x, right)
    wrong = (sp(1.0) + sp(-1.0)) / 2  # -log(1 - D(x, wrong))
    fake = (sp(0.5) + sp(0.0)) / 2  # -log(1 - D(G(z), right))
    expected = real + (wrong + fake) / 2
    assert gan_cls_d_loss(s_r, s_w, s_f).item() == pytest.approx(expected, rel=1e-6)
    g = gan_int_g_loss(s_f, s_w, 0.5).item()
    assert g == pytest.approx((sp(-0.5) + sp(0.0)) / 2 + 0.5 * (sp(-1.0) + sp(1.0)) / 2, rel=1e-6)
    assert gan_int_g_loss(s_f, None, 0.5).item() == pytest.approx((sp(-0.5) + sp(0.0)) / 2)


def test_exact_resume_equals_straight_run(tmp_path):
    data = tiny_data()
    straight = Trainer(tiny_t2i(), tmp_path / "straight", data=data)
    straight.run()
    Trainer(tiny_t2i("train.max_steps=4"), tmp_path / "resumed", data=data).run()
    resumed = Trainer(tiny_t2i(), tmp_path / "resumed", resume=True, data=data)
    assert resumed.progress.g_steps == 4
    resumed.run()
    for name in ("generator", "discriminator", "encoder"):
        a, b = straight.state()[name], resumed.state()[name]
        assert all(torch.equal(a[k], b[k]) for k in a), name
    # The encoder did learn (from D's loss), so equality above is not of untouched weights.
    fresh = Trainer(tiny_t2i(), tmp_path / "fresh", data=data).state()["encoder"]
    assert not all(torch.equal(fresh[k], straight.state()["encoder"][k]) for k in fresh)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("t2i") / "run"
    Trainer(tiny_t2i(), path, data=tiny_data()).run()
    return path


def test_load_run_and_sample_text(tiny_run, tmp_path):
    run = load_run(tiny_run)
    assert set(run.nets) == {"generator", "encoder", "discriminator"}
    assert run.sample(12).shape == (12, 1, 28, 28)  # no text: "zero", "one", ... in turn
    out = tmp_path / "grid.png"
    assert main(["sample", str(tiny_run), "--text", "a thin three leaning left", "--n", "16",
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    npy = tmp_path / "s.npy"
    main(["sample", str(tiny_run), "--text", "7", "--n", "4", "--out", str(npy)])
    import numpy as np

    a = np.load(npy)
    assert a.shape == (4, 1, 28, 28) and np.ptp(a, axis=0).max() > 0  # four different samples
    pic = tmp_path / "walk.png"
    assert main(["viz", "text-interpolate", str(tiny_run), "--from", "a thin one", "--to",
                 "a thick eight", "--rows", "2", "--steps", "5", "--out", str(pic)]) == 0
    assert pic.exists()


def test_sample_text_errors(tiny_run, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["sample", str(tiny_run), "--text", "a purple three", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "unknown word 'purple'" in err and "thick" in err and "captions.py" in err
    assert main(["sample", str(tiny_run), "--text", "a three", "--labels", "3",
                 "--out", str(out)]) != 0
    assert "--labels and --text" in capsys.readouterr().err
    assert not out.exists()


def test_text_on_a_run_without_text(tmp_path, capsys):
    from conftest import tiny_config

    path = tmp_path / "ring"
    Trainer(tiny_config("train.max_steps=2"), path).run()
    assert main(["sample", str(path), "--text", "a three", "--out", str(tmp_path / "a.png")]) != 0
    assert "needs a text-to-image run" in capsys.readouterr().err


def test_config_errors():
    with pytest.raises(GankitError, match="data.dataset: mnist-captions"):
        tiny_t2i("data.dataset=mnist", "data.held_out=[]")
    with pytest.raises(GankitError, match="data.held_out"):
        load_config(REPO / "configs/mnist-cdcgan.yaml", ["data.held_out=['3:thin']"])
    from gankit.config import validate

    cfg = tiny_t2i()
    cfg.discriminator.kind = "dcgan"
    cfg.discriminator.hidden = [240, 240]
    with pytest.raises(GankitError, match="discriminator.kind: mlp"):
        validate(cfg)


def test_held_out_config_is_saved_and_applied(tmp_path):
    cfg = tiny_t2i()
    assert cfg.data.held_out == ["3:thin", "7:left"]
    Trainer(cfg, tmp_path / "r", data=tiny_data()).run()
    assert "3:thin" in (tmp_path / "r" / "config.yaml").read_text()
    # Data that still holds a held-out image is refused once a minibatch brings it.
    g = torch.Generator().manual_seed(0)
    y = torch.full((32,), 3)
    bad = TrainingData(torch.rand(32, 1, 28, 28, generator=g), y, 10,
                       extras={"attributes": torch.tensor([[1, 0, 0]] * 32)})
    with pytest.raises(GankitError, match="held-out combination"):
        Trainer(cfg, tmp_path / "bad", data=bad).run()


def test_the_doc_renders_from_its_saved_results():
    import json
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    import text2image

    saved = json.loads((REPO / "docs/results/text2image.json").read_text())
    assert text2image.render(saved) == (REPO / "docs/results/text2image.md").read_text()
