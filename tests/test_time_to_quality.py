"""benchmarks/time_to_quality.py's level logic: when a curve first reaches a level (interpolated
between evaluations), "not reached" otherwise, and the ratio of the two loops' minutes."""

from __future__ import annotations

import importlib
import math
import sys

import pytest

from conftest import REPO


def _report():
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import `common` by name
    return importlib.import_module("time_to_quality_report")


def test_crossing_interpolates_between_the_evaluations_around_the_level():
    r = _report()
    parzen = [(1.0, 80.0), (2.0, 140.0), (3.0, 160.0), (4.0, 155.0)]
    c = r.crossing(parzen, 150.0, higher_is_better=True)
    assert c["reached"] and not c["upper_bound"]
    assert c["minutes"] == pytest.approx(2.5)  # 140 -> 160 between minutes 2 and 3
    fd = [(1.0, 100.0), (2.0, 40.0), (3.0, 19.0), (4.0, 25.0)]
    c = r.crossing(fd, 20.0, higher_is_better=False)  # the first time FD is at or below 20
    assert c["minutes"] == pytest.approx(2.0 + 20.0 / 21.0)
    assert r.crossing(fd, 100.0, higher_is_better=False)["upper_bound"]  # met at once: a bound


def test_a_level_never_met_is_not_reached_within_the_last_evaluation():
    r = _report()
    curve = [(1.0, 80.0), (2.0, float("nan")), (3.5, 149.9)]
    c = r.crossing(curve, 150.0, higher_is_better=True)
    assert not c["reached"] and c["minutes"] is None and c["within"] == 3.5
    assert r.minutes_text(c) == "not reached within 3.5"
    # A non-finite value before the crossing gives no interpolation: the crossing's time, a bound.
    c = r.crossing([(1.0, float("nan")), (2.0, 151.0)], 150.0, higher_is_better=True)
    assert c["reached"] and c["upper_bound"] and c["minutes"] == 2.0
    assert r.minutes_text(c) == "≤ 2.00"
    assert not r.crossing([], 150.0, True)["reached"]


def test_ratio_is_reference_over_gankit_and_a_bound_when_one_side_missed():
    r = _report()
    g = r.crossing([(1.0, 100.0), (2.0, 200.0)], 150.0, True)  # 1.5
    ref = r.crossing([(1.0, 100.0), (2.0, 120.0), (3.0, 180.0)], 150.0, True)  # 2.5
    assert r.ratio_text(g, ref) == f"{2.5 / 1.5:.2f}x"
    missed = r.crossing([(1.0, 100.0), (3.0, 120.0)], 150.0, True)
    assert r.ratio_text(g, missed) == f"> {3.0 / 1.5:.2f}x (reference not there)"
    assert r.ratio_text(missed, ref) == f"< {2.5 / 3.0:.2f}x (gankit not there)"
    assert r.ratio_text(missed, missed) == "-"


def test_doc_rows_come_from_the_curves():
    r = _report()

    def run(values):
        return {"config": "mnist-dcgan", "train_cpu_min": 2.0, "wall_min": 3.0, "g_steps": 10,
                "epochs": 0.1, "images_per_cpu_s": 5.0, "eval_cpu_min": 0.1,
                "curve": [{"cpu_min": t, "g_steps": 5, "fid": v} for t, v in values]}

    results = {"runs": {"dcgan": {"gankit": {"0": run([(1.0, 600.0), (2.0, 15.0)])},
                                  "reference": {"0": run([(1.0, 700.0), (2.0, 30.0)])}}},
               "commands": ["x"], "date": "d", "machine": "m", "load_average": "l",
               "budget_cpu_min": {"dcgan": 2.0}, "eval_every_cpu_min": {"dcgan": 1.0}, "n_eval": 100,
               "differences": []}
    rows = {row["level"]: row for row in r.level_rows(results)}
    assert rows[20.0]["gankit"]["minutes"] == pytest.approx(1.0 + 580.0 / 585.0)
    assert not rows[20.0]["reference"]["reached"] and not rows[10.0]["gankit"]["reached"]
    assert rows[300.0]["ratio"].endswith("x")
    assert math.isclose(rows[300.0]["reference"]["minutes"], 1.0 + 400.0 / 670.0)
    doc = r.render_doc(results, "p.png")
    assert "DCGAN classifier FD 20 (reference loop, seed 0)" in doc and "**not met**" in doc
    assert "Across seeds" not in doc  # one seed: no summary over seeds
    assert "Not run (no time for it on this machine in this session): paper MLP" in doc
    del results["runs"]["dcgan"]["reference"]  # one loop only: its rows stay, the goal is not met
    rows = r.level_rows(results)
    assert rows and all(row["reference"] is None and row["ratio"] == "-" for row in rows)
    doc = r.render_doc(results, "p.png")
    assert "| not run | - |" in doc and "**not met**" in doc and "DCGAN (reference loop)" in doc


