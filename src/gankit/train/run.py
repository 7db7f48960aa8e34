"""Run folders: `runs/<name>/` with config.yaml, metrics.jsonl, samples/, checkpoint.pt, run.json
and the lock file `.lock` (lock.py).

A run folder is only ever added to: the config is written once, metrics are appended, and the
checkpoint is replaced atomically. `load_run` rebuilds the networks of any checkpoint on the CPU.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gankit.config import Config, config_diff, config_from_dict, config_to_dict, config_to_yaml
from gankit.config.yamlfile import read_yaml_file
from gankit.errors import GankitError, first_problem
from gankit.train.checkpoint import atomic_write_bytes, load_checkpoint
from gankit.train.identity import RESUMABLE_KEYS
from gankit.train.lock import LOCK_FILE

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
STATUS_FILE = "run.json"


def is_run(path: Path) -> bool:
    return (Path(path) / CONFIG_FILE).exists()


def check_run_dir(path: Path, cfg: Config, resume: bool, force: bool = False) -> None:
    """Check a run folder before anything is built: it reads, never writes."""
    path = Path(path)
    if resume:
        if not is_run(path):
            raise GankitError(
                f"--resume: {path} is not a gankit run (no {CONFIG_FILE}); check --run-dir"
            )
        if not (path / CHECKPOINT_FILE).exists():
            raise GankitError(
                f"--resume: {path} has no {CHECKPOINT_FILE} yet; start it again without --resume"
            )
        # Through the typed config, so keys added to gankit after the run began read as their
        # defaults instead of as changes.
        saved = config_to_dict(read_config(path))
        diff = [
            line
            for line in config_diff(saved, config_to_dict(cfg))
            if line.split(":")[0] not in RESUMABLE_KEYS
        ]
        if diff and not force:
            raise GankitError(
                "refusing to resume with a changed config (use --force to resume anyway):\n  "
                + "\n  ".join(diff)
            )
        return
    if path.exists() and not path.is_dir():
        raise GankitError(f"{path} is a file, not a folder; choose another --run-dir")
    if path.exists() and any(p.name != LOCK_FILE for p in path.iterdir()):
        if is_run(path) and not (path / CHECKPOINT_FILE).exists():
            return  # stopped before its first checkpoint: nothing to lose, start it again
        if is_run(path):
            raise GankitError(
                f"run folder {path} already holds a run; continue it with --resume, or pick another --run-dir"
            )
        raise GankitError(f"{path} exists and is not an empty folder; choose another --run-dir")


# Files a run writes as it trains; a run restarted before its first checkpoint starts without them.
_RUN_OUTPUTS = (METRICS_FILE, STATUS_FILE, "eval.json")


def make_run_dir(path: Path) -> None:
    """Create the run folder (its parents too) and check that it can be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise GankitError(
            f"cannot write the run folder {path} ({exc.strerror}); choose another --run-dir"
        ) from None


def write_run_dir(path: Path, cfg: Config) -> None:
    """Write the run's config (after make_run_dir); a run restarted before its first
    checkpoint starts without the outputs of the attempt before."""
    path = Path(path)
    if is_run(path) and not (path / CHECKPOINT_FILE).exists():
        for name in _RUN_OUTPUTS:
            (path / name).unlink(missing_ok=True)
        for grid in (path / "samples").glob("*.png"):
            grid.unlink()
    (path / "samples").mkdir(parents=True, exist_ok=True)
    write_config(path, cfg)


def write_config(path: Path, cfg: Config) -> None:
    atomic_write_bytes(Path(path) / CONFIG_FILE, config_to_yaml(cfg).encode())


