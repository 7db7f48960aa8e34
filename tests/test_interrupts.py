"""Interrupted training resumes bit-identically; one process per run folder.

The trials are benchmarks/interrupts.py's: `python -m gankit train` in a subprocess gets kill -9,
SIGINT or SIGTERM, then `gankit train --resume` finishes the run, and its final networks and
counters must equal an uninterrupted run's bit for bit. The fast tests send each signal once, at
a fixed moment (a checkpoint of step 10 is on disk) and resume in-process; `pytest -m slow` runs
several trials per signal at random moments, all in subprocesses.
"""

from __future__ import annotations

import importlib.util
import random
import signal
import sys
from pathlib import Path

import pytest

from conftest import REPO
from gankit import load_config, load_run, train
from gankit.cli import main
from gankit.train.lock import RunLock

# Shorter than the benchmark's run (80 steps, a checkpoint every 5), for the fast suite.
FAST = [
    "data.n_train=2000", "generator.hidden=[32, 32]", "discriminator.hidden=[32, 32]",
    "discriminator.pieces=2", "train.batch_size=50", "train.epochs=0", "train.log_every=10",
    "train.progress=false", "train.threads=1", "train.max_steps=80", "train.checkpoint_every=5",
]


@pytest.fixture(scope="module")
def bench():
    """benchmarks/interrupts.py as a module (a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("bench_interrupts",
                                                  REPO / "benchmarks/interrupts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_interrupts"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def straight(bench, tmp_path_factory):
    """The uninterrupted run's final state (in-process: the same numbers as a subprocess)."""
    run = train(load_config(REPO / "configs/ring8.yaml", FAST),
                tmp_path_factory.mktemp("straight") / "run")
    return bench.final_state(run)


def _interrupt_once(bench, tmp_path: Path, sig: int) -> tuple[Path, dict]:
    """Signal a run once a checkpoint of step 10 is on disk; tried again (in a new folder) in
    the unlikely case that a loaded machine let it finish first."""
    for attempt in range(3):
        run_dir = tmp_path / f"run-{attempt}"
        result = bench.interrupt(run_dir, sig, after_step=10, overrides=FAST)
        if result["signalled"]:
            return run_dir, result
    pytest.fail("the run finished three times before the signal could be sent")


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_stop_signal_saves_at_an_iteration_boundary_and_resumes_bit_identically(
        name, bench, straight, tmp_path, capsys):
    sig = bench.SIGNALS[name]
    run_dir, result = _interrupt_once(bench, tmp_path, sig)
    assert result["returncode"] == bench.STOP_STATUS[sig], result["stderr"]
    assert f"checkpoint saved at step {result['saved_step']}" in result["stdout"]
    assert 10 <= result["saved_step"] < 80
    assert main(["train", "--resume", "--run-dir", str(run_dir)]) == 0
    assert bench.same_state(bench.final_state(run_dir), straight)


def test_kill_9_resumes_from_the_last_checkpoint_bit_identically(bench, straight, tmp_path):
    run_dir, result = _interrupt_once(bench, tmp_path, signal.SIGKILL)
    assert result["returncode"] == -signal.SIGKILL
    assert main(["train", "--resume", "--run-dir", str(run_dir)]) == 0
    assert not list(run_dir.glob(".checkpoint.pt.tmp-*"))  # none left by the kill either
    assert bench.same_state(bench.final_state(run_dir), straight)


def test_one_process_per_run_folder_and_a_killed_one_leaves_no_stale_lock(bench, tmp_path,
                                                                          capsys):
    run_dir = tmp_path / "run"
    proc = bench.start(run_dir, overrides=[*FAST, "train.max_steps=100000"])
    try:
        assert bench.wait_until(bench.step_reached(run_dir, 5), proc)
        capsys.readouterr()
        # A second trainer on the folder is refused at once, naming the holder.
        assert main(["train", "--resume", "--run-dir", str(run_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"gankit: error: run folder {run_dir} is in use by process "
                              f"{proc.pid}; wait for it to finish or stop it"), err
        assert len(err.splitlines()) == 1
    finally:
        proc.kill()
        proc.communicate()
    lock = RunLock(run_dir)  # the kernel dropped the killed process's lock
    assert lock.acquire(create=False)
    lock.release()
    assert main(["train", "--resume", "--run-dir", str(run_dir), "--set", "train.max_steps=1"]) == 0


# --- many trials, at random moments (pytest -m slow) ------------------------------------------
@pytest.fixture(scope="module")
def reference(bench, tmp_path_factory):
    """The benchmark's uninterrupted run (a subprocess) and its training time."""
    return bench.straight_run(tmp_path_factory.mktemp("reference") / "run")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kill -9", "kill -9 inside a checkpoint write", "SIGINT",
                                  "SIGTERM"])
def test_random_interrupts_resume_bit_identically(name, bench, reference, tmp_path):
    """Four trials per signal, each signalled at a random moment of its training (for the
    write row: in the first checkpoint write after it)."""
    reference, train_seconds = reference
    sig, in_a_write = bench.ROWS[name]
    rng = random.Random(name)
    for i in range(4):
        after, delay = bench.random_moment(rng, train_seconds / bench.STEPS)
        row = bench.trial(tmp_path / f"trial-{i}", sig, after, delay, reference, in_a_write)
        assert row["identical"] and row["temp_files_removed"], (after, delay, row)


@pytest.mark.slow
def test_two_trainings_started_at_once_on_one_new_folder(bench, tmp_path):
    """Exactly one of them trains; the other is refused in one line (in use, or already a run)."""
    run_dir = tmp_path / "run"
    procs = [bench.start(run_dir, overrides=FAST) for _ in range(2)]
    results = [(p.wait(timeout=600), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert err.startswith("gankit: error: ") and len(err.splitlines()) == 1
    assert ("is in use by" in err) or ("already holds a run" in err), err
    steps = [r["step"] for r in load_run(run_dir).metrics()]
    assert steps == sorted(set(steps))  # one writer: no duplicated or out-of-order records

