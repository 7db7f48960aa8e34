"""Interrupt training at random moments and check that resuming ends bit-identical.

For each signal (kill -9; SIGINT, what Ctrl-C sends; SIGTERM, what schedulers and `timeout`
send), N trials: start `python -m gankit train` on a tiny ring config that writes a checkpoint
every 2 generator steps, send the signal at a random moment of its training (and, for kill -9,
N more trials inside the first checkpoint write after a random moment), then run
`gankit train --resume` (or the first command again, when no checkpoint was written yet) until
the run is finished, and compare its final G, D and counters with an uninterrupted run's, byte
for byte. The report goes to docs/results/interrupts.md.

    python benchmarks/interrupts.py [--trials 10] [--seed 0] [--out docs/results/interrupts.md]

tests/test_interrupts.py runs the same trials: one per signal at a fixed moment in the fast
suite, several at random moments with `pytest -m slow`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
# The tiny ring of tests/conftest.py, long enough to be interrupted, checkpointing often so that
# many kills land in the middle of a checkpoint write.
STEPS, EVERY = 200, 2  # generator steps of the run; steps between checkpoints
OVERRIDES = [
    "data.n_train=2000",
    "generator.hidden=[32, 32]",
    "discriminator.hidden=[32, 32]",
    "discriminator.pieces=2",
    "train.batch_size=50",
    "train.epochs=0",
    f"train.max_steps={STEPS}",
    f"train.checkpoint_every={EVERY}",
    "train.log_every=10",
    "train.progress=false",
    "train.threads=1",
]
SIGNALS = {"kill -9": signal.SIGKILL, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
IN_A_WRITE = "kill -9 inside a checkpoint write"
# The rows of the report: (signal, whether it is sent inside a checkpoint write).
ROWS = {"kill -9": (signal.SIGKILL, False), IN_A_WRITE: (signal.SIGKILL, True),
        "SIGINT": (signal.SIGINT, False), "SIGTERM": (signal.SIGTERM, False)}
STOP_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # a clean, saved stop
KEYS = ("generator", "discriminator", "g_ema", "d_steps", "g_steps")


def command(run_dir: Path, resume: bool = False, overrides: list[str] = OVERRIDES) -> list[str]:
    sets = [a for o in overrides for a in ("--set", o)]
    source = ["--resume"] if resume else [str(REPO / "configs" / "ring8.yaml"), *sets]
    return [sys.executable, "-m", "gankit", "train", *source, "--run-dir", str(run_dir)]


def start(run_dir: Path, resume: bool = False,
          overrides: list[str] = OVERRIDES) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(command(run_dir, resume, overrides), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def final_state(run_dir: Path) -> dict[str, Any]:
    state = torch.load(Path(run_dir) / "checkpoint.pt", weights_only=False)
    return {k: state.get(k) for k in KEYS}


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Every network tensor and counter equal, bit for bit."""
    for key in KEYS:
        x, y = a[key], b[key]
        if isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
                return False
        elif x != y:
            return False
    return True


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 120) -> bool:
    """Poll `condition` until it holds (True) or the process ended first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.005)
    raise TimeoutError("the training process made no progress")


def training_started(run_dir: Path) -> Callable[[], bool]:
    return lambda: (Path(run_dir) / "config.yaml").exists()


def step_reached(run_dir: Path, step: int) -> Callable[[], bool]:
    return lambda: status(run_dir).get("step", 0) >= step


def writing_checkpoint(run_dir: Path, proc: subprocess.Popen) -> bool:
    """Busy-wait (a write lasts milliseconds) until a checkpoint's temporary file exists."""
    while proc.poll() is None:
        try:
            names = os.listdir(run_dir)
        except FileNotFoundError:  # the folder is not made yet
            continue
        if any(name.startswith(".checkpoint.pt.tmp-") for name in names):
            return True
    return False


def finish(run_dir: Path, max_attempts: int = 4) -> int:
    """Resume (or restart, before the first checkpoint) until the run is finished; returns the
    number of commands it took."""
    for attempt in range(1, max_attempts + 1):
        resume = (Path(run_dir) / "checkpoint.pt").exists()
        proc = start(run_dir, resume=resume)
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{'resume' if resume else 'restart'} failed: {err.strip()}")
        if status(run_dir).get("finished"):
            return attempt
    raise RuntimeError(f"{run_dir} did not finish in {max_attempts} attempts")


def interrupt(run_dir: Path, sig: int, after_step: int = 0, delay: float = 0.0,
              in_a_write: bool = False, overrides: list[str] = OVERRIDES) -> dict[str, Any]:
    """Start a training run; once the checkpoint of `after_step` is on disk (0: once training
    began), wait `delay` seconds (with `in_a_write`: then also until the next checkpoint write
    begins) and send `sig`. What happened, before any resume."""
    proc = start(run_dir, overrides=overrides)
    began = step_reached(run_dir, after_step) if after_step else training_started(run_dir)
    reached = wait_until(began, proc)
    if reached:
        time.sleep(delay)
        if in_a_write:
            reached = writing_checkpoint(run_dir, proc)
    signalled = reached and proc.poll() is None
    if signalled:
        os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=600)
    temp_files = sorted(p.name for p in Path(run_dir).glob(".checkpoint.pt.tmp-*"))
    return {"signalled": signalled, "returncode": proc.returncode, "stdout": out,
            "stderr": err, "temp_files": temp_files, "saved_step": status(run_dir).get("step"),
            "clean_stop": proc.returncode == STOP_STATUS.get(sig)
            and "checkpoint saved at step" in out}


