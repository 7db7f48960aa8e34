"""A run folder nothing can destroy: signals at iteration boundaries, no non-finite checkpoint,
the lock, checksums and fingerprints, temp files of killed writes, honest log records."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal

import numpy as np
import pytest
import torch

from conftest import REPO, tiny_config
from gankit import GankitError, load_config, load_run, train
from gankit.cli import main
from gankit.train import run as runs
from gankit.train.checkpoint import first_non_finite, load_checkpoint, state_digest
from gankit.train.identity import fingerprint, identity, mismatch
from gankit.train.lock import RunLock
from gankit.train.loop import Interrupted, Trainer
from runfolders import snapshot


def _nets(state: dict) -> list[torch.Tensor]:
    return [t for key in ("generator", "discriminator") for t in state[key].values()]


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(x, y) for x, y in zip(_nets(a), _nets(b), strict=True))


# --- Ctrl-C and SIGTERM -------------------------------------------------------------------------
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_inside_an_iteration_stops_after_it_and_resumes_exactly(tmp_path, sig, status):
    extra = ("train.k=2", "train.max_steps=12")
    straight = Trainer(tiny_config(*extra), tmp_path / "straight")
    straight.run()
    t = Trainer(tiny_config(*extra), tmp_path / "run")
    d_update, calls = t.objective.d_update, {"n": 0}

    def d_update_then_signal(*args):
        stats = d_update(*args)
        calls["n"] += 1
        if calls["n"] == 13:  # iteration 7's first D update: its second and G's are to come
            os.kill(os.getpid(), sig)
        return stats

    t.objective.d_update = d_update_then_signal
    with pytest.raises(Interrupted) as stopped:
        t.run()
    assert stopped.value.exit_status == status
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (saved["g_steps"], saved["d_steps"]) == (7, 14)  # the whole iteration, counted
    resumed = Trainer(tiny_config(*extra), tmp_path / "run", resume=True)
    resumed.run()
    assert _same(resumed.state(), straight.state())


# --- non-finite weights -------------------------------------------------------------------------
def test_non_finite_weights_are_never_saved_and_the_message_names_the_step_kept(tmp_path):
    t = Trainer(tiny_config("train.max_steps=10"), tmp_path / "run")
    t.run()
    before = snapshot(tmp_path / "run")
    with torch.no_grad():
        next(t.G.parameters())[0] = float("inf")
    t.progress.g_steps = 11
    with pytest.raises(GankitError, match=r"not finite at generator step 11 \(generator\..*\); "
                       r"the checkpoint of step 10 is kept in .*; lower the learning rate"):
        t.save()
    assert snapshot(tmp_path / "run") == before


def test_non_finite_optimiser_state_is_never_saved_either(tmp_path):
    t = Trainer(tiny_config("train.max_steps=4"), tmp_path / "run")
    t.run()
    before = snapshot(tmp_path / "run")
    moments = next(iter(t.objective.opt_d.state.values()))
    moments["exp_avg_sq"].fill_(float("nan"))
    with pytest.raises(GankitError, match=r"not finite at generator step 4 \(opt_d\.state\."):
        t.save()
    assert snapshot(tmp_path / "run") == before


def test_a_learning_rate_that_blows_up_keeps_a_finite_checkpoint(tmp_path):
    """The issue's case: resumed with lr 1e8 and a checkpoint every step."""
    run = train(tiny_config("train.max_steps=10"), tmp_path / "run")
    with pytest.raises(GankitError, match=r"the checkpoint of step (\d+) is kept") as err:
        train(tiny_config("train.max_steps=40", "optim.lr=1e8", "train.checkpoint_every=1"),
              run, resume=True, force=True)
    kept = int(re.search(r"the checkpoint of step (\d+) is kept", str(err.value))[1])
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["g_steps"] == kept >= 10
    assert first_non_finite(state) is None


# --- the lock -----------------------------------------------------------------------------------
def test_one_trainer_per_folder_until_it_has_run(tmp_path):
    first = Trainer(tiny_config("train.max_steps=2"), tmp_path / "run")
    assert (tmp_path / "run" / ".lock").read_text().strip() == str(os.getpid())
    with pytest.raises(GankitError, match=r"is in use by process \d+ \(this one"):
        Trainer(tiny_config("train.max_steps=4"), tmp_path / "run", resume=True)
    first.run()  # releases it
    Trainer(tiny_config("train.max_steps=4"), tmp_path / "run", resume=True).run()


def test_a_refused_trainer_releases_the_lock(tmp_path):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    with pytest.raises(GankitError, match="changed config"):
        Trainer(tiny_config("optim.lr=0.5"), run, resume=True)
    lock = RunLock(run)
    assert lock.acquire(create=False)
    lock.release()


# --- checksums and fingerprints -----------------------------------------------------------------
def _resave(path, state) -> None:
    torch.save(state, path)


def test_a_changed_counter_is_caught_by_the_checksum(tmp_path):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    state["g_steps"] = 1_000
    _resave(run / "checkpoint.pt", state)
    with pytest.raises(GankitError, match="is damaged"):
        load_checkpoint(run / "checkpoint.pt")


