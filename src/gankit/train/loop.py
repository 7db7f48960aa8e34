"""Algorithm 1 of Goodfellow et al. (2014): k discriminator steps, then one generator step.

    for number of training iterations:
        for k steps:
            sample m noise samples z and m examples x; update D by its stochastic gradient
        sample m noise samples z; update G by its stochastic gradient

`Trainer.algorithm1_iteration` is that loop body; the authors' own code instead updated D and G
on the same minibatch at once (`train.update: simultaneous`, `simultaneous_iteration`). What
an update does is the objective's business (objective.py, gan.py); this file holds only the
schedule, the data order and the run: logging, samples, evaluation and checkpoints are hooks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.config import Config, check_against_data, validate
from gankit.data.dataset import FOLDER_DATASETS, TrainingData, fingerprint, load_training_data
from gankit.errors import GankitError, first_problem
from gankit.train import run as runs
from gankit.train.checkpoint import (
    atomic_write_bytes,
    first_non_finite,
    load_checkpoint,
    remove_stale_temp_files,
    save_checkpoint,
    set_rng_state,
)
from gankit.train.devices import check_device, check_world
from gankit.train.distributed import world_from_env
from gankit.train.hooks import EpochFacts, Hook, StepFacts
from gankit.train.identity import check_belongs, check_same_data, mismatch, stamp
from gankit.train.lock import RunLock
from gankit.train.objective import Batch, Clock, Stats
from gankit.train.objectives import make_objective
from gankit.train.plan import planned_steps, warmup_text
from gankit.train.stopping import Interrupted, NoLock, StopSignals


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Progress:
    d_steps: int = 0  # real minibatches used so far (one per discriminator update)
    g_steps: int = 0  # generator updates so far


class Trainer:
    """A run: data, an objective (networks and optimisers), counters. `run()` trains it.

    Everything is built and checked before the run folder is touched: a failed check, a missing
    data file or a checkpoint that does not fit leaves the disk as it was. The folder's lock
    (lock.py) is held from here until `run()` returns, so one Trainer at a time uses a folder.
    """

    def __init__(self, cfg: Config, run_dir: str | Path | None = None, resume: bool = False,
                 force: bool = False, data: TrainingData | None = None,
                 hooks: Sequence[Hook] = ()):
        self.cfg = validate(cfg)  # again: a Config changed after loading is checked too
        self.world = world_from_env(cfg.train.device)
        check_world(cfg, self.world)
        self.run_dir = Path(run_dir) if run_dir else runs.default_run_dir(cfg)
        # Only rank 0 writes the folder, so only rank 0 locks it (distributed.py).
        self.lock = RunLock(self.run_dir) if self.world.main else NoLock()
        self.lock.acquire(create=False)  # a run folder is locked before it is read
        try:
            self._build(resume, force, data, hooks)
            if self.world.main:
                self._open_run_dir(resume, force)
        except BaseException:
            self.lock.release()
            raise

    def _build(self, resume: bool, force: bool, data: TrainingData | None,
               hooks: Sequence[Hook]) -> None:
        """Everything that reads and checks: nothing is written here."""
        from gankit.train.monitor import HealthMonitor

        cfg = self.cfg
        runs.check_run_dir(self.run_dir, cfg, resume=resume, force=force)
        self.device = check_device(cfg.train.device, self.world)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        seed_everything(cfg.seed)
        self.data = data or load_training_data(cfg.data, cfg.seed)
        check_against_data(cfg, self.data)
        self.tensors = tuple(t.to(self.device) if t is not None else None
                             for t in (self.data.x, self.data.y, *self.data.extras.values()))
        self.objective = make_objective(cfg, self.data, self.device)
        self.progress = Progress()
        self.extra_hooks = list(hooks)
        self.monitor = HealthMonitor.for_run(cfg, self.data, self.objective)
        self.saved_step: int | None = None
        self._restamp = False
        self._data_sha256: str | None = None
        if resume:
            self._restore(force)
        self.objective.distribute(self.world, cfg.train.sync_bn)

    def _open_run_dir(self, resume: bool, force: bool) -> None:
        """The first writes, once everything above held: the folder, its lock, the config."""
        runs.make_run_dir(self.run_dir)
        if self.lock.acquire(create=True):
            # Not locked until now (a new folder): check again what another process may have
            # written between the first check and the lock.
            runs.check_run_dir(self.run_dir, self.cfg, resume=resume, force=force)
        self.lock.claim()
        remove_stale_temp_files(self.run_dir)  # left by writers killed mid-write
        if self.saved_step is not None:  # resumed: the log reads as one run
            runs.truncate_metrics(self.run_dir, self.saved_step)
        if self._restamp:
            # --force changed what the run is: the checkpoint is re-saved with the new config's
            # fingerprint before the config is, so a kill between the two is resumed again.
            self.save()
        runs.write_run_dir(self.run_dir, self.cfg)
        for name, content in self.objective.run_files().items():
            atomic_write_bytes(self.run_dir / name, content)

    # --- data order -----------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return len(self.data.x) // self.cfg.train.batch_size  # the last partial batch is dropped

    def epoch_of(self, d_steps: int) -> int:
        return d_steps // self.batches_per_epoch + 1

    def last_epoch(self) -> int:
        """The epoch of the last update, as metrics.jsonl numbers it: 1 after exactly one epoch,
        2 half-way through the second, 0 before the first update (run.json's "epoch")."""
        return self.epoch_of(self.progress.d_steps - 1) if self.progress.d_steps else 0

    def real_batch(self, d_steps: int) -> Batch:
        """The minibatch of D update number `d_steps`: a function of (seed, epoch, index), so a
        resumed run sees the same order."""
        epoch, index = self.epoch_of(d_steps), d_steps % self.batches_per_epoch
        if getattr(self, "_perm_epoch", None) != epoch:
            g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.data.x), generator=g).to(self.device)
            self._perm_epoch = epoch
        bs = self.cfg.train.batch_size
        idx = self.world.shard(self._perm[index * bs : (index + 1) * bs])
        return tuple(t[idx] if t is not None else None for t in self.tensors)

    def clock(self, after_d: bool = False) -> Clock:
        p = self.progress
        # G's update belongs to the epoch of the D update before it.
        return Clock(p.d_steps, p.g_steps, self.epoch_of(p.d_steps - 1 if after_d else p.d_steps))

    # --- Algorithm 1 ------------------------------------------------------------------------
    def algorithm1_iteration(self) -> Stats:
        """k discriminator updates, each on a new real minibatch, then one generator update
        (handed D's last minibatch, for objectives that pair data with G's output)."""
        p, objective = self.progress, self.objective
        stats: Stats = {}
        for _ in range(objective.critic_steps(self.cfg.train.k, p.g_steps)):
            batch = self.real_batch(p.d_steps)
            stats = objective.d_update(batch, self.clock())
            p.d_steps += 1
        stats.update(objective.g_update(self.clock(after_d=True), batch))
        p.g_steps += 1
        return stats

    def solo_iteration(self) -> Stats:
        """An objective without an adversary (a VAE): one update per real minibatch."""
        batch = self.real_batch(self.progress.d_steps)
        self.progress.d_steps += 1
        stats = self.objective.g_update(self.clock(after_d=True), batch)
        self.progress.g_steps += 1
        return stats

    def simultaneous_iteration(self) -> Stats:
        """The authors' code: k - 1 discriminator updates, then D and G updated together from
        the same minibatch and the same parameters."""
        p, objective = self.progress, self.objective
        for _ in range(objective.critic_steps(self.cfg.train.k, p.g_steps) - 1):
            objective.d_update(self.real_batch(p.d_steps), self.clock())
            p.d_steps += 1
        stats = objective.joint_update(self.real_batch(p.d_steps), self.clock())
        p.d_steps += 1
        p.g_steps += 1
        return stats

    # --- the run ----------------------------------------------------------------------------
    def done(self) -> bool:
        t, p = self.cfg.train, self.progress
        return (bool(t.max_steps) and p.g_steps >= t.max_steps) or (
            bool(t.epochs) and p.d_steps >= t.epochs * self.batches_per_epoch)

    def planned_steps(self) -> tuple[int, int] | None:
        """(generator, discriminator) updates at the end of the run (plan.py)."""
        obj, k = self.objective, self.cfg.train.k
        return planned_steps(self.cfg.train, self.progress.g_steps, self.progress.d_steps,
                             self.batches_per_epoch,
                             lambda g: obj.critic_steps(k, g) if obj.adversarial else 1)

    def hooks(self) -> list[Hook]:
        if not self.world.main:
            return []  # only rank 0 writes
        from gankit.train.evaluation import EvaluationHook
        from gankit.train.logging import TrainingLogger
        from gankit.train.outputs import Checkpoints, SampleGrids

        objective = self.objective
        plan = self.planned_steps()
        logger = TrainingLogger(self.cfg, self.run_dir, objective.probabilities,
                                objective.diagnostics, objective.preview_grid, self.monitor,
                                self.progress.d_steps, plan and plan[1], self.data.is_image)
        p = self.progress
        if warmup := warmup_text(plan, p.g_steps, p.d_steps, self.cfg.train.k, self.cfg.loss):
            logger.write(warmup)  # WGAN's first steps are slow: say why before they start
        return [
            logger,
            SampleGrids(self.cfg, self.run_dir, self.data, objective.preview_grid),
            EvaluationHook(self.cfg, self.data, logger.log_eval, self.done),
            Checkpoints(self.cfg.train.checkpoint_every, self.save),
            *self.extra_hooks,
        ]

    def run(self) -> Path:
        """Train until the config's epochs or max_steps (or a hook says stop); returns the run
        folder. Ctrl-C and SIGTERM stop at the next iteration boundary and save."""
        self.lock.acquire(create=True)  # held since __init__; taken again for a second run()
        try:
            return self._run()
        finally:
            self.lock.release()

    def _run(self) -> Path:
        iteration = (self.solo_iteration if not self.objective.adversarial
                     else self.simultaneous_iteration if self.cfg.train.update == "simultaneous"
                     else self.algorithm1_iteration)
        hooks = self.hooks()
        self.objective.train_mode()
        stop = StopSignals()
        with stop:
            while not self._agree_to_stop(stop, hooks):
                epoch = self.epoch_of(self.progress.d_steps)
                start = time.perf_counter()
                stats = iteration()
                self._check_finite(stats)
                epoch_done = self.epoch_of(self.progress.d_steps) > epoch
                facts = StepFacts(self.progress.g_steps, self.progress.d_steps,
                                  self.epoch_of(self.progress.d_steps - 1), epoch_done,
                                  time.perf_counter() - start, stats)
                for hook in hooks:
                    hook.on_step(facts)
                if epoch_done:
                    facts = EpochFacts(epoch, self.progress.g_steps, self.progress.d_steps,
                                       self.objective.sampler, self.objective.G)
                    for hook in hooks:
                        hook.on_epoch(facts)
        finished = not stop.received
        for hook in hooks:
            hook.on_end(finished)
        if not finished:
            print(f"\n{stop.received}: checkpoint saved at step {self.progress.g_steps}; "
                  f"continue with --resume --run-dir {self.run_dir}")
            raise Interrupted(stop.received, stop.signum)
        return self.run_dir

    def _agree_to_stop(self, stop: StopSignals, hooks: list[Hook]) -> bool:
        """Stop when training is done, a signal came or a hook says so: on every process at once."""
        wanted = self.done() or stop.received or any(h.should_stop() for h in hooks)
        signalled, wanted = self.world.agree(stop.received is not None, wanted)
        if signalled and not stop.received:
            stop.received = "stopped (another training process was interrupted)"
        return wanted

    def _check_finite(self, stats: Stats) -> None:
        bad = [k for k in ("d_loss", "g_loss") if k in stats and not torch.isfinite(stats[k]).all()]
        (any_bad,) = self.world.agree(bool(bad))
        if any_bad and not bad:
            raise GankitError("another training process met a non-finite loss; see its message")
        for key in bad:
            raise GankitError(
                f"{key} is {stats[key].item()} at generator step {self.progress.g_steps} "
                f"(non-finite: {self.objective.first_non_finite(stats)}); training stopped, "
                f"{self._kept()} in {self.run_dir}; lower the learning rate or change the loss")

    def _kept(self) -> str:
        """Which checkpoint a stopped run still has, for its error message."""
        return (f"the checkpoint of step {self.saved_step} is kept"
                if self.saved_step is not None else "no checkpoint was written")

    def state(self) -> dict[str, Any]:
        return {
            **self.objective.state_dict(),
            "d_steps": self.progress.d_steps,
            "g_steps": self.progress.g_steps,
            "epoch": self.last_epoch(),
            "data_shape": list(self.data.shape),
            "n_classes": self.data.n_classes,
            "monitor": self.monitor.state() if self.monitor is not None else None,
            "data_sha256": self.data_sha256(),
            **stamp(self.cfg),
        }

    def data_sha256(self) -> str | None:
        """The fingerprint of a folder dataset's images (None for MNIST and the 2-D sets)."""
        if self.cfg.data.dataset in FOLDER_DATASETS and self._data_sha256 is None:
            self._data_sha256 = fingerprint(self.data)
        return self._data_sha256

    def save(self, finished: bool = False) -> None:
        state = self.state()
        bad = first_non_finite(state)  # weights or optimiser state: either would poison a resume
        if bad is not None:
            raise GankitError(f"the weights are not finite at generator step "
                              f"{self.progress.g_steps} ({bad}); {self._kept()} in "
                              f"{self.run_dir}; lower the learning rate")
        save_checkpoint(self.run_dir / runs.CHECKPOINT_FILE, state)
        self.saved_step = self.progress.g_steps
        runs.write_status(self.run_dir, {
            "step": self.progress.g_steps,
            "d_steps": self.progress.d_steps,
            "epoch": self.last_epoch(),
            "epochs_done": round(self.progress.d_steps / self.batches_per_epoch, 3),
            "finished": finished,
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        })

    def _restore(self, force: bool) -> None:
        file = self.run_dir / runs.CHECKPOINT_FILE
        state = load_checkpoint(file, map_location=self.device)
        if self.cfg.data.dataset in FOLDER_DATASETS and not force:
            moved = runs.read_config(self.run_dir).data.dir != self.cfg.data.dir
            check_same_data(self.cfg.data.dir, moved, state.get("data_sha256"), self.data_sha256)
        if mismatch(state, self.cfg) is not None:
            # Not written with this config. Only --force gets here with a changed config; the
            # checkpoint must still be this run's own, and is re-saved with the new fingerprint.
            check_belongs(state, runs.read_config(self.run_dir), file)
            self._restamp = True
        try:
            self.objective.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise GankitError(
                f"the checkpoint in {self.run_dir} does not fit this config ({first_problem(exc)}); "
                "resume without the override that changes the networks, or start a new run"
            ) from None
        self.progress = Progress(d_steps=state["d_steps"], g_steps=state["g_steps"])
        self.saved_step = self.progress.g_steps
        if state.get("monitor") is not None:
            self.monitor.load_state(state["monitor"])
        set_rng_state(state["rng"])

    # The objective's networks, for scripts and tests written against the trainer.
    @property
    def G(self) -> torch.nn.Module:
        return self.objective.G

    @property
    def D(self) -> torch.nn.Module:
        return self.objective.D

    @property
    def G_ema(self) -> torch.nn.Module | None:
        return self.objective.G_ema


def train(config: Config, run_dir: str | Path | None = None, resume: bool = False,
          force: bool = False, hooks: Sequence[Hook] = ()) -> Path:
    """Train as `config` says; returns the run folder (see `gankit.load_run`)."""
    trainer = Trainer(config, run_dir, resume=resume, force=force, hooks=hooks)
    world = trainer.world
    try:
        return trainer.run()
    finally:
        # The DDP wrappers hold the process group: free them before it is destroyed, or gloo's
        # threads are torn down at interpreter exit and abort the process.
        del trainer
        world.close()