def random_moment(rng: random.Random, step_seconds: float) -> tuple[int, float]:
    """A uniformly random moment of training: the checkpoint at or before a random step, plus a
    random part of the interval to the next one."""
    step = rng.randrange(STEPS)
    return step - step % EVERY, rng.uniform(0, EVERY * step_seconds)


def trial(run_dir: Path, sig: int, after_step: int, delay: float, straight: dict[str, Any],
          in_a_write: bool = False) -> dict[str, Any]:
    """One interrupted-then-resumed run, compared with the uninterrupted one."""
    result = interrupt(run_dir, sig, after_step, delay, in_a_write)
    result["restart"] = not (Path(run_dir) / "checkpoint.pt").exists()
    result["commands"] = 1 + finish(run_dir)
    result["temp_files_removed"] = not any(Path(run_dir).glob(".checkpoint.pt.tmp-*"))
    result["identical"] = same_state(final_state(run_dir), straight)
    return result


def straight_run(run_dir: Path) -> tuple[dict[str, Any], float]:
    """The uninterrupted run, and how long its training took (from config.yaml to exit)."""
    proc = start(run_dir)
    wait_until(training_started(run_dir), proc)
    began = time.monotonic()
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed: {err.strip()}")
    return final_state(run_dir), time.monotonic() - began


def summarise(name: str, rows: list[dict[str, Any]]) -> str:
    sig = ROWS[name][0]
    stopped = sum(r["signalled"] for r in rows)
    cells = [
        name, str(len(rows)), str(stopped),
        str(sum(r["clean_stop"] for r in rows)) if sig in STOP_STATUS else "-",
        str(sum(bool(r["temp_files"]) for r in rows)),
        _range([r["saved_step"] for r in rows if r["signalled"]]),
        str(sum(r["restart"] for r in rows)),
        str(sum(r["temp_files_removed"] for r in rows)),
        f"**{sum(r['identical'] for r in rows)} / {len(rows)}**",
    ]
    return "| " + " | ".join(cells) + " |"


def _range(values: list[Any]) -> str:
    values = [v or 0 for v in values]
    return f"{min(values)}-{max(values)}" if values else "-"


def write_doc(path: Path, rows: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
              train_seconds: float, elapsed: float, load: tuple[float, float]) -> None:
    lines = [
        "# Interrupted training resumes bit-identically",
        "",
        f"Command: `python {' '.join(sys.argv)}`  ",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, torch {torch.__version__}  ",
        f"Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}; the whole benchmark "
        f"took {elapsed / 60:.1f} min",
        "",
        "Each trial starts `python -m gankit train configs/ring8.yaml` with the overrides below "
        f"({STEPS} generator steps, a checkpoint every {EVERY}) and sends the signal at a random "
        "moment of its training: once the checkpoint at or before a random step (uniform in "
        f"0..{STEPS - 1}) is on disk, after a random part (uniform) of the time {EVERY} steps "
        f"took in the uninterrupted run ({train_seconds:.2f} s of training in all). Then "
        "`gankit train --resume` (or the first command again when no checkpoint had been "
        "written) runs until the run is finished, and the final G, D, G_ema and counters are "
        f"compared with the uninterrupted run's, bit for bit. Random moments: seed {args.seed}. "
        f"The row '{IN_A_WRITE}' kills the process in the first checkpoint write after its "
        "random moment, as soon as the temporary file appears (before the rename that replaces "
        "the checkpoint).",
        "",
        "| signal | trials | signal sent during training | clean stop, saved (exit 130/143) "
        "| killed during a checkpoint write (temp file left) | step saved when stopped "
        "| no checkpoint yet, restarted | no temp file after the resume "
        "| final weights bit-identical |",
        "|---|---|---|---|---|---|---|---|---|",
        *(summarise(name, group) for name, group in rows.items()),
        "",
        "A trial whose run finished before the signal counts in 'trials' but not in 'signal "
        "sent'. Temp files left by a kill are removed when the run is next opened for "
        "training.",
        "",
        "Overrides: `" + " ".join(OVERRIDES) + "`",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per signal (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random moments")
    parser.add_argument("--out", default=str(REPO / "docs/results/interrupts.md"))
    args = parser.parse_args()

    began, load_before = time.monotonic(), os.getloadavg()[0]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="gankit-interrupts-") as tmp:
        straight, train_seconds = straight_run(Path(tmp) / "straight")
        print(f"uninterrupted run: {train_seconds:.2f} s of training", flush=True)
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ROWS}
        for i in range(args.trials):
            for n, (name, (sig, in_a_write)) in enumerate(ROWS.items()):
                after, delay = random_moment(rng, train_seconds / STEPS)
                row = trial(Path(tmp) / f"{n}-{i}", sig, after, delay, straight, in_a_write)
                rows[name].append(row)
                when = f"after step {after} + {delay:.3f} s" + (", in a write" if in_a_write else "")
                print(f"{name[:8]:>8} trial {i + 1}: signal {when}, exit "
                      f"{row['returncode']}, saved step {row['saved_step']}, temp files "
                      f"{len(row['temp_files'])}, {row['commands']} commands, "
                      f"{'identical' if row['identical'] else 'DIFFERENT'}", flush=True)
    write_doc(Path(args.out), rows, args, train_seconds, time.monotonic() - began,
              (load_before, os.getloadavg()[0]))
    print(f"wrote {args.out}")
    if not all(r["identical"] for group in rows.values() for r in group):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
