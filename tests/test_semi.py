"""objective: semi (Salimans et al. 2016): its losses, its labelled subset, exact resume and
`gankit eval --metrics accuracy` on the run's D."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import REPO
from gankit.cli import main
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.losses import d_loss_semi, g_loss_feature_matching, real_fake_logit
from gankit.metrics import registry
from gankit.train import semi as semi_module
from gankit.train.checkpoint import load_checkpoint
from gankit.train.loop import Trainer
from gankit.train.semi import select_labelled

SEMI = REPO / "configs" / "mnist-semi-100.yaml"
TINY_SEMI = ["semi.hidden=[16]", "semi.labels=20", "generator.hidden=[16]", "train.epochs=0",
             "train.max_steps=8", "train.batch_size=20", "train.log_every=2",
             "train.progress=false", "train.threads=1", "train.n_sample_grid=10"]


def tiny_data(n: int = 200, side: int = 28, seed: int = 0) -> TrainingData:
    """Random 'images' with labels 0..9 (so no MNIST file is read to train)."""
    g = torch.Generator().manual_seed(seed)
    return TrainingData(torch.rand(n, 1, side, side, generator=g), torch.arange(n) % 10, 10)


def semi_config(*overrides: str):
    return load_config(SEMI, [*TINY_SEMI, *overrides])


# --- the losses -----------------------------------------------------------------------------
def test_the_k_plus_1_loss_on_a_hand_computed_case():
    labelled = torch.tensor([[0.0, math.log(3.0)]])  # p(class 1) = 3/4: CE = log(4/3)
    unlabelled = torch.tensor([[0.0, 0.0]])  # Z = 2: D(x) = 2/3, -log D(x) = log(3/2)
    fake = torch.full((1, 2), math.log(0.5))  # Z = 1: D = 1/2, -log(1 - D) = log 2
    assert real_fake_logit(unlabelled).item() == pytest.approx(math.log(2.0))
    total = d_loss_semi(labelled, torch.tensor([1]), unlabelled, fake)
    assert total.item() == pytest.approx(math.log(4 / 3 * 3 / 2 * 2))  # = log 4
    half = d_loss_semi(labelled, torch.tensor([1]), unlabelled, fake, unlabelled_weight=0.5)
    assert half.item() == pytest.approx(math.log(4 / 3) + 0.5 * math.log(3.0))


def test_feature_matching_on_a_hand_computed_case():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)  # mean (1, 1)
    loss = g_loss_feature_matching(real, fake)
    assert loss.item() == pytest.approx(1.0 + 4.0)
    loss.backward()  # d/dfake_i = -2 (mean_real - mean_fake) / n
    assert torch.allclose(fake.grad, torch.tensor([[-1.0, -2.0], [-1.0, -2.0]]))


# --- the labelled subset --------------------------------------------------------------------
def test_labelled_subset_is_ten_per_class_and_a_function_of_its_seed():
    y = torch.randint(10, (5000,), generator=torch.Generator().manual_seed(3))
    a = select_labelled(y, 100, 10, seed=0)
    assert y[a].bincount(minlength=10).tolist() == [10] * 10
    assert len(set(a.tolist())) == 100 and torch.equal(a, a.sort().values)
    assert torch.equal(a, select_labelled(y, 100, 10, seed=0))
    assert not torch.equal(a, select_labelled(y, 100, 10, seed=1))


def test_labelled_subset_is_saved_and_resumed_exactly_and_never_grows(tmp_path, monkeypatch):
    data = tiny_data()
    run = tmp_path / "run"
    Trainer(semi_config("train.max_steps=2", "semi.label_seed=4"), run, data=data).run()
    saved = json.loads((run / "labelled.json").read_text())
    expected = select_labelled(data.y, 20, 10, seed=4)
    assert saved["indices"] == expected.tolist() and saved["per_class"] == [2] * 10
    assert torch.equal(load_checkpoint(run / "checkpoint.pt")["labelled"], expected)
    # A resume uses the saved images even if a draw today would give others.
    monkeypatch.setattr(semi_module, "select_labelled", lambda y, n, k, seed: expected.flip(0)[:n])
    resumed = Trainer(semi_config("train.max_steps=4", "semi.label_seed=4"), run, resume=True,
                      data=data)
    assert torch.equal(resumed.objective.labelled, expected)
    resumed.run()
    assert json.loads((run / "labelled.json").read_text())["indices"] == expected.tolist()
    for change in ("semi.labels=40", "semi.label_seed=5"):
        with pytest.raises(GankitError, match="labelled subset never changes") as info:
            Trainer(semi_config("train.max_steps=4", "semi.label_seed=4", change), run,
                    resume=True, force=True, data=data)
        assert "\n" not in str(info.value)


def test_the_labels_of_unlabelled_images_are_never_read(tmp_path, monkeypatch):
    # Drawing 2 per class reads every label (as the paper's split does); training must not.
    data = tiny_data()
    keep = select_labelled(data.y, 20, 10, seed=0)
    monkeypatch.setattr(semi_module, "select_labelled", lambda y, n, k, seed: keep)
    shuffled = torch.randint(10, data.y.shape, generator=torch.Generator().manual_seed(1))
    shuffled[keep] = data.y[keep]  # the same 20 labelled images, every other label changed
    a = Trainer(semi_config(), tmp_path / "a", data=data)
    a.run()
    b = Trainer(semi_config(), tmp_path / "b", data=TrainingData(data.x, shuffled, 10))
    b.run()
    for p, q in zip(a.D.parameters(), b.D.parameters(), strict=True):
        assert torch.equal(p, q)


# --- the run --------------------------------------------------------------------------------
def test_exact_resume_equals_straight_run(tmp_path):
    data = tiny_data()
    straight = Trainer(semi_config(), tmp_path / "straight", data=data)
    straight.run()
    Trainer(semi_config("train.max_steps=4"), tmp_path / "resumed", data=data).run()
    resumed = Trainer(semi_config(), tmp_path / "resumed", resume=True, data=data)
    assert resumed.progress.g_steps == 4
    resumed.run()
    for net in ("G", "D"):
        for p, q in zip(getattr(straight, net).state_dict().values(),
                        getattr(resumed, net).state_dict().values(), strict=True):
            assert torch.equal(p, q), net
    a, b = straight.objective.opt_d.state_dict(), resumed.objective.opt_d.state_dict()
    assert all(torch.equal(a["state"][i]["exp_avg"], b["state"][i]["exp_avg"]) for i in a["state"])


@pytest.mark.parametrize("override, message", [
    ("loss=hinge", "loss is set, but objective semi does not read it"),
    ("discriminator.hidden=[8]", "discriminator.hidden is set, but objective semi"),
    ("data.conditional=true", "data.conditional is set"),
    ("semi.generator_loss=l2", "semi.generator_loss = 'l2' is not known"),
    ("semi.input_noise=-1", "semi.input_noise = -1.0 must be a number >= 0"),
])
def test_bad_semi_configs_are_one_line_errors(override, message):
    with pytest.raises(GankitError) as info:
        semi_config(override)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_semi_settings_in_a_gan_config_are_refused():
    with pytest.raises(GankitError, match="only objective semi reads the semi: section"):
        load_config(REPO / "configs/mnist-paper-fast.yaml", ["semi.labels=50"])


def test_labels_that_cannot_be_drawn_per_class_are_refused(tmp_path):
    for labels in (15, 300):  # not a multiple of 10 / more than the 20 images of each class
        with pytest.raises(GankitError, match=f"semi.labels = {labels} must be a multiple"):
            Trainer(semi_config(f"semi.labels={labels}"), tmp_path / "r", data=tiny_data())
        assert not (tmp_path / "r").exists()


# --- gankit eval --metrics accuracy ---------------------------------------------------------
def test_eval_accuracy_prints_the_test_error_of_d(tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(semi_config("train.max_steps=2"), run, data=tiny_data()).run()
    capsys.readouterr()
    assert main(["eval", str(run), "--metrics", "accuracy", "--n", "300"]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "test_error:" in out and "accuracy_n=300" in out
    result = json.loads((run / "eval.json").read_text())
    m = result["metrics"]
    assert tuple(m) == registry.find("accuracy", "mnist").outputs
    assert 0 <= m["errors"] <= 300 and m["test_error"] == pytest.approx(100 * m["errors"] / 300)
    assert m["accuracy"] == pytest.approx(100 - m["test_error"])
    assert set(result["protocol"]) <= set(registry.find("accuracy", "mnist").protocol)


def test_eval_accuracy_bad_inputs_are_one_line_errors(tmp_path, capsys):
    gan = tmp_path / "gan"
    cfg = load_config(REPO / "configs/mnist-paper-fast.yaml",
                      ["generator.hidden=[16]", "discriminator.hidden=[8]", "train.epochs=0",
                       "train.max_steps=1", "train.batch_size=20", "train.progress=false",
                       "train.ema=0", "train.ema_warmup=false", "train.n_sample_grid=10"])
    Trainer(cfg, gan, data=tiny_data()).run()
    samples = tmp_path / "s.npy"
    np.save(samples, np.random.rand(200, 1, 28, 28).astype("float32"))
    for argv, message in (
        (["eval", str(gan), "--metrics", "accuracy"], "has only a real/fake output"),
        (["eval", "--samples", str(samples), "--metrics", "accuracy"],
         "scores a run's discriminator, not samples"),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    with pytest.raises(GankitError, match="not a metric for mnist during training"):
        registry.check_metrics(["accuracy"], "mnist", training=True)


# --- the benchmark's doc --------------------------------------------------------------------
def _bench():
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("semi")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_the_goal_is_claimed_only_when_measured_within_its_budget():
    bench = _bench()
    assert bench.goal_text([100, 110, 120], 80.0).startswith("met: measured 1.10 % ± 0.06")
    assert bench.goal_text([140, 150, 160], 80.0).startswith("not met")  # 1.5 within 2 s.e.
    short = bench.goal_text([100, 110, 120], 10.0)  # good enough, on less than the budget
    assert short.startswith("met")
    slow = bench.goal_text([900, 950, 1000], 10.0)
    assert slow.startswith("not run at its full budget") and "9.50 %" in slow
    assert bench.goal_text([900, 950, 1000], 200.0).startswith("not met")
    assert "over the budget" in bench.goal_text([900, 950, 1000], 200.0)
    assert "within the budget" in bench.goal_text([160, 170, 180], 50.0)


def test_the_semi_doc_renders_byte_for_byte_from_its_saved_results():
    bench = _bench()
    saved = json.loads((REPO / "docs/results/semi.json").read_text())
    assert bench.render(saved) == (REPO / "docs/results/semi.md").read_text()


def test_the_config_people_see_has_the_semi_section_only_in_semi_runs():
    from gankit.config import config_as_read, config_to_dict

    gan = config_as_read(config_to_dict(load_config(REPO / "configs/mnist-paper-fast.yaml")))
    assert "semi" not in gan and "train" in gan
    assert config_as_read(config_to_dict(semi_config()))["semi"]["labels"] == 20
