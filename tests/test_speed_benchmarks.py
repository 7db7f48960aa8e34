"""benchmarks/speed.py, speed_report.py and gpu.sh: computed verdicts, and the GPU script's CPU-side parts."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, tiny_config
from gankit.bench.speed import bench_speed


def _load(name: str):
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import `common` by name
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / f"benchmarks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _bench(variant: str, speedup: float, gemm: float = 0.8, ref: float = 1.0,
           threads: int = 1, overrides: tuple[str, ...] = (), peak: float = 0.5) -> dict:
    return {"variant": variant, "gemm_limit_ratio": gemm, "speedup_vs_reference": ref,
            "same_rounds": {"speedup": speedup}, "threads": threads,
            "overrides": list(overrides), "peak_ratio": peak}


EVAL = {"features": {"median_s": 7.5, "wall_s": [7.4, 7.5, 7.6]},
        "parzen": {"median_s": 6.2, "wall_s": [6.1, 6.2, 6.3]}}


def test_bf16_sentence_pairs_each_bf16_row_with_its_float32_row_and_names_the_cpu():
    report = _load("speed_report")
    results = {"mnist-dcgan": [_bench("as shipped", 1.0), _bench("cl, gemm", 1.25),
                               _bench("cl, gemm, amp=bf16", 0.1)],
               "ring8": [_bench("as shipped", 1.0)]}
    text = report.bf16_here(results, {"cpu_native_bf16": False})
    assert text == ("this CPU lacks them; bf16 against the same options in float32, same rounds: "
                    "mnist-dcgan 0.08x")
    assert report.bf16_here({"ring8": results["ring8"]}, {"cpu_native_bf16": True}).endswith(
        "has them; bf16 against the same options in float32, same rounds: no bf16 row measured")


def test_machine_info_reads_the_cpu_flags(monkeypatch, tmp_path):
    import gankit.bench.speed as bench_module
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: sse avx2 avx512_bf16\n"
                       "processor\t: 1\nmodel name\t: Other\nflags\t\t: sse\n")
    real_path = bench_module.Path
    monkeypatch.setattr(bench_module, "Path",
                        lambda p: cpuinfo if p == "/proc/cpuinfo" else real_path(p))
    info = bench_module.machine_info()
    assert (info["cpu"], info["cpu_native_bf16"]) == ("Some CPU", True)
    cpuinfo.write_text("model name\t: Some CPU\nflags\t\t: sse avx2 avx512bw\n")
    assert bench_module.machine_info()["cpu_native_bf16"] is False


def test_speed_goal_lines_are_computed_from_the_numbers():
    report = _load("speed_report")
    results = {
        "mnist-paper": [_bench("as shipped", 1.0, gemm=0.82), _bench("fused_optim", 1.04, gemm=0.91),
                        _bench("fused_optim, amp=bf16", 1.5, gemm=0.95)],
        "mnist-dcgan": [_bench("as shipped", 1.0, ref=0.98), _bench("cl", 1.6, ref=1.5),
                        _bench("cl, gemm", 1.55), _bench("cl, bf16", 2.0)],
        "mnist-cdcgan": [_bench("as shipped", 1.0), _bench("cl", 1.28, ref=0.9),
                         _bench("cl, bf16", 1.7)],
    }
    lines = report.goal_lines(results, EVAL)
    assert lines[0].startswith("- paper MLP") and "**met**" in lines[0] and "91%" in lines[0]
    assert "default masks" not in lines[0]
    assert "float32 options **met** (cl: 1.60x, no per-round spread" in lines[1]  # the fastest
    assert "**met** with the float32 options (cl: 1.50x, no per-round spread saved" in lines[2]
    assert "float32 options **not met** (cl: 1.28x, no per-round spread" in lines[3]
    assert "bf16 autocast **met** (1.70x)" in lines[3]
    assert "**not met**" in lines[4]  # 0.9x the reference
    assert lines[5].startswith("- 10,000-sample FD/KID/PR/DC in under 10 s: **met** (median 7.5 s;")
    assert "**not met** (median 6.2 s; mean 6.20 ± 0.06 s over 3 runs" in lines[6]
    # A variant with other dropout masks is named as such, beside the best with the default ones.
    results["mnist-paper"].insert(2, _bench("fused_optim, fast_dropout", 1.2, gemm=0.93))
    line = report.goal_lines(results, EVAL)[0]
    assert ("(fused_optim, fast_dropout) 93%, no per-round spread saved with these results: no "
            "margin; its dropout masks are other draws") in line
    assert "best with the default masks (fused_optim) 91%" in line


def test_speed_goals_need_two_standard_errors_over_the_target():
    report = _load("speed_report")
    # 1.55x with a per-round s.e. of 0.03 clears 1.5 by 0.05 < 2 x 0.03: not met; 0.02: met.
    rows = [_bench("as shipped", 1.0), _bench("cl", 1.55), _bench("cl, bf16", 0.1)]
    rows[1]["same_rounds"]["speedup_se"] = 0.03
    line = report.goal_lines({"mnist-dcgan": rows}, EVAL)[0]
    assert "float32 options **not met** (cl: 1.55x ± 0.03 over the rounds, needed more than " \
           "1.56x;" in line
    rows[1]["same_rounds"]["speedup_se"] = 0.02
    assert "float32 options **met** (cl: 1.55x ± 0.02" in report.goal_lines(
        {"mnist-dcgan": rows}, EVAL)[0]
    # The MLP's GEMM-limit ratio likewise: 91 % ± 1 point is within two points of 90 %.
    paper = [_bench("as shipped", 1.0, gemm=0.8), {**_bench("fused", 1.1, gemm=0.91),
                                                   "gemm_limit_ratio_se": 0.01}]
    line = report.goal_lines({"mnist-paper": paper}, EVAL)[0]
    assert "**not met** — best float32 variant (fused) 91% ± 1.0 points over the rounds, " \
           "needed more than 92.0%" in line
    paper[1]["gemm_limit_ratio_se"] = 0.004
    assert "**met** — best" in report.goal_lines({"mnist-paper": paper}, EVAL)[0]


def test_dcgan_goal_line_says_how_far_the_matrix_products_alone_would_go():
    report = _load("speed_report")
    # x shipped / GEMM-limit ratio: 1.2 / 0.75 = 1.60x would reach the goal, 1.2 / 0.84 not
    rows = [_bench("as shipped", 1.0), _bench("cl", 1.2, gemm=0.75)]
    line = report.goal_lines({"mnist-dcgan": [*rows, _bench("cl, bf16", 0.1)]}, EVAL)[0]
    assert "alone take 75% of its iteration, so with all other work removed it would reach " \
           "1.60x);" in line
    rows[1] = _bench("cl", 1.2, gemm=0.84)
    line = report.goal_lines({"mnist-dcgan": [*rows, _bench("cl, bf16", 0.1)]}, EVAL)[0]
    assert "would reach 1.43x, still short of the goal: the float32 convolutions themselves" in line


def test_render_only_rewrites_the_page_from_the_saved_json(tmp_path):
    out = tmp_path / "speed.md"
    script = [sys.executable, str(REPO / "benchmarks/speed.py"), "--render-only", "--out", str(out)]
    missing = subprocess.run(script, capture_output=True, text=True)
    assert missing.returncode == 1 and "does not exist; measure first" in missing.stderr
    row = {**_bench("as shipped", 1.0), "torch": "2.x", "flops_per_iteration": 1e9,
           "flops_per_image": 1e7, "gemm_calls": 3, "batch_size": 100, "images_per_s": 10.0,
           "iteration_s": 0.1, "gflops_per_s": 10.0, "reference_images_per_s": 9.0,
           "reference_flops_per_iteration": 1e9, "matmul_peak_gflops": 90.0}
    ev = {**EVAL, "threads": 2, "classifier_load_s": 0.1}
    for key in ("features", "parzen"):
        ev[key] = {**ev[key], "cpu_s": ev[key]["wall_s"],
                   "metrics": {"fid": 1.0, "precision": 0.5, "recall": 0.5, "parzen": 240.0}}
    saved = {"train": {"ring8": [row]}, "evaluation": ev}
    out.with_suffix(".json").write_text(json.dumps(saved))
    old = subprocess.run(script, capture_output=True, text=True)
    assert old.returncode == 1 and "measure again" in old.stderr and not out.exists()
    meta = {"command": "python benchmarks/speed.py --configs ring8", "started": "2026-12-03T14:00",
            "minutes": 3.5, "load": [0.5, 1.0],
            "machine": {"cpu": "Some CPU", "cpu_capability": "AVX2", "cpu_native_bf16": False,
                        "cpu_count": 2, "platform": "Linux"}}
    out.with_suffix(".json").write_text(json.dumps({**saved, "meta": meta}))
    subprocess.run(script, check=True, capture_output=True)
    page = out.read_text()
    assert "Command: `python benchmarks/speed.py --configs ring8`" in page
    assert "Date: 2026-12-03T14:00, 3.5 minutes" in page and "Some CPU (AVX2;" in page
    assert "| as shipped | 1 | 10 | 100.0 |" in page


def test_evaluation_time_is_met_only_beyond_two_standard_errors():
    report = _load("speed_report")
    # mean 9.42, standard error 0.35: a median under 10 s, but not clearly under it
    noisy = {"median_s": 9.73, "wall_s": [9.73, 9.79, 8.73]}
    assert report.time_verdict(noisy, 10.0).startswith("**not met** (median 9.7 s; mean 9.42")
    steady = {"median_s": 9.0, "wall_s": [8.9, 9.0, 9.1]}
    assert report.time_verdict(steady, 10.0).startswith("**met**")
    assert report.time_verdict({"median_s": 4.0}, 5.0).startswith("**met**")  # older JSON


def test_more_threads_than_shipped_are_shown_but_not_counted():
    report = _load("speed_report")
    cl = ("train.channels_last=true",)
    results = {"mnist-dcgan": [
        _bench("as shipped", 1.0), _bench("cl", 1.25, overrides=cl), _bench("cl, bf16", 1.4),
        _bench("cl, 2 threads", 1.8, threads=2, overrides=(*cl, "train.threads=2"))]}
    line = report.goal_lines(results, EVAL)[0]
    assert "float32 options **not met** (cl: 1.25x, no per-round spread" in line
    assert "with 2 threads (cl, 2 threads) 1.80x, not counted" in line
    # The thread section pairs the rows that differ only in train.threads: 1.8 / 1.25.
    lines = report.thread_lines(results)
    assert lines[0] == "## Threads" and len([x for x in lines if x.startswith("- ")]) == 1
    assert "2 threads (cl, 2 threads) against 1 (cl): 1.44x the images/s" in lines[-2]
    assert report.thread_lines({"mnist-dcgan": results["mnist-dcgan"][:3]}) == []


def test_float32_rows_over_the_matmul_peak_are_explained():
    report = _load("speed_report")
    rows = [_bench("as shipped", 1.0, peak=0.9), _bench("cl, bf16", 2.0, peak=1.8)]
    assert report.peak_text({"mnist-dcgan": rows}) == ""  # bf16 may exceed the fp32 peak
    rows.append(_bench("cl", 1.2, peak=1.12))
    assert "up to 112%, mnist-dcgan, cl" in report.peak_text({"mnist-dcgan": rows})


def test_ahead_of_the_reference_needs_two_standard_errors():
    report = _load("speed_report")
    shipped = _bench("as shipped", 1.0)
    close = {**_bench("cl", 1.3, ref=1.05), "speedup_vs_reference_se": 0.03}
    assert report.reference_text(close, shipped).startswith("**not met**")  # 0.05 < 2 x 0.03
    clear = {**close, "speedup_vs_reference_se": 0.02}
    assert report.reference_text(clear, shipped).startswith("**met**")  # 0.05 > 2 x 0.02


def test_the_speed_up_standard_error_comes_from_paired_rounds():
    from gankit.bench.timing import paired_ratio_se

    # Each round's ratio is reference / iteration: 2, 2, 2 -> no spread at all.
    assert paired_ratio_se([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], 1.0) == 0.0
    # Ratios 1 and 3: std sqrt(2), s.e. 1; scaled by images per iteration / batch.
    assert paired_ratio_se([1.0, 3.0], [1.0, 1.0], 2.0) == pytest.approx(2.0)


def test_gpu_script_parses_and_refuses_a_machine_without_a_gpu():
    assert subprocess.run(["bash", "-n", str(REPO / "benchmarks/gpu.sh")]).returncode == 0
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    env = {**os.environ, "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["bash", str(REPO / "benchmarks/gpu.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "sees no CUDA GPU" in done.stderr


def _gpu_dry_run(tmp_path, python: str, budget: int, reserve: int, bench_timeout: int,
                 hang_s: int) -> str:
    """gpu.sh --device cpu --configs ring8 with `python` and these time limits (hang_s: when the
    test gives up on the script); its gpu.md."""
    out = tmp_path / "gpu.md"
    env = {**os.environ, "PYTHON": python, "TMPDIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
           "GANKIT_GPU_BUDGET": str(budget), "GANKIT_GPU_RESERVE": str(reserve),
           "GANKIT_BENCH_TIMEOUT": str(bench_timeout)}
    done = subprocess.run(["bash", str(REPO / "benchmarks/gpu.sh"), "--device", "cpu",
                           "--configs", "ring8", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=hang_s)
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text()


def test_gpu_script_dry_run_on_the_cpu_measures_and_keeps_its_time_budget(tmp_path):
    """The script has never had a GPU: --device cpu runs its steps here, so a lent GPU's
    minutes are not spent finding its bugs. The budget (60 s, 15 of them kept for the training
    steps and the report) must hold: benches past it are skipped, not run."""
    start = time.monotonic()
    text = _gpu_dry_run(tmp_path, sys.executable, budget=60, reserve=15, bench_timeout=40,
                        hang_s=180)
    elapsed = time.monotonic() - start
    assert "**A dry run on the cpu**" in text
    rows = [line for line in text.splitlines() if line.startswith("| ring8 |")]
    assert [row.split(" | ")[1] for row in rows] == [
        "as shipped", "train.amp=bf16",
        "train.amp=bf16 train.channels_last=true train.fused_optim=true train.compile=true"]
    assert rows[0].split(" | ")[2].replace(",", "").isdigit()  # measured: images/s
    assert "skipped (0 GPUs visible)" in text  # no second GPU: no DDP step
    assert elapsed < 60 + 20  # the budget, and the report's start-up


def test_gpu_script_keeps_one_row_for_a_bench_killed_after_it_printed(tmp_path):
    """A bench that prints its JSON and is then killed by the time limit is a failed row, not a
    result and a failure: the stub below prints and then outlives the 15 s limit."""
    stub = tmp_path / "python"
    stub.write_text("#!/bin/bash\n"
                    'if [[ "$*" == *"bench speed"* ]]; then echo \'{"config": "ring8"}\'; '
                    "sleep 60; fi\n"
                    f'exec "{sys.executable}" "$@"\n')
    stub.chmod(0o755)
    text = _gpu_dry_run(tmp_path, str(stub), budget=32, reserve=5, bench_timeout=15,
                        hang_s=120)
    rows = [line for line in text.splitlines() if line.startswith("| ring8 |")]
    assert [row.split(" | ")[1:3] for row in rows] == [
        ["as shipped", "failed or timed out"],
        ["train.amp=bf16", "skipped: the script's time budget was spent"],
        ["train.amp=bf16 train.channels_last=true train.fused_optim=true train.compile=true",
         "skipped: the script's time budget was spent"]]


def test_gpu_report_renders_bench_json_failures_and_skipped_steps(tmp_path):
    report = _load("gpu_report")
    result = bench_speed(tiny_config(), rounds=1, warmup=1, round_seconds=0.01, peak_sizes=(64,))
    result.update(config_file="configs/ring8.yaml",
                  overrides=["train.device=cpu", "train.amp=bf16"])
    failed = {"failed": True, "config": "mnist-dcgan", "overrides": "train.compile=true"}
    (tmp_path / "bench.jsonl").write_text(json.dumps(result) + "\n" + json.dumps(failed) + "\n")
    (tmp_path / "train.json").write_text(json.dumps({"status": "ok", "wall_s": 12, "run": None}))
    (tmp_path / "ddp.json").write_text(json.dumps({"status": "skipped", "reason": "1 GPU visible"}))
    text = report.render(tmp_path, "bash benchmarks/gpu.sh", 65.0)
    assert "| ring8 | train.amp=bf16 |" in text
    assert "| mnist-dcgan | train.compile=true | failed or timed out |" in text
    assert "ok in 12 s" in text and "skipped (1 GPU visible)" in text
    assert "dry run" not in text
    skipped = {"skipped": True, "config": "ring8", "overrides": "train.amp=bf16"}
    with (tmp_path / "bench.jsonl").open("a") as f:
        f.write(json.dumps(skipped) + "\n")
    text = report.render(tmp_path, "bash benchmarks/gpu.sh --device cpu", 65.0, device="cpu")
    assert "| ring8 | train.amp=bf16 | skipped: the script's time budget was spent |" in text
    assert "**A dry run on the cpu**" in text


def test_where_the_time_goes_is_shown_when_it_was_measured():
    report = _load("speed_report")
    shares = {"matrix products": 0.7, "optimiser": 0.09, "random numbers": 0.04, "other": 0.17}
    rows = [{**_bench("as shipped", 1.0), "time_shares": shares},
            {**_bench("fused_optim", 1.1), "time_shares": {**shares, "optimiser": 0.05}}]
    table = report.shares_table(rows)
    assert "| variant | matrix products | optimiser | random numbers | other |" in table
    assert "| as shipped | 70% | 9% | 4% | 17% |" in table and "| fused_optim | 70% | 5%" in (
        "\n".join(table))
    assert report.shares_table([_bench("as shipped", 1.0)]) == []  # saved before it was measured
    assert "70% of the self CPU time in matrix products" in report.shares_text(rows[0])
    assert "optimiser 9%" in report.shares_text(rows[0]) and report.shares_text(_bench("x", 1)) == ""
