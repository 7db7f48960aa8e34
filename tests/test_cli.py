"""The `gankit` command as a user meets it: train, sample, info, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import REPO, TINY
from gankit.cli import main


def _sets(*extra):
    args = []
    for item in [*TINY, *extra]:
        args += ["--set", item]
    return args


def test_train_sample_info(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(REPO / "configs/ring8.yaml"), "--run-dir", str(run), *_sets()]) == 0
    assert main(["sample", str(run), "--n", "16", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (16, 2)
    assert main(["sample", str(run), "--n", "100", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size[0] > 100
    capsys.readouterr()
    assert main(["info", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["status"]["step"] == 20 and info["config"]["name"] == "ring8"
    # Resume with more steps continues the same run.
    assert main(["train", "--resume", "--run-dir", str(run), "--set", "train.max_steps=25"]) == 0
    capsys.readouterr()
    main(["info", str(run), "--json"])
    assert json.loads(capsys.readouterr().out)["status"]["step"] == 25


def test_dry_run_prints_resolved_config(capsys):
    assert main(["train", str(REPO / "configs/mnist-paper.yaml"), "--dry-run", "--set", "train.k=2"]) == 0
    out = capsys.readouterr().out
    assert "k: 2" in out and "dataset: mnist" in out


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    cases = [
        ["train", str(REPO / "configs/ring8.yaml"), "--set", "train.bogus=1", "--dry-run"],
        ["train", str(tmp_path / "missing.yaml")],
        ["sample", str(tmp_path), "--n", "4", "--out", str(tmp_path / "x.png")],
        ["info", str(tmp_path / "nothing")],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("gankit: error: ") and "Traceback" not in err


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "gankit", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--resume" in out.stdout and "--set" in out.stdout
