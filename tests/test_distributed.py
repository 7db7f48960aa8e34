"""torchrun with 2 CPU processes (gloo): a distributed iteration equals a single-process one with
the same global batch, a killed distributed run resumes exactly, and a run resumes with another
number of processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO

# A ring GAN without batch norm or dropout, so N processes compute what one process computes.
OVERRIDES = [
    "data.n_train=2000", "generator.hidden=[32,32]", "generator.batch_norm=false",
    "discriminator.hidden=[32,32]", "discriminator.pieces=2", "train.batch_size=50",
    "train.epochs=0", "train.progress=false", "train.threads=1", "train.log_every=5",
]


def gankit_train(run_dir: Path, steps: int, processes: int = 1, resume: bool = False,
                 extra: tuple[str, ...] = (), wait: bool = True) -> subprocess.Popen:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={processes}"] if processes > 1 else [sys.executable])
    args = [*launcher, "-m", "gankit", "train", str(REPO / "configs/ring8.yaml"),
            "--run-dir", str(run_dir)]
    for item in [*OVERRIDES, f"train.max_steps={steps}", *extra]:
        args += ["--set", item]
    if resume:
        args.append("--resume")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    if wait:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    return proc


def kill_tree(pid: int) -> None:
    """kill -9 a process and all its descendants (torchrun puts its workers in sessions of
    their own, so killing the launcher's process group would leave them running)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, tree = [pid], []
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    return {f"{net}.{k}": v for net in ("generator", "discriminator")
            for k, v in state[net].items()} | {"g_steps": torch.tensor(state["g_steps"])}


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_two_processes_compute_what_one_process_computes(tmp_path):
    gankit_train(tmp_path / "one", 6)
    gankit_train(tmp_path / "two", 6, processes=2)
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert one["g_steps"] == two["g_steps"] == 6
    # Equal up to the order of float sums (DDP averages two half-batch gradients).
    assert max_difference(one, two) < 1e-5
    # Only rank 0 wrote the log: one record per logging interval, not two.
    lines = (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [5, 6]


def test_a_killed_two_process_run_resumes_exactly(tmp_path):
    steps = 300
    gankit_train(tmp_path / "straight", steps, processes=2)
    run = tmp_path / "killed"
    proc = gankit_train(run, steps, processes=2, extra=("train.checkpoint_every=4",), wait=False)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        # kill -9 the launcher and both workers once a checkpoint exists
        status = run / "run.json"
        try:
            if json.loads(status.read_text())["step"] >= 4:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    kill_tree(proc.pid)
    proc.communicate()
    step = torch.load(run / "checkpoint.pt", weights_only=False)["g_steps"]
    assert step < steps, "the run finished before it could be killed; the test proves nothing"
    gankit_train(run, steps, processes=2, resume=True, extra=("train.checkpoint_every=4",))
    assert max_difference(weights(run), weights(tmp_path / "straight")) == 0.0


def test_resume_with_another_number_of_processes(tmp_path):
    gankit_train(tmp_path / "straight", 12)
    run = tmp_path / "moved"
    gankit_train(run, 6, processes=2)
    gankit_train(run, 12, resume=True)  # the same run continued in one process
    assert max_difference(weights(run), weights(tmp_path / "straight")) < 1e-5


def test_a_distributed_config_is_checked_before_training(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         "-m", "gankit", "train", str(REPO / "configs/ring8.yaml"), "--run-dir",
         str(tmp_path / "r"), "--set", "train.batch_size=49", "--set", "train.max_steps=2"],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")}, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode != 0
    assert "must split evenly over 2 processes" in proc.stderr + proc.stdout
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("update", ["simultaneous"])
def test_what_does_not_distribute_is_refused(tmp_path, monkeypatch, update):
    from conftest import tiny_config
    from gankit.errors import GankitError
    from gankit.train.devices import check_world
    from gankit.train.distributed import World

    with pytest.raises(GankitError, match="one process only"):
        check_world(tiny_config(f"train.update={update}"), World(0, 2, 0))
    check_world(tiny_config(), World(0, 2, 0))  # the alternating update distributes


def test_the_ddp_wrappers_are_freed_before_the_process_group_is_destroyed(tmp_path, monkeypatch):
    # A wrapper alive at destroy_process_group keeps gloo's threads until interpreter exit,
    # where tearing them down aborts the process ("terminate called without an active
    # exception"): a two-process run that trained fine then failed CI. One in-process gloo
    # group stands in for torchrun's.
    import gc

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from conftest import tiny_config
    from gankit.train import loop
    from gankit.train.distributed import World

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    monkeypatch.setattr(loop, "world_from_env", lambda device: World(0, 2, 0))
    alive: list[int] = []
    destroy = dist.destroy_process_group

    def counting_destroy(*args, **kwargs):
        alive.append(sum(isinstance(o, DistributedDataParallel) for o in gc.get_objects()))
        destroy(*args, **kwargs)

    monkeypatch.setattr(dist, "destroy_process_group", counting_destroy)
    loop.train(tiny_config("train.max_steps=2"), tmp_path / "run")
    assert alive == [0]
    assert not dist.is_initialized()
