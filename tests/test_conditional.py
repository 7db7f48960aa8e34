"""DCGAN configs with every loss, conditional runs, `gankit sample --label` and class grids.

Tiny widths and a synthetic 28x28 labelled set keep this fast; nothing here downloads MNIST.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY_DCGAN
from gankit.cli import main
from gankit.config import LOSS_NAMES, load_config
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.train.loop import Trainer
from gankit.train.run import load_run

REPO = Path(__file__).resolve().parents[1]
N_CLASSES = 10


def fake_mnist(n: int = 64, seed: int = 0) -> TrainingData:
    """Random 28x28 'digits' with labels 0..9: enough to exercise the training code."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.arange(n) % N_CLASSES
    return TrainingData(x, y, N_CLASSES)


def train_tiny(run_dir: Path, config: str, *overrides: str) -> Path:
    cfg = load_config(REPO / "configs" / config, [*TINY_DCGAN, *overrides])
    return Trainer(cfg, run_dir, data=fake_mnist()).run()


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("cdcgan") / "run", "mnist-cdcgan.yaml")


@pytest.mark.parametrize("config", ["mnist-dcgan.yaml", "mnist-cdcgan.yaml"])
def test_dcgan_configs_follow_radford_et_al(config: str) -> None:
    cfg = load_config(REPO / "configs" / config)
    assert cfg.generator.kind == cfg.discriminator.kind == "dcgan"
    assert cfg.loss == "non-saturating"
    assert cfg.optim.name == "adam" and cfg.optim.lr == pytest.approx(2e-4)
    assert cfg.optim.betas[0] == pytest.approx(0.5) and cfg.optim.lr_decay == 1.0
    assert cfg.train.batch_size in (64, 100)
    assert cfg.data.conditional == (config == "mnist-cdcgan.yaml")


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains_with_dcgan_nets(tmp_path: Path, loss: str, conditional: bool) -> None:
    extra = [f"loss={loss}", "train.epochs=0", "train.max_steps=2"]
    if loss == "wgan-gp":
        extra.append("discriminator.batch_norm=false")
    config = "mnist-cdcgan.yaml" if conditional else "mnist-dcgan.yaml"
    run_dir = train_tiny(tmp_path / "run", config, *extra)
    run = load_run(run_dir)
    assert run.step == 2
    samples = run.sample(6)
    assert samples.shape == (6, 1, 28, 28)
    assert torch.isfinite(samples).all() and samples.min() >= 0 and samples.max() <= 1


def test_wgan_gp_with_batch_norm_critic_is_refused() -> None:
    with pytest.raises(GankitError, match="discriminator.batch_norm=false"):
        load_config(REPO / "configs/mnist-dcgan.yaml", ["loss=wgan-gp"])


def test_stacked_mnist_config_is_valid() -> None:
    cfg = load_config(REPO / "configs/stacked-mnist-dcgan.yaml")
    assert cfg.data.dataset == "stacked-mnist" and not cfg.data.conditional
    assert cfg.generator.kind == "dcgan"