def test_reference_loop_samples_are_seeded_batched_and_leave_g_training():
    import torch

    from conftest import tiny_config
    from gankit.bench.reference import ReferenceLoop
    from gankit.data.dataset import load_training_data

    cfg = tiny_config()
    data = load_training_data(cfg.data, cfg.seed)
    loop = ReferenceLoop(cfg, data, torch.device("cpu"))
    loop.iteration()
    a = loop.samples(7, torch.Generator().manual_seed(3), batch_size=3)
    b = loop.samples(7, torch.Generator().manual_seed(3))
    assert a.shape == (7, *data.shape)
    assert torch.allclose(a, b) and loop.G.training
    assert not torch.allclose(a, loop.samples(7, torch.Generator().manual_seed(4)))


def _script():
    _report()  # puts benchmarks/ on sys.path
    return importlib.import_module("time_to_quality")


def test_keep_retrains_a_model_given_another_budget_and_keeps_the_others():
    s = _script()
    results = {"runs": {"mlp": {"gankit": {"0": {}}, "reference": {"0": {}}},
                        "dcgan": {"gankit": {"0": {}}, "reference": {"0": {}}}},
               "budget_cpu_min": {"mlp": 12.0, "dcgan": 6.0},
               "eval_every_cpu_min": {"mlp": 1.0, "dcgan": 1.0}}
    loops = ["gankit", "reference"]
    same = s.to_train(results, ["mlp", "dcgan"], loops, {"mlp": 12.0, "dcgan": 6.0}, 1.0)
    assert same == [] and set(results["runs"]) == {"mlp", "dcgan"}
    longer = s.to_train(results, ["dcgan"], loops, {"mlp": 12.0, "dcgan": 45.0}, 1.0)
    assert longer == [("dcgan", "gankit", 0), ("dcgan", "reference", 0)]
    # the DCGAN's 6-minute runs are gone (never compared with a 45-minute one); the MLP's stay
    assert "dcgan" not in results["runs"] and set(results["runs"]["mlp"]) == set(loops)
    other_interval = s.to_train(results, ["mlp"], ["gankit"], {"mlp": 12.0, "dcgan": 45.0}, 2.0)
    assert other_interval == [("mlp", "gankit", 0)] and "mlp" not in results["runs"]
    # another seed at the same budget adds runs and keeps the saved seed's
    results["runs"]["mlp"] = {"gankit": {"0": {}}, "reference": {"0": {}}}
    more = s.to_train(results, ["mlp"], loops, {"mlp": 12.0, "dcgan": 45.0}, 1.0, seeds=(0, 1))
    assert more == [("mlp", "gankit", 1), ("mlp", "reference", 1)]
    assert set(results["runs"]["mlp"]["gankit"]) == {"0"}


def test_the_doc_says_whether_the_loops_ran_side_by_side():
    r = _report()
    run = {"date": "2026-12-02T18:00:00", "machine": "AMD EPYC (AVX2), 2 CPU cores, Linux"}
    side = r.how_run("DCGAN", {"gankit": {**run, "side_by_side": 2},
                               "reference": {**run, "side_by_side": 2}})
    assert "side by side" in side and "not side by side" not in side
    assert "2026-12-02 on AMD EPYC (AVX2)" in side
    # an older record (no side_by_side key) or one loop run alone: one after the other
    apart = r.how_run("paper MLP", {"gankit": {**run, "side_by_side": 2}, "reference": {}})
    assert "one after the other" in apart and "date not recorded" in apart