def read_config(path: Path) -> Config:
    path = Path(path)
    if not is_run(path):
        raise GankitError(
            f"{path} is not a gankit run folder (no {CONFIG_FILE}); give the folder `gankit train` made"
        )
    file = path / CONFIG_FILE
    raw = read_yaml_file(file, f"the run's {file}")
    if not isinstance(raw, dict):
        raise GankitError(f"the run's {file} is damaged (not a mapping of keys to values); "
                          "restore it from a backup, or copy the config you trained with there")
    try:
        return config_from_dict(raw)
    except GankitError as exc:
        raise GankitError(f"the run's {file} is damaged ({exc}); restore it from a backup, or "
                          "copy the config you trained with there") from None


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    with open(Path(path) / METRICS_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    file = Path(path) / METRICS_FILE
    if not file.exists():
        return []
    records = []
    for line in file.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if isinstance(record, dict):
            records.append(record)
    return records


def truncate_metrics(path: Path, g_steps: int) -> None:
    """Drop records logged after the checkpoint we resume from, so the log reads as one run."""
    file = Path(path) / METRICS_FILE
    if not file.exists():
        return
    kept = [r for r in read_metrics(path) if r.get("step", 0) <= g_steps]
    atomic_write_bytes(file, "".join(json.dumps(r) + "\n" for r in kept).encode())


def write_status(path: Path, status: dict[str, Any]) -> None:
    atomic_write_bytes(Path(path) / STATUS_FILE, json.dumps(status, indent=2).encode())


def epochs_text(status: dict[str, Any]) -> str:
    """'3 epochs done' from a run's status (runs made before 'epochs_done' know only the epoch)."""
    if "epochs_done" in status:
        return f"{status['epochs_done']:g} epochs done"
    return f"epoch {status.get('epoch', '-')}"


def read_status(path: Path) -> dict[str, Any]:
    file = Path(path) / STATUS_FILE
    if not file.exists():
        return {}
    try:
        status = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        first = getattr(exc, "msg", type(exc).__name__)
        raise GankitError(f"{file} is damaged ({first}); delete it (training rewrites it at the "
                          "next checkpoint)") from None
    if not isinstance(status, dict):
        raise GankitError(f"{file} is damaged (not an object); delete it (training rewrites it "
                          "at the next checkpoint)")
    return status


def run_summary(path: str | Path) -> dict[str, Any]:
    """A run at a glance, read from its files (no networks are built, so it works mid-training).

    `gankit info` prints this dict (as is with --json) and the report header renders its run,
    name and progress; its keys (run, config, status, last_metrics, last_eval, and since the
    health warnings were added, warnings) are a contract of `info --json`: keys are only added.
    """
    path = Path(path)
    cfg = read_config(path)  # first: a folder that is not a run fails with a clear message
    status, records = read_status(path), read_metrics(path)
    logs = [r for r in records if "eval" not in r]
    evals = [r for r in records if "eval" in r]
    return {
        "run": str(path),
        "config": config_to_dict(cfg),
        "status": status,
        "last_metrics": logs[-1] if logs else {},
        "last_eval": evals[-1] if evals else None,
        # Every health warning the monitor logged, oldest first.
        "warnings": [{"step": r.get("step"), "epoch": r.get("epoch"), "warning": w}
                     for r in logs for w in r.get("warnings") or []],
    }


def warnings_text(warnings: list[dict[str, Any]]) -> str:
    """'2 health warnings (steps 300-400); the last: ...' or 'no health warnings logged'."""
    if not warnings:
        return "no health warnings logged"
    steps = sorted({w["step"] for w in warnings if w.get("step") is not None})
    at = f" (steps {steps[0]}-{steps[-1]})" if len(steps) > 1 else f" (step {steps[0]})" if steps else ""
    n = len(warnings)
    return f"{n} health warning{'s' if n > 1 else ''}{at}; the last: {warnings[-1]['warning']}"


def progress_text(status: dict[str, Any]) -> str:
    """'3 epochs done, generator step 600, finished (last saved ...)' from a run's status."""
    done = "finished" if status.get("finished") else "not finished"
    return (
        f"{epochs_text(status)}, generator step {status.get('step', 0)}, "
        f"{done} (last saved {status.get('time', '-')})"
    )


@dataclass
class Run:
    """A trained (or training) run, loaded for sampling and evaluation."""

    path: Path
    config: Config
    nets: dict[str, torch.nn.Module]  # the objective's trained networks (inference_nets)
    data_shape: tuple[int, ...]
    n_classes: int
    step: int
    epoch: int
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def generator(self) -> torch.nn.Module:
        """What samples are drawn from (G's EMA copy when the run kept one)."""
        return self.nets["generator"]

    @property
    def discriminator(self) -> torch.nn.Module:
        if "discriminator" not in self.nets:
            raise GankitError(f"run {self.path} (objective {self.config.objective}) has no "
                              f"discriminator; it has: {', '.join(self.nets)}")
        return self.nets["discriminator"]

    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: torch.Tensor | int | None = None,
        seed: int = 0,
        batch_size: int = 1000,
        truncation: float = 1.0,
    ) -> torch.Tensor:
        """n samples (N x data_shape) from G (its EMA copy when the run kept one), in eval mode;
        truncation psi < 1 draws z closer to its mean (see `generate`)."""
        g = torch.Generator().manual_seed(seed)
        labels = self._labels(n, labels)
        return generate(self.generator, n, labels, g, batch_size, truncation)

    def sample_drs(self, n: int, labels: torch.Tensor | int | None = None, seed: int = 0,
                   gamma: float = 0.0, batch_size: int = 1000, refit_steps: int = 0) -> Any:
        """n samples kept by discriminator rejection sampling (train/rejection.py): a
        RejectionSample with the samples and the share of G's draws that D kept. With
        refit_steps, a copy of D first trains that many minibatches against G (the run's
        training data, loaded as training loads it)."""
        from gankit.train.rejection import refit_discriminator, rejection_sample

        if problem := self.drs_problem():
            raise GankitError(problem)
        D = self.discriminator
        if refit_steps < 0:
            raise GankitError(f"--drs-refit {refit_steps}: give 0 (D as trained) or more steps")
        g = torch.Generator().manual_seed(seed)
        if refit_steps:
            from gankit.data.dataset import load_training_data

            data = load_training_data(self.config.data, self.config.seed)
            y = data.y if self.config.data.conditional else None
            D = refit_discriminator(self.generator, D, data.x, y, refit_steps, g)
        return rejection_sample(self.generator, D, n, self._labels(n, labels), g, gamma,
                                batch_size)

    def drs_problem(self) -> str | None:
        """Why discriminator rejection sampling does not apply to this run, or None."""
        from gankit.config.schema import GAN_D_OBJECTIVES
        from gankit.losses import make_loss

        if self.config.objective not in GAN_D_OBJECTIVES or not make_loss(self.config.loss).probabilities:
            return (f"--drs needs a D trained with the minimax or non-saturating loss (its logit "
                    f"estimates log p_data/p_G); run {self.path} has objective "
                    f"{self.config.objective}, loss {self.config.loss}; sample it without --drs")
        pack = getattr(self.discriminator, "pack", 1)
        if pack != 1:
            return (f"--drs needs a D that scores one sample at a time; run {self.path} packs "
                    f"{pack} (PacGAN); sample it without --drs")
        return None

    def _labels(self, n: int, labels: torch.Tensor | int | None) -> torch.Tensor | None:
        if self.n_classes and self.config.data.conditional:
            if labels is None:
                labels = torch.arange(n) % self.n_classes
            elif isinstance(labels, int):
                if not 0 <= labels < self.n_classes:
                    raise GankitError(
                        f"--labels {labels} is out of range; this run has labels 0..{self.n_classes - 1}"
                    )
                labels = torch.full((n,), labels, dtype=torch.long)
        elif labels is not None:
            raise GankitError(
                "this run is not conditional: --labels needs a run trained with data.conditional=true"
            )
        return labels

    def metrics(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)