def test_checkpoints_from_before_checksums_still_load_and_resume(tmp_path):
    run = train(tiny_config("train.max_steps=4"), tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    for key in ("checksum", "config", "config_fingerprint"):
        state.pop(key)
    _resave(run / "checkpoint.pt", state)
    assert load_run(run).step == 4
    resumed = Trainer(tiny_config("train.max_steps=6"), run, resume=True)
    resumed.run()
    assert load_checkpoint(run / "checkpoint.pt", config=resumed.cfg)["g_steps"] == 6


def test_the_checksum_covers_tensors_byte_by_byte():
    a = {"w": torch.zeros(3), "n": 1}
    b = {"w": torch.tensor([0.0, -0.0, 0.0]), "n": 1}  # equal as numbers, not as bytes
    assert state_digest(a) == state_digest({"w": torch.zeros(3), "n": 1})
    assert state_digest(a) != state_digest(b)
    assert state_digest(a) != state_digest({"w": torch.zeros(3, dtype=torch.float64), "n": 1})


def test_a_forced_resume_re_stamps_the_checkpoint_and_can_be_run_again(tmp_path, monkeypatch):
    run = train(tiny_config("train.max_steps=4"), tmp_path / "run")
    new = tiny_config("train.max_steps=6", "optim.lr=0.0005")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stopped between the re-stamped checkpoint and the config

    monkeypatch.setattr(runs, "write_run_dir", killed)
    with pytest.raises(KeyboardInterrupt):
        Trainer(new, run, resume=True, force=True)
    monkeypatch.undo()
    with pytest.raises(GankitError, match=r"written by another run \(optim\.lr: 0\.0005 in the "
                       r"checkpoint, 0\.001 in the config\)"):
        load_run(run)
    Trainer(new, run, resume=True, force=True).run()  # the same command again goes through
    assert load_run(run).step == 6


def test_force_does_not_accept_another_runs_checkpoint(tmp_path):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    other = train(tiny_config("train.max_steps=2", "seed=3"), tmp_path / "other")
    shutil.copy(other / "checkpoint.pt", run / "checkpoint.pt")
    with pytest.raises(GankitError, match=r"written by another run \(seed: 3 in the checkpoint"):
        Trainer(tiny_config("optim.lr=0.5"), run, resume=True, force=True)


def test_keys_added_to_gankit_later_are_not_a_difference():
    cfg = tiny_config()
    stored = identity(cfg)
    stored.pop("train.topk")  # a checkpoint written before train.topk existed
    stored["train.retired_key"] = 1  # and one with a key gankit has dropped since
    assert mismatch({"config": stored, "config_fingerprint": fingerprint(stored)}, cfg) is None
    stored["seed"] = 7
    assert "seed: 7" in mismatch({"config": stored, "config_fingerprint": fingerprint(stored)}, cfg)


def test_resumable_keys_are_not_part_of_the_fingerprint():
    assert identity(tiny_config("train.max_steps=5")) == identity(tiny_config("train.max_steps=9"))
    assert identity(tiny_config("seed=1")) != identity(tiny_config())


# --- temp files of killed writes ----------------------------------------------------------------
def test_temp_files_of_killed_writers_are_removed_when_training_opens_the_run(tmp_path):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    dead = run / ".checkpoint.pt.tmp-99999999"  # above any pid_max: that process is gone
    alive = run / f".checkpoint.pt.tmp-{os.getppid()}"  # (this process writes its own tmp-PID)
    dead.write_bytes(b"half a checkpoint")
    alive.write_bytes(b"being written")
    Trainer(tiny_config("train.max_steps=2"), run, resume=True).run()
    assert not dead.exists() and alive.exists()


# --- the log ------------------------------------------------------------------------------------
def test_each_record_says_how_many_steps_it_averages(tmp_path):
    run = train(tiny_config("train.max_steps=7", "train.log_every=5"), tmp_path / "run")
    train(tiny_config("train.max_steps=12", "train.log_every=5"), run, resume=True)
    records = [(r["step"], r["steps_in_record"]) for r in runs.read_metrics(run)]
    # 7 steps: a record at 5 and the last one at 7; resumed at 7: 3 steps to 10, then 2.
    assert records == [(5, 5), (7, 2), (10, 3), (12, 2)]


# --- YAML ---------------------------------------------------------------------------------------
def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    path = tmp_path / "c.yaml"
    text = (REPO / "configs/ring8.yaml").read_text()
    path.write_text(text + "g_optim: &fast {lr: 0.002}\nd_optim:\n  <<: *fast\n  lr: 0.003\n")
    cfg = load_config(path)
    assert cfg.g_optim == {"lr": 0.002} and cfg.d_optim == {"lr": 0.003}


def test_a_duplicated_key_in_a_set_value_is_refused():
    with pytest.raises(GankitError, match=r"key 'lr' appears twice"):
        load_config(REPO / "configs/ring8.yaml", ["g_optim={lr: 1, lr: 2}"])


# --- outputs of sample and eval -----------------------------------------------------------------
def test_sample_writes_exactly_the_named_file(tmp_path):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    out = tmp_path / "out"
    assert main(["sample", str(run), "--n", "10", "--format", "npy", "--out", str(out / "s.npy")]) == 0
    assert main(["sample", str(run), "--n", "10", "--out", str(out / "s.png")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["s.npy", "s.png"]
    assert np.load(out / "s.npy").shape == (10, 2)


def test_eval_prints_the_scores_when_the_run_folder_cannot_be_written(tmp_path, capsys,
                                                                       monkeypatch):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    from gankit.train import checkpoint

    def read_only(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", read_only)
    before = snapshot(run)
    assert main(["eval", str(run), "--metrics", "modes", "--n", "500", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["metrics"]["n"] == 500  # the scores, on stdout
    assert err.startswith(f"gankit: error: could not write {run / 'eval.json'} (Permission "
                          "denied); the scores above were not saved")
    assert snapshot(run) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_eval_of_a_read_only_run(tmp_path, capsys):
    run = train(tiny_config("train.max_steps=2"), tmp_path / "run")
    run.chmod(0o555)
    try:
        assert main(["eval", str(run), "--metrics", "modes", "--n", "500"]) == 2
    finally:
        run.chmod(0o755)
    out, err = capsys.readouterr()
    assert "modes:" in out and "could not write" in err