def test_seeds_get_their_own_rows_and_a_geometric_mean_of_their_ratios():
    r = _report()

    def run(values):
        return {"config": "mnist-dcgan", "train_cpu_min": 3.0, "wall_min": 3.0, "g_steps": 10,
                "epochs": 0.1, "images_per_cpu_s": 5.0, "eval_cpu_min": 0.1,
                "curve": [{"cpu_min": t, "g_steps": 5, "fid": v} for t, v in values]}

    # seed 0: gankit at FD 20 after 1.5 min, the reference after 3.0 (2x); seed 1: 2.0 and 1.0
    results = {"runs": {"dcgan": {
        "gankit": {"0": run([(1.0, 30.0), (2.0, 10.0)]), "1": run([(1.0, 30.0), (3.0, 10.0)])},
        "reference": {"0": run([(2.0, 30.0), (4.0, 10.0)]), "1": run([(0.5, 30.0), (1.5, 10.0)])}}},
        "commands": ["x"], "date": "d", "machine": "m", "load_average": "l",
        "budget_cpu_min": {"dcgan": 4.0}, "eval_every_cpu_min": {"dcgan": 1.0}, "n_eval": 100,
        "differences": []}
    rows = [row for row in r.level_rows(results) if row["level"] == 20.0]
    assert [(row["seed"], row["ratio"]) for row in rows] == [("0", "2.00x"), ("1", "0.50x")]
    summary = {row[2]: row for row in r.across_seeds(r.level_rows(results))}
    assert summary["20"][3] == "seed 0: 2.00x; seed 1: 0.50x"
    assert summary["20"][4] == "1.00x"  # 2x and 0.5x: no faster on average (the mean is 1.25x)
    assert summary["10"][4] == "1.00x"
    assert summary["400 (extra)"][4].startswith("- ")  # met at the first evaluation: bounds
    doc = r.render_doc(results, "p.png")
    assert "### Across seeds" in doc and "training seeds DCGAN 0, 1" in doc
    assert "### DCGAN, reference loop, seed 1" in doc
    # a seed run for one loop only is named as not run
    del results["runs"]["dcgan"]["reference"]["1"]
    assert "DCGAN (reference loop, seed 1)" in r.render_doc(results, "p.png")


def test_a_json_from_before_seeds_reads_as_seed_0():
    r = _report()
    old = {"seed": 0, "runs": {"mlp": {"gankit": {"curve": []}, "reference": {"curve": []}}}}
    new = r.migrate(old)
    assert new["runs"]["mlp"] == {"gankit": {"0": {"curve": []}}, "reference": {"0": {"curve": []}}}
    assert "seed" not in new and r.migrate(new) == new  # reading twice changes nothing


def _fd_run(values, date="2026-12-03T16:00:00", side_by_side=2):
    return {"config": "mnist-dcgan", "train_cpu_min": 3.0, "wall_min": 3.0, "g_steps": 10,
            "epochs": 0.1, "images_per_cpu_s": 5.0, "eval_cpu_min": 0.1, "date": date,
            "side_by_side": side_by_side,
            "curve": [{"cpu_min": t, "g_steps": 5, "fid": v} for t, v in values]}


