"""The `gankit` command as a user meets it: train, sample, info, one-line errors, its verb table."""

import io
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gankit
from conftest import REPO, TINY, tiny_config
from gankit import cli, commands
from gankit.cli import main
from gankit.commands import viz
from gankit.report import build_report
from gankit.train.loop import train
from gankit.train.run import run_summary


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


def _subprocess_env() -> dict[str, str]:
    # The gankit under test, whether it is installed or only on PYTHONPATH.
    src = str(Path(gankit.__file__).resolve().parents[1])
    path = [src, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tiny_config(), tmp_path_factory.mktemp("cli") / "run")


def test_verb_table_lists_exactly_the_verb_modules():
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__)}
    verbs = {m for m in modules if not m.startswith("viz_")}
    assert set(cli.VERBS) == verbs
    assert all(module == f"gankit.commands.{verb}" for verb, module in cli.VERBS.items())
    # A picture's name is its module's, with "-" for "_" (text-interpolate: viz_text_interpolate).
    assert set(viz.PICTURES) == {m.removeprefix("viz_").replace("_", "-") for m in modules
                                 if m.startswith("viz_")}
    assert all(module == f"gankit.commands.viz_{p.replace('-', '_')}"
               for p, module in viz.PICTURES.items())


def test_help_shows_every_verb_and_picture(capsys):
    for argv, names in ((["--help"], cli.VERBS), (["viz", "--help"], viz.PICTURES)):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        for name in names:
            assert re.search(rf"^\s+{name}\s", out, re.M), f"{name} missing from {argv}"


def test_a_listed_module_that_does_not_exist_fails_loudly(monkeypatch):
    monkeypatch.setitem(cli.VERBS, "bogus", "gankit.commands.bogus")
    with pytest.raises(ImportError, match="gankit.commands.bogus"):
        main(["--help"])
    monkeypatch.delitem(cli.VERBS, "bogus")
    monkeypatch.setitem(viz.PICTURES, "bogus", "gankit.commands.viz_bogus")
    with pytest.raises(ImportError, match="gankit.commands.viz_bogus"):
        main(["info", "anything"])


def test_info_and_report_header_show_one_summary(tiny_run, capsys):
    assert main(["info", str(tiny_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    # The contract: the first five keys as they always were; later keys are only ever added.
    assert list(info) == ["run", "config", "status", "last_metrics", "last_eval", "warnings"]
    assert info == json.loads(json.dumps(run_summary(tiny_run)))
    assert info["status"]["step"] == 20 and info["last_metrics"]["step"] == 20
    assert main(["info", str(tiny_run)]) == 0
    progress = re.search(r"^progress: (.*)$", capsys.readouterr().out, re.M).group(1)
    assert "generator step 20" in progress
    assert f"{info['status']['epochs_done']:g} epochs done" in progress
    header = re.search(r'<p class="meta">(.*?)</p>', build_report(tiny_run)).group(1)
    assert header.startswith(f"{tiny_run} &middot; {progress} &middot; report made ")


def test_info_and_the_report_header_show_the_health_warnings(tiny_run, tmp_path, capsys):
    # Issue 13: a collapsed run's report said nothing at the top and `info` nothing at all.
    import shutil

    from gankit.train import run as runs

    tiny_run = Path(shutil.copytree(tiny_run, tmp_path / "run"))  # the fixture is shared
    assert main(["info", str(tiny_run)]) == 0
    assert "warnings: no health warnings logged" in capsys.readouterr().out
    records = runs.read_metrics(tiny_run)
    records[1]["warnings"] = ["G is collapsing: its samples are nearly identical"]
    records[3]["warnings"] = ["training has diverged: g_grad_norm inf"]
    (tiny_run / runs.METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["info", str(tiny_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["warnings"] == [
        {"step": records[1]["step"], "epoch": records[1]["epoch"],
         "warning": "G is collapsing: its samples are nearly identical"},
        {"step": records[3]["step"], "epoch": records[3]["epoch"],
         "warning": "training has diverged: g_grad_norm inf"},
    ]
    assert main(["info", str(tiny_run)]) == 0
    line = re.search(r"^warnings: (.*)$", capsys.readouterr().out, re.M).group(1)
    assert line.startswith(f"2 health warnings (steps {records[1]['step']}-{records[3]['step']})")
    assert line.endswith("the last: training has diverged: g_grad_norm inf")
    health = re.search(r'<p class="warnline">Health: (.*?)</p>', build_report(tiny_run)).group(1)
    assert health == line


def test_info_into_a_closed_pipe_exits_quietly(tiny_run):
    # `gankit info RUN | head -1`, made deterministic: the reader is gone before gankit writes.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "gankit", "info", str(tiny_run)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_subprocess_env(),
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert out.stderr == ""
    assert out.returncode == cli.EXIT_BROKEN_PIPE


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_main_returns_quietly_when_stdout_breaks(tiny_run, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["info", str(tiny_run), "--json"]) == cli.EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""
