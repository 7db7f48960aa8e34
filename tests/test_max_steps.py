"""`--set train.max_steps=N` without `--set train.epochs` bounds the run by N steps alone."""

import json
from pathlib import Path

import yaml

from conftest import REPO
from gankit.cli import main


def _sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def _ring_argv(run: Path) -> list[str]:
    # ring8.yaml says epochs: 5; 200 points in batches of 50 are 4 steps an epoch, 20 in all.
    sets = ["data.n_train=200", "generator.hidden=[16]", "discriminator.hidden=[16]",
            "discriminator.pieces=2", "train.batch_size=50", "train.progress=false",
            "train.threads=1"]
    return ["train", str(REPO / "configs/ring8.yaml"), "--run-dir", str(run), *_sets(*sets)]


def test_max_steps_on_the_command_line_bounds_the_run_alone(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*_ring_argv(run), "--set", "train.max_steps=30"]) == 0
    status = json.loads((run / "run.json").read_text())
    assert status["step"] == 30 and status["epochs_done"] == 7.5  # not stopped at 20
    saved = yaml.safe_load((run / "config.yaml").read_text())["train"]
    assert saved["max_steps"] == 30 and saved["epochs"] == 0
    # Both limits given: whichever comes first, as the config file says them.
    both = tmp_path / "both"
    assert main([*_ring_argv(both), *_sets("train.max_steps=30", "train.epochs=5")]) == 0
    assert json.loads((both / "run.json").read_text())["step"] == 20
    # --dry-run shows it.
    capsys.readouterr()
    assert main([*_ring_argv(tmp_path / "dry"), "--set", "train.max_steps=30", "--dry-run"]) == 0
    assert "epochs: 0\n" in capsys.readouterr().out


def test_max_steps_zero_on_the_command_line_keeps_the_epochs(tmp_path, capsys):
    assert main([*_ring_argv(tmp_path / "r"), "--set", "train.max_steps=0", "--dry-run"]) == 0
    assert "epochs: 5\n" in capsys.readouterr().out
