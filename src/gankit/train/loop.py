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
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.config import Config, check_against_data, validate
from gankit.data.dataset import TrainingData, load_training_data
from gankit.errors import GankitError
from gankit.train import run as runs
from gankit.train.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from gankit.train.hooks import EpochFacts, Hook, StepFacts
from gankit.train.objective import Batch, Clock, Stats
from gankit.train.objectives import make_objective


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_device(name: str) -> torch.device:
    """The config's device, refused in one line when this PyTorch build cannot use it."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GankitError(f"train.device={name} but this PyTorch build sees no CUDA GPU; "
                          "use train.device=cpu (or install a CUDA build of PyTorch)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise GankitError("train.device=mps but no Apple GPU is available; use train.device=cpu")
    return torch.device(name)


# planned_steps looks this many generator steps ahead at most (a bar without a total beyond).
PLAN_LIMIT = 1_000_000


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: training stopped at an iteration boundary and was saved."""


@dataclass
class Progress:
    d_steps: int = 0  # discriminator updates so far (one real minibatch each)
    g_steps: int = 0  # generator updates so far


class Trainer:
    """A run: data, an objective (networks and optimisers), counters. `run()` trains it.

    Everything is built and checked before the run folder is touched: a failed check, a missing
    data file or a checkpoint that does not fit leaves the disk as it was.
    """

    def __init__(self, cfg: Config, run_dir: str | Path | None = None, resume: bool = False,
                 force: bool = False, data: TrainingData | None = None,
                 hooks: Sequence[Hook] = ()):
        from gankit.train.evaluation import check_eval_config

        self.cfg = validate(cfg)  # again: a Config changed after loading is checked too
        check_eval_config(cfg)
        self.run_dir = Path(run_dir) if run_dir else runs.default_run_dir(cfg)
        runs.check_run_dir(self.run_dir, cfg, resume=resume, force=force)
        self.device = check_device(cfg.train.device)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        seed_everything(cfg.seed)
        self.data = data or load_training_data(cfg.data, cfg.seed)
        check_against_data(cfg, self.data)
        self.tensors = tuple(t.to(self.device) if t is not None else None
                             for t in (self.data.x, self.data.y))
        self.objective = make_objective(cfg, self.data, self.device)
        self.progress = Progress()
        self.extra_hooks = list(hooks)
        from gankit.train.monitor import HealthMonitor

        self.monitor = HealthMonitor.for_run(cfg, self.data, self.objective)
        self.saved_step: int | None = None
        if resume:
            self._restore()
        runs.write_run_dir(self.run_dir, cfg)  # the first write, once all of the above held

    # --- data order -----------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return len(self.data.x) // self.cfg.train.batch_size  # the last partial batch is dropped

    def epoch_of(self, d_steps: int) -> int:
        return d_steps // self.batches_per_epoch + 1

    def real_batch(self, d_steps: int) -> Batch:
        """The minibatch of D update number `d_steps`: a function of (seed, epoch, index), so a
        resumed run sees the same order."""
        epoch, index = self.epoch_of(d_steps), d_steps % self.batches_per_epoch
        if getattr(self, "_perm_epoch", None) != epoch:
            g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.data.x), generator=g).to(self.device)
            self._perm_epoch = epoch
        bs = self.cfg.train.batch_size
        idx = self._perm[index * bs : (index + 1) * bs]
        return tuple(t[idx] if t is not None else None for t in self.tensors)

    def clock(self, after_d: bool = False) -> Clock:
        p = self.progress
        # G's update belongs to the epoch of the D update before it.
        return Clock(p.d_steps, p.g_steps, self.epoch_of(p.d_steps - 1 if after_d else p.d_steps))

    # --- Algorithm 1 ------------------------------------------------------------------------
    def algorithm1_iteration(self) -> Stats:
        """k discriminator updates, each on a new real minibatch, then one generator update."""
        p, objective = self.progress, self.objective
        stats: Stats = {}
        for _ in range(objective.critic_steps(self.cfg.train.k, p.g_steps)):
            stats = objective.d_update(self.real_batch(p.d_steps), self.clock())
            p.d_steps += 1
        stats.update(objective.g_update(self.clock(after_d=True)))
        p.g_steps += 1
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
        if t.max_steps and p.g_steps >= t.max_steps:
            return True
        return bool(t.epochs) and p.d_steps >= t.epochs * self.batches_per_epoch

    def planned_steps(self) -> tuple[int, int] | None:
        """(generator, discriminator) updates at the end of the run by its epochs and max_steps:
        `done()`'s rule run over the critic-step schedule alone (so WGAN's warm-up counts).
        None when that is more than PLAN_LIMIT generator steps away."""
        t, p = self.cfg.train, self.progress
        g, d = p.g_steps, p.d_steps
        d_end = t.epochs * self.batches_per_epoch
        while not ((t.max_steps and g >= t.max_steps) or (t.epochs and d >= d_end)):
            if g - p.g_steps >= PLAN_LIMIT:
                return None
            d += self.objective.critic_steps(t.k, g)
            g += 1
        return g, d

    def warmup_text(self, plan: tuple[int, int] | None) -> str | None:
        """One line on the critic steps a warm-up adds to the planned run, or None."""
        if plan is None:
            return None
        k, p = self.cfg.train.k, self.progress
        g, d = plan[0] - p.g_steps, plan[1] - p.d_steps
        extra = d - k * g
        if extra <= 0:
            return None
        how = "; losses.wgan_warmup=false turns it off" if self.cfg.loss == "wgan" else ""
        return (f"critic warm-up: {extra:,} critic steps on top of k = {k} per generator step "
                f"for the {g:,} generator steps to go ({d:,} critic steps in all, counted by the "
                f"progress bar){how}")

    def hooks(self) -> list[Hook]:
        from gankit.train.evaluation import EvaluationHook
        from gankit.train.logging import TrainingLogger
        from gankit.train.outputs import Checkpoints, SampleGrids

        objective = self.objective
        plan = self.planned_steps()
        logger = TrainingLogger(self.cfg, self.run_dir, objective.probabilities,
                                objective.diagnostics, objective.preview, self.monitor,
                                self.progress.d_steps, plan and plan[1], self.data.is_image)
        if warmup := self.warmup_text(plan):
            logger.write(warmup)  # WGAN's first steps are slow: say why before they start
        return [
            logger,
            SampleGrids(self.cfg, self.run_dir, self.data, objective.preview),
            EvaluationHook(self.cfg, self.data, logger.log_eval, self.done),
            Checkpoints(self.cfg.train.checkpoint_every, self.save),
            *self.extra_hooks,
        ]

    def run(self) -> Path:
        """Train until the config's epochs or max_steps (or a hook says stop); returns the run
        folder. Ctrl-C and SIGTERM stop at the next iteration boundary and save."""
        iteration = (self.simultaneous_iteration if self.cfg.train.update == "simultaneous"
                     else self.algorithm1_iteration)
        hooks = self.hooks()
        self.objective.train_mode()
        stop = _StopSignals()
        with stop:
            while not (self.done() or stop.received or any(h.should_stop() for h in hooks)):
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
            raise Interrupted(stop.received)
        return self.run_dir

    def _check_finite(self, stats: Stats) -> None:
        for key in ("d_loss", "g_loss"):
            if key in stats and not torch.isfinite(stats[key]).all():
                kept = (f"the checkpoint of step {self.saved_step} is kept"
                        if self.saved_step is not None else "no checkpoint was written")
                raise GankitError(
                    f"{key} is {stats[key].item()} at generator step {self.progress.g_steps} "
                    f"(non-finite: {self.objective.first_non_finite(stats)}); training stopped, "
                    f"{kept} in {self.run_dir}; lower the learning rate or change the loss")

    def state(self) -> dict[str, Any]:
        return {
            **self.objective.state_dict(),
            "d_steps": self.progress.d_steps,
            "g_steps": self.progress.g_steps,
            "epoch": self.epoch_of(self.progress.d_steps),
            "data_shape": list(self.data.shape),
            "n_classes": self.data.n_classes,
            "monitor": self.monitor.state() if self.monitor is not None else None,
        }

    def save(self, finished: bool = False) -> None:
        if not self.objective.all_finite():
            kept = (f"the checkpoint of step {self.saved_step} is kept"
                    if self.saved_step is not None else "no checkpoint was written")
            raise GankitError(f"the weights are not finite at generator step "
                              f"{self.progress.g_steps}; {kept} in {self.run_dir}; lower the "
                              "learning rate")
        save_checkpoint(self.run_dir / runs.CHECKPOINT_FILE, self.state())
        self.saved_step = self.progress.g_steps
        runs.write_status(self.run_dir, {
            "step": self.progress.g_steps,
            "d_steps": self.progress.d_steps,
            "epoch": self.epoch_of(self.progress.d_steps),  # the epoch the next step is in
            "epochs_done": round(self.progress.d_steps / self.batches_per_epoch, 3),
            "finished": finished,
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        })

    def _restore(self) -> None:
        state = load_checkpoint(self.run_dir / runs.CHECKPOINT_FILE, map_location=self.device)
        try:
            self.objective.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GankitError(
                f"the checkpoint in {self.run_dir} does not fit this config ({first}); resume "
                "without the override that changes the networks, or start a new run"
            ) from None
        self.progress = Progress(d_steps=state["d_steps"], g_steps=state["g_steps"])
        self.saved_step = self.progress.g_steps
        if state.get("monitor") is not None:
            self.monitor.load_state(state["monitor"])
        set_rng_state(state["rng"])
        runs.truncate_metrics(self.run_dir, self.progress.g_steps)

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


class _StopSignals:
    """Turns SIGINT and SIGTERM into a flag the loop reads between iterations, so a stop never
    saves a half-finished iteration. A second signal acts at once (the checkpoint write is
    atomic, so even that cannot corrupt the run folder)."""

    NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

    def __init__(self) -> None:
        self.received: str | None = None
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = self.NAMES[signum]
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __enter__(self) -> _StopSignals:
        try:
            for sig in self.NAMES:
                self.previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: signals stay as they are
            self.previous = {}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def train(config: Config, run_dir: str | Path | None = None, resume: bool = False,
          force: bool = False, hooks: Sequence[Hook] = ()) -> Path:
    """Train as `config` says; returns the run folder (see `gankit.load_run`)."""
    return Trainer(config, run_dir, resume=resume, force=force, hooks=hooks).run()
