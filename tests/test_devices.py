"""train.device: a device this machine cannot use is one line, and leaves no run folder behind."""

import pytest
import torch

from conftest import REPO, TINY
from gankit.cli import main


def _argv(run, *extra):
    args = ["train", str(REPO / "configs/ring8.yaml"), "--run-dir", str(run)]
    for item in [*TINY, "train.max_steps=3", *extra]:
        args += ["--set", item]
    return args


@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as a CPU-only PyTorch build sees it, even where a GPU is present."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("device", "says"),
    [
        ("cuda", "sees no CUDA GPU"),
        ("cuda:0", "sees no CUDA GPU"),
        ("gpu", "is not a device"),
        ("mps", "no Apple GPU"),
        ("CUDA", "is not a device"),
    ],
)
def test_unusable_device_is_one_line_and_leaves_nothing(tmp_path, capsys, cpu_only, device, says):
    run = tmp_path / "run"
    assert main(_argv(run, f"train.device={device}")) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: train.device") and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not run.exists()
    # The same --run-dir then works on the CPU.
    assert main(_argv(run, "train.device=cpu")) == 0
    assert (run / "checkpoint.pt").exists()


def test_cuda_index_beyond_the_machines_gpus_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    run = tmp_path / "run"
    assert main(_argv(run, "train.device=cuda:3")) == 2
    err = capsys.readouterr().err
    assert "1 CUDA GPU(s) (cuda:0..cuda:0)" in err and err.count("\n") == 1
    assert not run.exists()


def test_resume_on_an_unusable_device_leaves_the_run_as_it_was(tmp_path, capsys, cpu_only):
    run = tmp_path / "run"
    assert main(_argv(run)) == 0
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    argv = ["train", "--resume", "--run-dir", str(run), "--set", "train.device=cuda",
            "--set", "train.max_steps=6"]
    assert main(argv) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