def test_sample_label_gives_only_that_class(conditional_run: Path, tmp_path: Path) -> None:
    run = load_run(conditional_run)
    sevens = run.sample(8, labels=7, seed=3)
    z = run.generator.sample_z(8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = run.generator(z, torch.full((8,), 7))
        other = run.generator(z, torch.full((8,), 1))
    assert torch.allclose(sevens, expected)
    assert not torch.allclose(sevens, other)  # the label does change the picture
    out = tmp_path / "sevens.png"
    assert (
        main(["sample", str(conditional_run), "--label", "7", "--n", "8", "--out", str(out)]) == 0
    )
    assert Image.open(out).size[0] > 0


def test_truncation_scales_the_noise_and_zero_gives_one_image_per_label(
        conditional_run: Path, tmp_path: Path) -> None:
    run = load_run(conditional_run)
    labels = torch.arange(20) % N_CLASSES
    z = run.generator.sample_z(20, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        half = run.generator(0.5 * z, labels)
    assert torch.equal(run.sample(20, seed=3, truncation=0.5), half)
    assert torch.equal(run.sample(20, seed=3, truncation=1), run.sample(20, seed=3))
    assert not torch.allclose(run.sample(20, seed=3), half)
    mean_images = run.sample(20, seed=3, truncation=0)
    assert torch.equal(mean_images[:N_CLASSES], mean_images[N_CLASSES:])  # z = 0: one per label
    assert not torch.allclose(mean_images[0], mean_images[1])
    out = tmp_path / "half.npy"
    assert main(["sample", str(conditional_run), "--n", "20", "--seed", "3", "--truncation",
                 "0.5", "--out", str(out)]) == 0
    assert torch.equal(torch.from_numpy(np.load(out)), half)


@pytest.mark.parametrize("label", ["10", "-1"])
def test_label_out_of_range_is_a_clear_error(
    conditional_run: Path, tmp_path: Path, label: str, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "x.png"
    code = main(["sample", str(conditional_run), f"--label={label}", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "out of range" in err and "0..9" in err
    assert not out.exists()


def test_label_for_an_unconditional_run_is_refused(tmp_path: Path) -> None:
    run_dir = train_tiny(
        tmp_path / "run", "mnist-dcgan.yaml", "train.epochs=0", "train.max_steps=1"
    )
    with pytest.raises(GankitError, match="not conditional"):
        load_run(run_dir).sample(4, labels=3)


def test_epoch_grid_has_one_class_per_column(conditional_run: Path) -> None:
    # 20 grid samples with labels 0..9 repeating and nrow = 10: two rows of the ten classes.
    grid = Image.open(conditional_run / "samples" / "epoch-0001.png")
    scale, pad, side = 2, 2, 28
    assert grid.size == (scale * (10 * (side + pad) + pad), scale * (2 * (side + pad) + pad))


def test_marginal_labels_follow_the_training_proportions() -> None:
    from gankit.data.dataset import marginal_labels

    y = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
    # 7 x (0.5, 0.3, 0.2) = (3.5, 2.1, 1.4): floors (3, 2, 1), the left-over one to the largest
    # remainder, class 0.
    assert marginal_labels(y, 3, 7).bincount(minlength=3).tolist() == [4, 2, 1]
    assert marginal_labels(y, 3, 10).bincount(minlength=3).tolist() == [5, 3, 2]
    # Interleaved: the first 5 labels already hold every class.
    assert set(marginal_labels(y, 3, 10)[:5].tolist()) == {0, 1, 2}
    # A class the training set lacks is never drawn, and n is kept exactly.
    skewed = marginal_labels(torch.tensor([1, 1, 1, 3]), 5, 1001)
    assert len(skewed) == 1001 and skewed.bincount(minlength=5).tolist() == [0, 751, 0, 250, 0]


def test_conditional_g_is_scored_with_the_training_label_proportions(
    conditional_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training's evaluations and `gankit eval RUN` score a conditional G as the mixture it
    learnt (sum_c p(c) p(x | c), p(c) the training marginal), not as equal counts per class."""
    import gankit.data.dataset as dataset
    import gankit.metrics.registry as registry
    from gankit.train.evaluation import evaluate_generator
    from gankit.train.run import Run

    counts = [10, 30, 5, 5, 10, 10, 5, 5, 10, 10]  # class 1 three times as frequent as class 0
    y = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
    data = TrainingData(torch.rand(len(y), 1, 28, 28), y, N_CLASSES)
    seen: list[torch.Tensor] = []
    real_sample = Run.sample

    def recording_sample(self, n, labels=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(self._labels(n, labels))
        return real_sample(self, n, labels=labels, **kwargs)

    def fake_evaluate(samples, names, dataset_name, **kwargs):  # type: ignore[no-untyped-def]
        return {"metrics": {"n": len(samples)}, "protocol": {}}

    out = conditional_run / "eval.json"

    monkeypatch.setattr(registry, "evaluate", fake_evaluate)
    monkeypatch.setattr(dataset, "load_training_data", lambda *a, **k: data)
    monkeypatch.setattr(Run, "sample", recording_sample)
    assert main(["eval", str(conditional_run), "--metrics", "fid", "--n", "100"]) == 0
    assert seen[-1].bincount(minlength=N_CLASSES).tolist() == counts
    assert json.loads(out.read_text())["protocol"]["labels"] == "training proportions"

    # (gankit.train is also the name of gankit's train() function, so import the module by name)
    evaluation = importlib.import_module("gankit.train.evaluation")
    drawn: list[torch.Tensor] = []
    monkeypatch.setattr(evaluation, "generate",
                        lambda G, n, labels, g, **k: drawn.append(labels) or torch.rand(n, 784))
    run = load_run(conditional_run)
    cfg = run.config
    cfg.train.eval_n = 100
    result = evaluate_generator(run.generator, cfg, data, N_CLASSES)
    assert drawn[-1].bincount(minlength=N_CLASSES).tolist() == counts
    assert result["protocol"]["labels"] == "training proportions"
    equal = evaluate_generator(run.generator, cfg, data, N_CLASSES,
                               labels=torch.arange(100) % N_CLASSES)
    assert drawn[-1].bincount(minlength=N_CLASSES).tolist() == [10] * N_CLASSES
    assert equal["protocol"]["labels"] == "equal per class"
