"""`gankit bench speed`: the measurement on a tiny config, its JSON contract, and its parts."""

from __future__ import annotations

import json
import re
import statistics

import pytest
import torch
from torch import nn

from conftest import REPO, tiny_config
from gankit.bench.gemm import GemmRecorder, GemmReplay, TensorSpec
from gankit.bench.speed import bench_speed
from gankit.cli import main as gankit_main
from gankit.commands.bench import SPEED_HELP, speed_text

TINY_BENCH = dict(rounds=2, warmup=1, round_seconds=0.02, peak_sizes=(64, 128))
CONTRACT = {
    "config", "update", "k", "batch_size", "options", "device", "threads", "torch", "machine",
    "date", "load_average", "rounds", "iterations_per_round", "iteration_s", "iteration_s_all",
    "images_per_iteration", "images_per_s", "flops_per_iteration", "flops_per_image",
    "gflops_per_s", "matmul_peak_gflops", "peak_ratio", "gemm_calls", "gemm_limit_s",
    "gemm_limit_ratio", "gemm_limit_ratio_se", "reference_images_per_s", "reference_iteration_s",
    "reference_flops_per_iteration", "speedup_vs_reference", "speedup_vs_reference_se",
    "time_shares",
}


@pytest.fixture(scope="module")
def result() -> dict:
    torch.set_num_threads(1)
    return bench_speed(tiny_config("train.k=2"), **TINY_BENCH)


def test_bench_reports_every_contract_key_with_consistent_numbers(result):
    assert set(result) == CONTRACT
    assert result["images_per_iteration"] == 2 * 50  # k = 2 real minibatches of 50
    assert result["images_per_s"] == pytest.approx(100 / result["iteration_s"])
    assert result["iteration_s"] == statistics.median(result["iteration_s_all"])
    assert result["flops_per_iteration"] > 0 and result["gemm_calls"] > 0
    assert result["gflops_per_s"] == pytest.approx(
        result["flops_per_iteration"] / result["iteration_s"] / 1e9)
    assert result["peak_ratio"] == pytest.approx(
        result["gflops_per_s"] / result["matmul_peak_gflops"])
    assert result["gemm_limit_ratio"] == pytest.approx(
        result["gemm_limit_s"] / result["iteration_s"])
    assert 0 <= result["gemm_limit_ratio_se"] < result["gemm_limit_ratio"]
    assert result["speedup_vs_reference"] == pytest.approx(
        result["images_per_s"] / result["reference_images_per_s"])
    assert result["options"] == {"compile": False, "channels_last": False,
                                 "fused_optim": False, "amp": "off", "fast_dropout": False,
                                 "gemm_image_convs": False, "joint_d_pass": False}
    assert result["threads"] == 1 and result["device"] == "cpu"


def test_time_shares_split_the_iteration_by_kind_of_work(result):
    from gankit.bench.profile import KINDS, kind_of

    shares = result["time_shares"]
    assert tuple(shares) == KINDS and sum(shares.values()) == pytest.approx(1, abs=1e-3)
    assert shares["matrix products"] > 0 and shares["optimiser"] > 0  # Adam: foreach kernels
    assert kind_of("aten::addmm") == "matrix products" and kind_of("aten::_fused_adam_") == (
        "optimiser") and kind_of("aten::uniform_") == "random numbers"
    assert kind_of("aten::relu") == "other"


def test_flops_match_the_networks_arithmetic(result):
    # Tiny ring: G 2-32-32-2 (batch norm), D maxout 2-(32x2)-(32x2)-1, batch 50, k = 2.
    # Per sample: G forward 2*(2*32 + 32*32 + 32*2) FLOPs, D forward 2*(2*64 + 32*64 + 32).
    g, d = 2 * (2 * 32 + 32 * 32 + 32 * 2), 2 * (2 * 64 + 32 * 64 + 32)
    # Each D step: G forward, D forward on real and fake, D backward (weights; input gradient
    # beyond the first layer) for both. The G step: G and D forward, D backward (inputs only),
    # G backward (weights and inputs beyond the first layer).
    d_back_weights = d
    d_back_inputs = d - 2 * 2 * 64  # no gradient for the data themselves
    g_back = g + (g - 2 * 2 * 32)
    d_step = g + 2 * d + 2 * (d_back_weights + d_back_inputs)
    g_step = g + d + (d_back_inputs + 2 * 2 * 64) + g_back
    assert result["flops_per_iteration"] == 50 * (2 * d_step + g_step)
    # The reference: G forward and backward once (G's update), D forward three times, D's
    # backward in G's update with weight gradients, and D's update on real and fake.
    reference = (g + g_back) + 3 * d + (d + d) + 2 * (d_back_weights + d_back_inputs)
    assert result["reference_flops_per_iteration"] == 50 * reference


