"""`gankit bench speed`: how fast a config's training iteration runs, and how close to the limit.

One process measures, in interleaved rounds (timing.py), four workloads:

- the step: `Trainer.algorithm1_iteration` (or `simultaneous_iteration`) as the config defines
  it, on a trainer built in a temporary run folder, after a warm-up;
- its GEMM limit: the iteration's own matrix products and convolutions replayed alone (gemm.py);
- the fp32 matrix-product peak of the machine at the same thread count (peak.py);
- the reference loop: the same networks in a tutorial-style loop (reference.py).

FLOPs per iteration are counted from one instrumented iteration by PyTorch's FlopCounterMode
(matrix products and convolutions, forward and backward). The keys of the returned dict are the
`--json` contract documented in `gankit bench speed --help` and the README.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import platform
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from gankit.bench.gemm import GemmRecorder, GemmReplay
from gankit.bench.peak import PEAK_SIZES, peak_gflops, peak_workloads
from gankit.bench.profile import time_shares
from gankit.bench.reference import ReferenceLoop
from gankit.bench.timing import Workload, calibrate, measure, paired_ratio_se
from gankit.config import Config
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError

# The speed options of `train:` reported beside every measurement.
OPTION_KEYS = ("compile", "channels_last", "fused_optim", "amp", "fast_dropout", "gemm_image_convs",
               "joint_d_pass")


def machine_info(device: torch.device | None = None) -> dict[str, Any]:
    """Platform, CPU model, core count, the vector instructions PyTorch's CPU kernels use and
    whether the CPU computes bfloat16 natively; the GPU's name when `device` is a CUDA device."""
    fields: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())  # the first processor's
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    info = {"platform": platform.platform(), "cpu": model, "cpu_count": os.cpu_count(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            # Without these oneDNN runs bf16 by conversion to float32: autocast then costs time.
            "cpu_native_bf16": bool(flags & {"avx512_bf16", "amx_bf16"})}
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


@contextlib.contextmanager
def _eager() -> Iterator[None]:
    """Compiled networks run eagerly inside (the dispatcher-level instruments need real ops)."""
    stance = getattr(torch.compiler, "set_stance", None)
    with stance("force_eager") if stance else contextlib.nullcontext():
        yield


def bench_speed(cfg: Config, *, rounds: int = 5, warmup: int = 3, round_seconds: float = 1.0,
                reference: bool = True, peak_sizes: tuple[int, ...] = PEAK_SIZES,
                data: TrainingData | None = None) -> dict[str, Any]:
    """Measure `cfg`'s training iteration; see the module docstring for what and how."""
    from gankit.train.loop import Trainer

    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, progress=False))
    threads_before = torch.get_num_threads()
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory(prefix="gankit-bench-") as tmp:
            trainer = Trainer(cfg, Path(tmp) / "run", data=data)
            return _measure(trainer, rounds, warmup, round_seconds, reference, peak_sizes,
                            load_before)
    finally:
        torch.set_num_threads(threads_before)


def _measure(trainer: Any, rounds: int, warmup: int, round_seconds: float, reference: bool,
             peak_sizes: tuple[int, ...], load_before: float) -> dict[str, Any]:
    cfg, device = trainer.cfg, trainer.device
    if not trainer.objective.adversarial:  # the reference loop and the schedule are a GAN's
        raise GankitError(f"gankit bench speed times GAN iterations; objective {cfg.objective} "
                          "has no discriminator: time it with gankit train's images/s instead")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    iteration = (trainer.simultaneous_iteration if cfg.train.update == "simultaneous"
                 else trainer.algorithm1_iteration)
    trainer.objective.train_mode()
    counted = {"iterations": 0, "d_steps": 0}

    def step(n: int) -> None:
        before = trainer.progress.d_steps
        for _ in range(n):
            iteration()
        counted["iterations"] += n
        counted["d_steps"] += trainer.progress.d_steps - before

    step_work = Workload("step", step)
    calibrate(step_work, warmup, round_seconds, sync)  # the warm-up pays any compilation
    with _eager(), FlopCounterMode(display=False) as flops, GemmRecorder() as recorder:
        iteration()
    replay = GemmReplay(recorder.calls)
    works = [step_work, Workload("gemm", replay.run), *peak_workloads(peak_sizes, device)]
    loop = ReferenceLoop(cfg, trainer.data, device) if reference else None
    if loop is not None:
        with FlopCounterMode(display=False) as reference_flops:
            loop.iteration()
        works.append(Workload("reference", loop.run))
    for work in works[1:]:
        calibrate(work, 1, round_seconds, sync)
    counted.update(iterations=0, d_steps=0)
    measure(works, rounds, sync)

    batch = cfg.train.batch_size
    images_per_iteration = counted["d_steps"] / counted["iterations"] * batch
    iteration_s = step_work.median
    flops_per_iteration = flops.get_total_flops()
    gflops_per_s = flops_per_iteration / iteration_s / 1e9
    peak = peak_gflops(works[2:2 + len(peak_sizes)], peak_sizes)
    gemm_s = works[1].median
    result: dict[str, Any] = {
        "config": cfg.name,
        "update": cfg.train.update,
        "k": cfg.train.k,
        "batch_size": batch,
        "options": {key: getattr(cfg.train, key) for key in OPTION_KEYS},
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": machine_info(device),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_average": [load_before, os.getloadavg()[0]],
        "rounds": rounds,
        "iterations_per_round": step_work.units,
        "iteration_s": iteration_s,
        "iteration_s_all": step_work.seconds,
        "images_per_iteration": images_per_iteration,
        "images_per_s": images_per_iteration / iteration_s,
        "flops_per_iteration": flops_per_iteration,
        "flops_per_image": flops_per_iteration / images_per_iteration,
        "gflops_per_s": gflops_per_s,
        "matmul_peak_gflops": peak,
        "peak_ratio": gflops_per_s / peak,
        "gemm_calls": len(recorder.calls),
        "gemm_limit_s": gemm_s,
        "gemm_limit_ratio": gemm_s / iteration_s,
        "gemm_limit_ratio_se": paired_ratio_se(works[1].seconds, step_work.seconds, 1.0),
        "reference_images_per_s": None,
        "reference_iteration_s": None,
        "reference_flops_per_iteration": None,
        "speedup_vs_reference": None,
        "speedup_vs_reference_se": None,
    }
    # Where the time goes, on the CPU (on a GPU, self CPU time is mostly launches)
    result["time_shares"] = time_shares(iteration) if device.type == "cpu" else None
    if loop is not None:
        ref_s = works[-1].median
        result.update(reference_iteration_s=ref_s, reference_images_per_s=batch / ref_s,
                      reference_flops_per_iteration=reference_flops.get_total_flops(),
                      speedup_vs_reference=result["images_per_s"] / (batch / ref_s),
                      speedup_vs_reference_se=paired_ratio_se(
                          works[-1].seconds, step_work.seconds, images_per_iteration / batch))
    return result
