"""BiGAN/ALI (objective bigan) and its autoencoder baseline: shapes, D's joint pairs, the losses
by hand, exact resume, `gankit encode` / `gankit viz reconstruct`, and bad inputs."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, straight_and_resumed
from gankit.cli import main
from gankit.config import load_config, validate
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.train.bigan import bigan_d_loss, bigan_ge_loss, build_nets
from gankit.train.loop import Trainer
from gankit.train.run import load_run

TINY = ["generator.hidden=[16]", "generator.z_dim=4", "discriminator.hidden=[16]",
        "bigan.encoder_hidden=[16]", "bigan.encoder_batch_norm=false",
        "generator.batch_norm=false", "train.batch_size=10", "train.epochs=0",
        "train.max_steps=6", "train.log_every=2", "train.progress=false", "train.threads=1",
        "train.n_sample_grid=8"]


def tiny(*overrides: str, base: str = "configs/mnist-bigan.yaml"):
    return load_config(REPO / base, [*TINY, *overrides])


def fake_mnist(n: int = 40) -> TrainingData:
    g = torch.Generator().manual_seed(1)
    return TrainingData(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10, 10)


def trained(tmp_path, *overrides: str, base: str = "configs/mnist-bigan.yaml"):
    run_dir = tmp_path / "run"
    Trainer(tiny(*overrides, base=base), run_dir, data=fake_mnist()).run()
    return run_dir


def test_shapes():
    nets = build_nets(tiny(), (1, 28, 28))
    G, E, D = nets["generator"], nets["encoder"], nets["discriminator"]
    x, z = torch.rand(5, 1, 28, 28), G.sample_z(5)
    assert z.shape == (5, 4)
    assert E(x).shape == (5, 4)
    assert G(z).shape == (5, 1, 28, 28)
    assert D(x, z).shape == (5,)
    with pytest.raises(ValueError, match="one code per image"):
        D(x, z[:4])


class Recorder(torch.nn.Module):
    """Wraps D and keeps every (x, z) it is shown."""

    def __init__(self, D: torch.nn.Module):
        super().__init__()
        self.D, self.seen = D, []

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        self.seen.append((x.detach().clone(), z.detach().clone()))
        return self.D(x, z)


@pytest.mark.parametrize("update", ["d", "g"])
def test_d_sees_each_image_with_its_own_code(tmp_path, update):
    """Row i of D's real input is (x_i, E(x_i)) and of its fake input (G(z_i), z_i): a shuffle of
    the codes against the images would fail the per-row comparison below."""
    t = Trainer(tiny(), tmp_path / "run", data=fake_mnist())
    obj = t.objective
    obj.D = Recorder(obj.D)
    batch = t.real_batch(0)
    E, G = copy.deepcopy(obj.E).eval(), copy.deepcopy(obj.G).eval()  # as D saw them
    if update == "d":
        stats = obj.d_update(batch, t.clock())
    else:
        stats = obj.g_update(t.clock(), batch)
    (x_real, z_real), (x_fake, z_fake) = obj.D.seen
    assert torch.equal(x_real, batch[0])
    with torch.no_grad():
        for i in range(len(x_real)):  # one row at a time: no other row can reach row i
            assert torch.allclose(z_real[i], E(x_real[i : i + 1])[0], atol=1e-6)
            assert torch.allclose(x_fake[i], G(z_fake[i : i + 1])[0], atol=1e-6)
        # The shuffled pairing is a different pairing (so the check above can fail).
        assert not torch.allclose(z_real[1:], E(x_real[:-1]), atol=1e-3)
        # And D scores each pair on its own: row i of D(x, z) is D(x_i, z_i).
        obj.D.D.eval()
        whole = obj.D.D(x_real, z_real)
        rows = torch.cat([obj.D.D(x_real[i : i + 1], z_real[i : i + 1]) for i in range(3)])
        assert torch.allclose(whole[:3], rows, atol=1e-6)
    assert torch.isfinite(stats["d_loss" if update == "d" else "g_loss"])


def test_losses_by_hand():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])

    def sp(v: float) -> float:
        return math.log1p(math.exp(v))  # softplus: -log sigmoid(-v)

    # D: real pairs labelled 1, fake pairs 0.
    d = (sp(-0.0) + sp(-2.0)) / 2 + (sp(1.0) + sp(-1.0)) / 2
    # G and E: the labels inverted.
    ge = (sp(0.0) + sp(2.0)) / 2 + (sp(-1.0) + sp(1.0)) / 2
    assert bigan_d_loss(real, fake).item() == pytest.approx(d, rel=1e-6)
    assert bigan_ge_loss(real, fake).item() == pytest.approx(ge, rel=1e-6)


def test_g_update_changes_g_and_e_but_not_d(tmp_path):
    t = Trainer(tiny(), tmp_path / "run", data=fake_mnist())
    obj = t.objective
    before = {n: [p.clone() for p in net.parameters()] for n, net in
              (("G", obj.G), ("E", obj.E), ("D", obj.D))}
    obj.g_update(t.clock(), t.real_batch(0))
    moved = {n: any(not torch.equal(a, b) for a, b in zip(before[n], net.parameters(), strict=True))
             for n, net in (("G", obj.G), ("E", obj.E), ("D", obj.D))}
    assert moved == {"G": True, "E": True, "D": False}


@pytest.mark.parametrize("base", ["configs/mnist-bigan.yaml", "configs/mnist-autoencoder.yaml"])
def test_exact_resume_equals_straight_run(tmp_path, base):
    extra = ["bigan.encoder_batch_norm=true"]
    data = fake_mnist()
    straight, resumed = straight_and_resumed(lambda *o: tiny(*extra, *o, base=base), tmp_path,
                                             data=data)
    a, b = straight.objective.state_dict(), resumed.objective.state_dict()
    nets = ["generator", "encoder"] + (["discriminator"] if "bigan" in base else [])
    for name in nets:
        for key, value in a[name].items():
            assert torch.equal(value, b[name][key]), (name, key)
    assert str(a["opt_g"]["state"]) == str(b["opt_g"]["state"])


def test_load_run_rebuilds_generator_encoder_discriminator(tmp_path):
    run = load_run(trained(tmp_path))
    assert set(run.nets) == {"generator", "encoder", "discriminator"}
    assert run.sample(3).shape == (3, 1, 28, 28)
    ae = load_run(trained(tmp_path / "ae", base="configs/mnist-autoencoder.yaml"))
    assert set(ae.nets) == {"generator", "encoder"}


def test_encode_and_reconstruct_verbs(tmp_path, capsys):
    run_dir = trained(tmp_path)
    images = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    np.save(tmp_path / "x.npy", images.numpy())
    assert main(["encode", str(run_dir), "--images", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "z.npy")]) == 0
    z = np.load(tmp_path / "z.npy")
    E = load_run(run_dir).nets["encoder"]
    with torch.no_grad():
        assert np.allclose(z, E(images).numpy(), atol=1e-6)
    Image.fromarray((images[0, 0].numpy() * 255).astype(np.uint8)).save(tmp_path / "one.png")
    assert main(["encode", str(run_dir), "--images", str(tmp_path / "one.png"),
                 "--out", str(tmp_path / "z1.npy")]) == 0
    assert np.load(tmp_path / "z1.npy").shape == (1, 4)
    assert main(["encode", str(run_dir), "--split", "test", "--out", str(tmp_path / "zt.npy")]) == 0
    assert np.load(tmp_path / "zt.npy").shape == (10_000, 4)
    out = tmp_path / "recon.png"
    assert main(["viz", "reconstruct", str(run_dir), "--out", str(out), "--n", "5"]) == 0
    # 2 pairs of rows of 5 digits, 28 px + 2 px padding, drawn at twice the size.
    assert Image.open(out).size == (2 * (5 * 30 + 2), 2 * (4 * 30 + 2))


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing.npy", r"--images .*missing.npy does not exist"),
    (lambda d: (np.save(d / "bad.npy", np.zeros((3, 28, 28), np.float32)), d / "bad.npy")[1],
     r"shape 3 x 28 x 28; this run needs N x 1 x 28 x 28"),
    (lambda d: (np.save(d / "big.npy", np.full((2, 1, 28, 28), 255.0)), d / "big.npy")[1],
     r"outside \[0, 1\]"),
    (lambda d: ((d / "x.txt").write_text("1"), d / "x.txt")[1], r"name a .npy array"),
])
def test_bad_images_are_one_line_errors(tmp_path, capsys, make, expected):
    run_dir = trained(tmp_path)
    capsys.readouterr()
    assert main(["encode", str(run_dir), "--images", str(make(tmp_path)),
                 "--out", str(tmp_path / "z.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gankit: error: ")
    assert re.search(expected, err), err
    assert not (tmp_path / "z.npy").exists()


def test_a_run_without_an_encoder_is_refused(tmp_path, capsys):
    from conftest import tiny_config

    run_dir = tmp_path / "gan"
    Trainer(tiny_config("train.max_steps=2"), run_dir).run()
    capsys.readouterr()
    assert main(["encode", str(run_dir), "--split", "test", "--out", str(tmp_path / "z.npy")]) == 2
    assert "has no encoder" in capsys.readouterr().err


@pytest.mark.parametrize("override, expected", [
    ("loss=wgan", "needs loss non-saturating"),
    ("train.update=simultaneous", "needs train.update alternating"),
    ("bigan.encoder_hidden=[]", "bigan.encoder_hidden"),
    ("data.conditional=true", "needs data.conditional=false"),
])
def test_unsupported_settings_are_refused(override, expected):
    with pytest.raises(GankitError, match=expected):
        validate(tiny(override))


def test_bigan_settings_in_a_gan_config_are_refused():
    from conftest import tiny_config

    with pytest.raises(GankitError, match="only objective bigan or autoencoder reads"):
        validate(tiny_config("bigan.encoder_hidden=[8]"))


def _bench(name: str):
    import importlib
    import sys

    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(name)


def test_benchmark_scores_on_a_toy_problem():
    bench = _bench("bigan")
    train = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    train_y, test_y = torch.tensor([0, 0, 1, 1]), torch.tensor([1, 0])
    test = torch.tensor([[4.9, 5.2], [0.2, -0.1]])
    assert bench.one_nn_accuracy(train, train_y, test, test_y) == 1.0
    assert bench.one_nn_accuracy(train, 1 - train_y, test, test_y) == 0.0
    assert bench.linear_probe_accuracy(train, train_y, test, test_y, n_classes=2) == 1.0


def test_benchmark_doc_says_when_the_budgets_differ_and_computes_the_verdicts():
    report = _bench("bigan_report")
    model = {"knn": 0.95, "probe": 0.90, "recon_class": 0.8, "recon_mse": 0.02,
             "train_cpu_s": 100.0, "eval_cpu_s": 10.0, "steps": 600}
    r = {"steps": 600, "models": {"bigan": dict(model, knn=0.97),
                                  "autoencoder": dict(model, steps=500, train_cpu_s=None)},
         "pixels": {"knn": 0.96, "probe": 0.92, "recon_class": 0.99, "eval_cpu_s": 5.0},
         "untrained": {"knn": 0.9, "probe": 0.8, "eval_cpu_s": 1.0},
         "pictures": ["a.png", "b.png"], "date": "d", "machine": "m", "load": "l",
         "command": "c"}
    doc = report.render_doc(r)
    assert "not run at its full, equal budget" in doc
    assert "1-NN accuracy above the autoencoder's: met: 97.00" in doc
    assert "linear probe above the autoencoder's: not met" in doc
    assert "above the published 97.39 % (different protocol and a far smaller budget): not met" in doc
    r["models"]["autoencoder"]["steps"] = 600
    assert "Budget: 600 updates of G and E per model" in report.render_doc(r)


def test_bigan_doc_renders_byte_for_byte_from_its_saved_results():
    """docs/results/bigan.md is what bigan_report.py makes of the saved results (a copy of the
    run's RUNS/bigan.json in tests/data/benchmarks/): no number in it is typed by hand."""
    import json

    report = _bench("bigan_report")
    saved = json.loads((REPO / "tests/data/benchmarks/bigan.json").read_text())
    assert report.render_doc(saved) == (REPO / "docs/results/bigan.md").read_text()
