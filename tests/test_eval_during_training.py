"""Metrics during training: train.eval_every writes eval records and leaves training unchanged."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.train.loop import Trainer
from gankit.train.run import read_metrics

TWO_EPOCHS = "train.max_steps=80"  # 2,000 points / batch 50 = 40 steps per epoch


def test_eval_every_logs_mode_metrics_without_changing_the_run(tmp_path):
    with_eval = Trainer(tiny_config(TWO_EPOCHS, "train.eval_every=1"), tmp_path / "a")
    with_eval.run()
    plain = Trainer(tiny_config(TWO_EPOCHS), tmp_path / "b")
    plain.run()

    evals = [r for r in read_metrics(tmp_path / "a") if "eval" in r]
    assert [r["epoch"] for r in evals] == [1, 2]
    assert [r["step"] for r in evals] == [40, 80]
    first = evals[0]["eval"]
    assert 0 <= first["modes"] <= 8 and 0.0 <= first["high_quality"] <= 100.0
    assert evals[0]["eval_protocol"]["n"] == 2500
    assert not [r for r in read_metrics(tmp_path / "b") if "eval" in r]
    # Evaluation draws its noise from its own generator and restores every RNG state.
    for p, q in zip(with_eval.G.state_dict().values(), plain.G.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_eval_every_skips_epochs_between_evaluations(tmp_path):
    trainer = Trainer(tiny_config("train.max_steps=120", "train.eval_every=2"), tmp_path / "r")
    trainer.run()
    # Epoch 2 by the interval, epoch 3 because it is the last.
    assert [r["epoch"] for r in read_metrics(tmp_path / "r") if "eval" in r] == [2, 3]


def test_unknown_eval_metric_fails_before_training(tmp_path):
    # The config check itself refuses it: before any trainer, data or folder exists.
    with pytest.raises(GankitError, match="'fid' is not a metric for ring; choose from modes"):
        tiny_config("train.eval_every=1", "train.eval_metrics=[fid]")


def test_eval_every_on_a_dataset_without_metrics_is_a_config_error():
    with pytest.raises(GankitError, match="train.eval_every needs a dataset with metrics"):
        load_config(None, ["data.dataset=gauss1d", "train.eval_every=1"])


def test_report_and_info_show_the_training_evaluations(tmp_path, capsys):
    from gankit.cli import main
    from gankit.report import build_report

    Trainer(tiny_config(TWO_EPOCHS, "train.eval_every=1"), tmp_path / "r").run()
    page = build_report(tmp_path / "r")
    section = page.split("<h3>During training</h3>")[1].split("<h2>")[0]
    assert section.count("<tr>") == 3  # the header and epochs 1 and 2
    assert "high_quality" in section and "n=2500" in section
    assert main(["info", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "2 epochs done" in out and "last evaluation (epoch 2, step 80)" in out


def test_resume_accepts_a_run_saved_before_a_config_key_existed(tmp_path):
    import yaml

    Trainer(tiny_config("train.max_steps=40"), tmp_path / "r").run()
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    del saved["train"]["eval_n"]  # as written by a gankit without this key
    (tmp_path / "r" / "config.yaml").write_text(yaml.safe_dump(saved))
    resumed = Trainer(tiny_config("train.max_steps=80", "train.eval_every=1"), tmp_path / "r",
                      resume=True)
    resumed.run()
    assert resumed.progress.g_steps == 80
    assert [r["epoch"] for r in read_metrics(tmp_path / "r") if "eval" in r] == [2]