@torch.no_grad()
def generate(
    G: torch.nn.Module,
    n: int,
    labels: torch.Tensor | None,
    generator: torch.Generator,
    batch_size: int = 1000,
    truncation: float = 1.0,
) -> torch.Tensor:
    """n samples of G in batches, the noise drawn from `generator` (the global RNG is untouched).

    truncation psi: z is drawn and then scaled to psi * z, psi times as far from the noise's
    mean (0 for every G here): the truncation trick in the form of Karras et al. (2019), which
    trades variety (recall) for typical samples (precision), Brock et al. (2019). 1 draws G's
    own noise; 0 gives each label one image; above 1 (at most 2) trades the other way.
    """
    check_truncation(truncation)
    device = next(G.parameters()).device
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z = G.sample_z(m, generator=generator).to(device)
        if truncation != 1:  # skipped at 1, so untruncated samples stay bit-identical
            z = z * truncation
        y = labels[start : start + m].to(device) if labels is not None else None
        out.append(G(z, y).cpu())
    return torch.cat(out)


MAX_TRUNCATION = 2.0  # psi beyond it draws z far outside what G was trained on


def check_truncation(psi: float, where: str = "truncation") -> None:
    """Refuse a truncation psi outside [0, 2]."""
    if not (isinstance(psi, int | float) and 0 <= psi <= MAX_TRUNCATION):
        raise GankitError(f"{where} {psi}: give a number from 0 to {MAX_TRUNCATION:g} (1 = G's "
                          "own noise, smaller = samples closer to the typical one, larger = "
                          "more varied)")


def load_run(path: str | Path, map_location: str = "cpu") -> Run:
    """Rebuild the trained networks of a run folder from its checkpoint (on the CPU by
    default): its objective (train/objectives.py) says which they are."""
    from gankit.train.objectives import OBJECTIVES

    path = Path(path)
    cfg = read_config(path)
    file = path / CHECKPOINT_FILE
    state = load_checkpoint(file, map_location=map_location, config=cfg)
    try:
        shape, n_classes = tuple(state["data_shape"]), state["n_classes"]
        nets = OBJECTIVES[cfg.objective].inference_nets(cfg, shape, n_classes, state)
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise GankitError(f"checkpoint {file} does not fit the run's {CONFIG_FILE} "
                          f"({first_problem(exc)}); "
                          "put back the checkpoint this run wrote, or train a new run") from None
    for net in nets.values():
        net.eval()
    return Run(
        path, cfg, nets, shape, n_classes, state["g_steps"], state["epoch"], read_status(path)
    )


def default_run_dir(cfg: Config) -> Path:
    return Path(os.environ.get("GANKIT_RUNS_DIR", "runs")) / cfg.name