def test_bench_restores_the_thread_count():
    torch.set_num_threads(2)
    try:
        bench_speed(tiny_config(), reference=False, **TINY_BENCH)  # the config asks for 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_every_json_key_is_documented_in_the_help_and_the_readme(result):
    readme = (REPO / "README.md").read_text()
    for key in CONTRACT | {"config_file", "overrides"}:
        assert re.search(rf"\b{key}\b", SPEED_HELP), key
        assert f"`{key}`" in readme, key


def test_text_output_names_the_measures(result):
    text = speed_text(result)
    for word in ("images/s", "GFLOP per iteration", "of peak", "of the limit", "tutorial loop"):
        assert word in text


def test_cli_prints_the_json_contract(capsys):
    argv = ["bench", "speed", str(REPO / "configs/ring8.yaml"), "--json", "--rounds", "1",
            "--warmup", "1", "--round-seconds", "0.01", "--peak-sizes", "64", "--no-reference",
            *[x for o in ("data.n_train=2000", "generator.hidden=[16]",
                          "discriminator.hidden=[16]") for x in ("--set", o)]]
    assert gankit_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == CONTRACT | {"config_file", "overrides"}
    assert out["reference_images_per_s"] is None and out["config"] == "ring8"


def test_recorder_sees_forward_and_backward_products_and_convolutions():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x = torch.randn(2, 1, 8, 8)
    with GemmRecorder() as rec:
        net(x).sum().backward()
    names = [c.op.__name__ for c in rec.calls]
    assert names.count("convolution.default") == 1
    assert names.count("addmm.default") == 1
    assert names.count("mm.default") == 2  # Linear's weight and input gradients
    assert names.count("convolution_backward.default") == 1
    GemmReplay(rec.calls).run(2)  # replays at the recorded shapes without error


def test_tensor_spec_rebuilds_overlapping_strides():
    t = torch.randn(3, 1).expand(3, 4)
    made = TensorSpec.of(t).make()
    assert made.shape == t.shape and made.stride() == t.stride()


def test_compare_steps_times_variants_in_the_same_rounds():
    from gankit.bench.compare import compare_steps

    out = compare_steps([tiny_config(), tiny_config("train.fused_optim=true")], rounds=2,
                        warmup=1, round_seconds=0.02)
    assert len(out) == 2 and out[0]["speedup"] == 1.0 and out[1]["speedup"] > 0
    assert all(len(r["iteration_s_all"]) == 2 for r in out)
    assert out[1]["images_per_s"] == pytest.approx(50 / out[1]["iteration_s"])
    # The speed-up's spread is over per-round ratios: the first variant against itself is 1.0
    # in every round (no spread), and the second's pairs each round with the first's.
    from gankit.bench.timing import paired_ratio_se

    assert out[0]["speedup_se"] == 0.0
    assert out[1]["speedup_se"] == pytest.approx(paired_ratio_se(
        out[0]["iteration_s_all"], out[1]["iteration_s_all"], 1.0))


def test_time_shares_keep_the_profilers_announcements_off_stderr(capfd):
    import torch

    from gankit.bench.profile import time_shares

    a = torch.ones(64, 64)
    shares = time_shares(lambda: a @ a, n=2)
    assert shares["matrix products"] > 0.5
    assert "profiler_start" not in capfd.readouterr().err


def test_a_single_tensor_optimisers_own_ops_count_as_optimiser():
    import torch

    from gankit.bench.profile import time_shares

    w = torch.nn.Parameter(torch.ones(512, 512))
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, foreach=False)  # plain mul_ and add_

    def iteration() -> None:
        opt.zero_grad()
        (w * 2).sum().backward()
        opt.step()

    assert time_shares(iteration, n=5)["optimiser"] > 0.2
