"""What a run prints while it trains: plain lines into a log file, a bar on a terminal, and
WGAN's critic warm-up announced and counted."""

from __future__ import annotations

import io

from conftest import tiny_config
from gankit.train import run as runs
from gankit.train.loop import Trainer
from gankit.train.progress import ProgressBar, ProgressLines, make_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_redirected_run_prints_plain_lines_without_carriage_returns(tmp_path, capsys):
    cfg = tiny_config("train.progress=true", "train.max_steps=20", "train.log_every=5")
    Trainer(cfg, tmp_path / "run").run()
    err = capsys.readouterr().err
    assert "\r" not in err  # tqdm's redraws: 65 kB of noise in a redirected log (issue 13)
    lines = [line for line in err.splitlines() if " batch " in line]
    assert len(lines) == 4
    assert "step 20, batch 20/20 (100%)" in lines[-1] and "D(G(z))" in lines[-1]


def test_a_terminal_gets_the_bar_and_a_file_the_lines():
    assert isinstance(make_progress("run", 10, 0, Terminal()), ProgressBar)
    assert isinstance(make_progress("run", 10, 0, io.StringIO()), ProgressLines)


def test_a_long_silence_gets_a_plain_line(monkeypatch):
    from gankit.train import progress

    out = io.StringIO()
    lines = make_progress("run", 300, 0, out)
    lines.update(5, 1)
    assert out.getvalue() == ""
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    lines.update(105, 2)
    assert out.getvalue() == "run: step 2, batch 105/300 (35%)\n"


def test_the_wgan_warm_up_is_announced_and_counted_by_the_bar(tmp_path, capsys):
    # loss=wgan brings k = 5; the warm-up gives each of the first 25 G steps 100 critic steps.
    cfg = tiny_config("loss=wgan", "train.max_steps=3", "train.progress=true",
                      "train.log_every=3")
    t = Trainer(cfg, tmp_path / "run")
    assert t.planned_steps() == (3, 300)
    t.run()
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("critic warm-up: 285 critic steps on top of k = 5")
    assert "300 critic steps in all" in first and "losses.wgan_warmup=false" in first
    assert "batch 300/300 (100%)" in err
    assert t.progress.d_steps == 300


def test_the_plan_is_what_the_run_does(tmp_path):
    # Epochs only, max_steps only, both; k = 2 where an epoch's batches are odd (40 / 2 fits,
    # 2000 / 3 ... the last iteration may run past the epoch, and so does the plan).
    for name, overrides in {
        "steps": ["train.max_steps=13"],
        "epochs": ["train.max_steps=0", "train.epochs=1", "train.k=3"],
        "both": ["train.max_steps=30", "train.epochs=1", "train.k=2"],
    }.items():
        t = Trainer(tiny_config(*overrides), tmp_path / name)
        plan = t.planned_steps()
        t.run()
        assert plan == (t.progress.g_steps, t.progress.d_steps), name
        assert runs.read_status(t.run_dir)["step"] == plan[0]


def test_no_warm_up_line_without_a_warm_up(tmp_path, capsys):
    Trainer(tiny_config("train.max_steps=5"), tmp_path / "run").run()
    assert "warm-up" not in capsys.readouterr().err