def test_the_speed_options_loop_gets_its_own_columns_and_ratios_and_is_never_missing():
    r = _report()
    # seeds 0 and 1: gankit and the reference (2x, 0.5x); seed 2: the speed-options loop and the
    # reference (FD 20 at 1.5 and 3.0 min: 2x); seed 3: the speed-options loop alone
    results = {"runs": {"dcgan": {
        "gankit": {"0": _fd_run([(1.0, 30.0), (2.0, 10.0)]),
                   "1": _fd_run([(1.0, 30.0), (3.0, 10.0)])},
        "gankit-fast": {"2": _fd_run([(1.0, 30.0), (2.0, 10.0)]),
                        "3": _fd_run([(1.0, 30.0), (2.0, 10.0)])},
        "reference": {"0": _fd_run([(2.0, 30.0), (4.0, 10.0)]),
                      "1": _fd_run([(0.5, 30.0), (1.5, 10.0)]),
                      "2": _fd_run([(2.0, 30.0), (4.0, 10.0)])}}},
        "commands": ["x"], "date": "d", "machine": "m", "load_average": "l",
        "budget_cpu_min": {"dcgan": 4.0}, "eval_every_cpu_min": {"dcgan": 1.0}, "n_eval": 100,
        "differences": []}
    rows = {(row["seed"], row["level"]): row for row in r.level_rows(results)}
    assert rows[("2", 20.0)]["ratio_fast"] == "2.00x" and rows[("2", 20.0)]["ratio"] == "-"
    assert rows[("0", 20.0)]["ratio_fast"] == "-" and rows[("0", 20.0)]["ratio"] == "2.00x"
    # across seeds, each loop only over the seeds it shares with the reference: gankit's
    # geometric mean stays over seeds 0 and 1; the speed-options loop has one such seed, no row
    summary = r.across_seeds(r.level_rows(results))
    fd20 = next(row for row in summary if row[2] == "20")
    assert fd20[3] == "seed 0: 2.00x; seed 1: 0.50x" and fd20[4] == "1.00x"
    assert r.across_seeds(r.level_rows(results), "gankit-fast") == []
    doc = r.render_doc(results, "p.png")
    assert "| gankit + speed options CPU min |" in doc
    assert "| reference / (gankit + speed options) |" in doc
    assert "`train.channels_last`, `train.fused_optim`, `train.gemm_image_convs`" in doc
    # the optional loop is never listed as not run; the required ones are (seeds 2 and 3)
    assert "DCGAN (gankit, seed 2, gankit, seed 3, reference loop, seed 3)" in doc
    assert "gankit + speed options, seed 0" not in doc.split("Not run")[1].split("\n")[0]
    # without any run of the optional loop the table keeps its two-loop columns
    del results["runs"]["dcgan"]["gankit-fast"]
    assert "speed options" not in r.render_doc(results, "p.png")


def test_runs_count_as_side_by_side_only_when_they_ended_together():
    r = _report()
    a = _fd_run([], date="2026-12-03T16:00:00")
    b = _fd_run([], date="2026-12-03T16:10:00")
    later = _fd_run([], date="2026-12-03T18:00:00")
    assert r.together({"gankit": a, "reference": b})  # 10 min apart: one invocation
    assert not r.together({"gankit": a, "gankit-fast": later, "reference": b})
    assert not r.together({"gankit": a, "reference": _fd_run([], side_by_side=1)})
    assert not r.together({"gankit": a, "reference": {**b, "date": ""}})
    assert "one after the other" in r.how_run("DCGAN", {"gankit": a, "reference": later})


def test_the_speed_options_loop_trains_gankit_with_the_float32_options(monkeypatch):
    s = _script()
    seen = {}

    def fake_gankit(cfg, data, marks, metrics, n, data_dir, name=""):
        seen["cfg"], seen["name"] = cfg, name

        class Clock:
            def train_cpu(self):
                return 60.0

            def wall(self):
                return 60.0

        return [{"cpu_min": 1.0, "g_steps": 1, "fid": 1.0, "eval_cpu_s": 0.0}], Clock(), 1

    monkeypatch.setattr(s, "run_gankit", fake_gankit)
    monkeypatch.setattr(s, "load_training_data", lambda data, seed: type("D", (), {"x": [0] * 64})())
    run = s.train_run("dcgan", "gankit-fast", 2, [], [60.0], 10, None)
    t = seen["cfg"].train
    assert t.channels_last and t.fused_optim and t.gemm_image_convs and seen["cfg"].seed == 2
    assert run["options"] == s.SPEED_OPTIONS["dcgan"] and "speed options" in seen["name"]
    s.train_run("dcgan", "gankit", 2, [], [60.0], 10, None)
    assert not (seen["cfg"].train.channels_last or seen["cfg"].train.gemm_image_convs)
