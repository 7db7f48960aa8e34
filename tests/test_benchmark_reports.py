"""Benchmark documents (benchmarks/): the shared header, tables and goal check, the verdicts each
report computes (nothing typed by hand), the Parzen-curve hook, and every doc rendered byte for
byte from its saved results.

The saved results of the committed docs are in tests/data/benchmarks/ (their runs/ folders are
not in the repository). They were rebuilt from the numbers the docs print, so they hold rounded
values; rendered, they must give the committed doc exactly. After a benchmark is re-run, copy
its saved results there (dcgan.json, toy2d.json from --runs-dir; table1.json from the run).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO, tiny_config

BENCH = REPO / "benchmarks"
SAVED = Path(__file__).parent / "data" / "benchmarks"


def load(name: str):
    """A module of benchmarks/ (scripts, not part of the package; they import `common` and each
    other by name, as `python benchmarks/X.py` lets them)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def common():
    return load("common")


@pytest.fixture(scope="module")
def bench():
    return load("dcgan")


@pytest.fixture(scope="module")
def dcgan_report():
    return load("dcgan_report")


# --- common: header, tables, machine ------------------------------------------------------------


def test_header_lays_out_title_command_date_machine_in_each_style(common) -> None:
    args = ("Title", "python x.py", "2026-01-02T03:04:05", "the machine", ["More: 1"])
    assert common.header(*args) == ["# Title", "", "Command: `python x.py`",
                                    "Date: 2026-01-02T03:04:05", "Machine: the machine", "More: 1"]
    breaks = common.header(*args, style="breaks")
    assert breaks[2:] == ["Command: `python x.py`  ", "Date: 2026-01-02T03:04:05  ",
                          "Machine: the machine  ", "More: 1"]
    bullets = common.header("T", ["a", "b"], "d", "m", rendered_by="r", intro="Intro.",
                            style="bullets")
    assert bullets == ["# T", "", "Intro.", "", "- Commands: `a`, then `b`",
                       "- Doc re-rendered from the saved results by `r`", "- Date: d",
                       "- Machine: m"]
    assert common.header("T", ["only"], "d", "m")[2] == "Command: `only`"
    with pytest.raises(ValueError):
        common.header("T", "c", "d", "m", style="fancy")


def test_table_rows_and_empty_cells(common) -> None:
    assert common.table(["a", "b", "c"], [[1, "", 2.5], ["x", "y", "z"]]) == [
        "| a | b | c |", "|---|---|---|", "| 1 | | 2.5 |", "| x | y | z |"]


def test_machine_names_cores_torch_and_threads(common) -> None:
    text = common.machine(3, " per run")
    assert text.startswith(common.cpu_model())
    # The vector instructions in use, since a bare "AMD EPYC" has named CPUs of two speeds.
    assert f"({torch.backends.cpu.get_cpu_capability()}), " in text
    assert f"torch {torch.__version__} with 3 thread(s) per run" in text
    assert "CPU cores" in text
    assert "(1, 5, 15 min; busy)" in common.load_average("busy")


def test_machines_keeps_the_other_cpus_that_earlier_rows_ran_on(common) -> None:
    amd = "AMD EPYC, 2 CPU cores, Linux, torch 2.13.0+cpu with 1 thread(s); load average 3.7"
    intel = "Intel Xeon, 2 CPU cores, Linux, torch 2.13.0+cpu with 1 thread(s); load average 1.0"
    assert common.machines(None, intel) == intel
    assert common.machines(intel.replace("1.0", "2.0"), intel) == intel  # same CPU: only the new
    both = common.machines(amd, intel)
    assert both.startswith(intel) and both.endswith(amd.split(";")[0])
    # a third run on Intel keeps AMD named once; one on AMD names Intel as the earlier CPU
    assert common.machines(both, intel) == both
    back = common.machines(both, amd)
    assert back.startswith(amd) and back.count("AMD EPYC") == 1 and "Intel Xeon" in back


# --- common: the goal check ---------------------------------------------------------------------

PUBLISHED = [("weak", 200.0, 1.0), ("strong", 225.0, 2.0), ("middling", 214.0, 1.1)]


def rows(common):
    return [common.Row(*r) for r in PUBLISHED]


def test_goal_check_compares_with_the_strongest_row(common) -> None:
    check = common.goal_check(260.0, 1.0, rows(common))
    assert check.best.name == "strong" and check.met
    # Beating every row but the strongest is not enough.
    assert not common.goal_check(220.0, 0.0, rows(common)).met
    # Lower is better: the strongest row is the smallest value.
    low = common.goal_check(0.0, 0.0, [common.Row("a", 0.45), common.Row("b", 0.07, 0.03)],
                            higher_is_better=False)
    assert low.best.name == "b" and low.met and low.lead == pytest.approx(0.07)


def test_goal_check_needs_a_lead_of_two_standard_errors_of_the_difference(common) -> None:
    # se 1.5 and 2.0: the difference has s.e. 2.5, so the lead must exceed 5.0.
    assert common.goal_check(225.0 + 4.9, 1.5, rows(common)).margin == pytest.approx(5.0)
    assert not common.goal_check(225.0 + 4.9, 1.5, rows(common)).met
    assert common.goal_check(225.0 + 5.1, 1.5, rows(common)).met
    # Not the value's own 2 s.e. (3.0) alone, nor the row's (4.0) alone.
    assert not common.goal_check(225.0 + 4.5, 1.5, rows(common)).met
    # Lower is better, the same margin the other way.
    ref = [common.Row("r", 10.0, 0.3)]
    assert not common.goal_check(10.0 - 0.99, 0.4, ref, higher_is_better=False).met
    assert common.goal_check(10.0 - 1.01, 0.4, ref, higher_is_better=False).met
    # Without standard errors, any lead is enough and a tie is not.
    assert not common.goal_check(225.0, 0.0, [common.Row("r", 225.0)]).met


def test_goal_check_text_says_met_or_not_met_with_the_numbers(common) -> None:
    met = common.goal_check(240.0, 1.5, rows(common)).text
    assert met.startswith("met: 240.0 ± 1.5 against the strongest comparable row, strong")
    assert "225.0 ± 2.0" in met and "lead +15.0" in met and "more than 5.0" in met
    missed = common.goal_check(182.0, 2.4, rows(common)).text
    assert missed.startswith("not met: 182.0 ± 2.4") and "lead -43.0" in missed


# --- dcgan.py: its own comparison with the paper MLP ----------------------------------------------

MLP = {"fid": 149.1, "precision": 0.752, "recall": 0.194, "classes_covered": 10,
       "kl_to_uniform": 0.21}
STRONG = {"fid": 20.75, "precision": 0.772, "recall": 0.783, "kl_to_uniform": 0.038}
NAMES = {"dcgan": "DCGAN", "cdcgan": "cDCGAN", "mlp": "MLP", "table1": "MLP+EMA"}
FACTS = {k: {"g_steps": 6000, "cpu_minutes": 9.3, "wall_minutes": 12.0} for k in NAMES}


def test_dcgan_goal_is_checked_against_the_strongest_paper_mlp_row(dcgan_report) -> None:
    # Better than the weak MLP everywhere but behind the strong one on recall: not met, and the
    # line names the strong row, not the weak one.
    dcgan = {"fid": 13.0, "precision": 0.80, "recall": 0.60, "kl_to_uniform": 0.01}
    (line,) = dcgan_report.mlp_goal_lines({"mlp": MLP, "table1": STRONG, "dcgan": dcgan},
                                          FACTS, NAMES, 10_000)
    assert "**not met**" in line
    assert "recall not met: 0.600 ± 0.005 against the strongest comparable row, MLP+EMA 0.783" \
        in line
    assert "precision met: 0.800" in line and "fid met: 13.00" in line


def test_dcgan_goal_needs_two_standard_errors_of_lead(dcgan_report) -> None:
    # 0.779 against 0.772 at n = 10,000: a lead of 0.007, under two binomial standard errors of
    # the difference (about 0.012): not met. The same lead at n = 1,000,000 is met.
    dcgan = {"fid": 13.0, "precision": 0.779, "recall": 0.85, "kl_to_uniform": 0.01}
    models = {"mlp": MLP, "table1": STRONG, "dcgan": dcgan}
    (small,) = dcgan_report.mlp_goal_lines(models, FACTS, NAMES, 10_000)
    assert "precision not met" in small and "**not met**" in small
    (large,) = dcgan_report.mlp_goal_lines(models, FACTS, NAMES, 1_000_000)
    assert "precision met" in large and "): met." in large


def test_conditional_class_balance_is_not_compared(dcgan_report) -> None:
    # Balanced by construction: a KL to uniform far worse than the MLP's must not fail it.
    cdcgan = {"fid": 13.0, "precision": 0.9, "recall": 0.9, "kl_to_uniform": 5.0}
    lines = dcgan_report.mlp_goal_lines({"mlp": MLP, "table1": STRONG, "cdcgan": cdcgan},
                                        FACTS, NAMES, 10_000)
    assert "kl_to_uniform" not in lines[0] and "): met." in lines[0]
    assert "balanced by construction" in lines[1]
    newer = dcgan_report.mlp_goal_lines({"mlp": MLP, "table1": STRONG, "cdcgan": cdcgan},
                                        FACTS, NAMES, 10_000, "training proportions")
    assert "kl_to_uniform" not in newer[0]
    assert "the training set's class proportions" in newer[1]


def test_budget_text_groups_models_with_the_same_budget(dcgan_report) -> None:
    same = {"cpu_minutes": 60.0, "epochs": 12}
    facts = {"dcgan": {"budget": same}, "cdcgan": {"budget": same},
             "stacked": {"budget": {"cpu_minutes": 10.0, "epochs": 25}}, "mlp": {},
             "table1": {"budget": None}}
    text = dcgan_report.budget_text(facts)
    assert "dcgan, cdcgan: 60 CPU minutes or 12 epochs" in text
    assert "stacked: 10 CPU minutes or 25 epochs" in text
    assert "mlp: a budget its run did not record" in text
    assert "table1" not in text


def test_model_name_reads_width_and_extra_layers_from_the_config(bench, tmp_path) -> None:
    # No run folder under tmp_path: the name comes from the config file in configs/.
    dcgan = bench.model_name("dcgan", "DCGAN", "mnist-dcgan.yaml", tmp_path)
    cfg = bench.load_config(REPO / "configs/mnist-dcgan.yaml")
    assert f"base {cfg.generator.base}/{cfg.discriminator.base}" in dcgan
    extra = f"{cfg.generator.extra_layers}/{cfg.discriminator.extra_layers} extra layers"
    assert (extra in dcgan) == bool(cfg.generator.extra_layers or cfg.discriminator.extra_layers)
    cdcgan = bench.model_name("cdcgan", "cDCGAN", "mnist-cdcgan.yaml", tmp_path)
    assert "extra layers" not in cdcgan  # the conditional config has none
    assert bench.model_name("mlp", "MLP", "mnist-paper.yaml", tmp_path) == "MLP"


# --- table1.py: the verdict and the Parzen curve hook -------------------------------------------


def test_table1_verdict_goes_through_the_goal_check() -> None:
    report = load("table1_report")
    assert report.PAPER_TARGET == 225  # the strongest row of the paper's Table 1
    assert "**not reached** in this budget: 182.0 ± 2.4" in report.verdict(
        {"mean": 182.0, "stderr": 2.4})
    # Above 225 but within two standard errors of the difference: not claimed.
    assert "**not clearly beaten**" in report.verdict({"mean": 227.0, "stderr": 2.4})
    assert "**reached**: 232.0 ± 2.4" in report.verdict({"mean": 232.0, "stderr": 2.4})


def test_parzen_curve_scores_every_n_epochs_apart_from_training_time(tmp_path) -> None:
    table1 = load("table1")
    scored = []

    def score(G: torch.nn.Module) -> dict:
        scored.append(G)
        return {"mean": float(len(scored)), "stderr": 0.5, "sigma": 0.2}

    curve = table1.ParzenCurve(score, every=2, previous={"curve": [{"epoch": 0}], "train_s": 60.0})
    cfg = tiny_config("train.max_steps=0", "train.epochs=4", "train.ema=0.9")
    trainer = table1.Trainer(cfg, tmp_path / "run", hooks=[curve])
    trainer.run()
    assert [p["epoch"] for p in curve.curve] == [0, 2, 4]  # the earlier invocation's point kept
    # The EMA copy is scored, then the raw G ("raw_mean"): two scores per point.
    assert scored[0] is trainer.G_ema and scored[1] is trainer.G
    assert all("raw_mean" in p for p in curve.curve[1:])
    # The clock continues from the earlier 60 s and grows with training only.
    assert 60.0 < curve.curve[1]["train_s"] < curve.curve[2]["train_s"]
    assert curve.training_seconds() >= curve.curve[2]["train_s"]


def test_parzen_curve_without_evaluations_keeps_the_earlier_clock() -> None:
    curve = load("table1").ParzenCurve(lambda G: {}, every=0)
    assert curve.training_seconds() == 0.0 and curve.curve == []


# --- every doc, rendered from its saved results -------------------------------------------------


def saved(name: str) -> dict:
    return json.loads((SAVED / f"{name}.json").read_text())


def committed_doc(name: str, date: str) -> str:
    """The committed doc, or a skip when it comes from another run than the saved results."""
    doc = (REPO / "docs" / "results" / f"{name}.md").read_text()
    if date not in doc:
        pytest.skip(f"docs/results/{name}.md is from another run than tests/data/benchmarks/"
                    f"{name}.json: copy that run's saved results there")
    return doc


def test_table1_doc_renders_byte_for_byte_from_its_saved_results() -> None:
    from gankit.config import load_config

    summary = saved("table1")
    # What `table1.py --render RUN/table1.json` adds before rendering.
    # The run folder is gone; the saved copy here is what the doc is re-rendered from (its
    # recipe section from docs/results/table1_recipes.json).
    summary["rendered_by"] = "python benchmarks/table1.py --render tests/data/benchmarks/table1.json"
    configs = [load_config(REPO / "configs" / f"{r['name']}.yaml") for r in summary["results"]]
    images = {key: Path(f"table1-{key}.png")
              for key in ("samples", "neighbours", "samples-mnist-paper")}
    images["curve"] = Path("table1-parzen-curve.png")
    text = load("table1_report").render_doc(summary, configs, images)
    assert text == committed_doc("table1", summary["date"])


def test_dcgan_render_only_rewrites_the_doc_byte_for_byte(bench, tmp_path) -> None:
    # dcgan.json lives beside the doc; the recipe section comes from dcgan_recipes.json.
    results_file = REPO / "docs/results/dcgan.json"
    shutil.copy(results_file, tmp_path / "dcgan.json")
    out = tmp_path / "dcgan.md"
    assert bench.main(["--render-only", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == committed_doc("dcgan", json.loads(results_file.read_text())["date"])
    assert "## Recipes toward issue 18's goal" in text and "| conditional, R1 gamma 1 |" in text
    with pytest.raises(SystemExit, match="not found: run benchmarks/dcgan.py without"):
        bench.main(["--render-only", "--out", str(tmp_path / "elsewhere" / "dcgan.md")])


def test_toy2d_render_only_rewrites_the_doc_byte_for_byte(tmp_path, monkeypatch) -> None:
    toy2d = load("toy2d")
    results = saved("toy2d")
    shutil.copy(SAVED / "toy2d.json", tmp_path / toy2d.SUMMARY_FILE)
    out = tmp_path / "toy2d.md"
    monkeypatch.setattr(sys, "argv", ["toy2d.py", "--render-only", "--runs-dir", str(tmp_path),
                                      "--out", str(out)])
    toy2d.main()
    assert out.read_text() == committed_doc("toy2d", results["date"])


# --- toy2d: G steps, fresh confirmation seeds, the strongest published row ---------------------


@pytest.fixture(scope="module")
def toy2d_report():
    return load("toy2d_report")


def test_toy2d_g_steps_follow_each_loss_k_and_warm_up(toy2d_report) -> None:
    # 2,000 D steps: k = 1 gives 2,000 G steps; WGAN-GP's k = 5 gives 400; WGAN's warm-up of
    # 100 critic steps for each of the first 25 G steps leaves 20.
    assert toy2d_report.g_steps("non-saturating", 2) == 2000
    assert toy2d_report.g_steps("wgan-gp", 2) == 400
    assert toy2d_report.g_steps("wgan", 2) == 20
    # 5,000: G steps 0-24 take 2,500; 25-499 take 5 each (4,875); step 500 is a warm-up step
    # again (4,975); 501 reaches 4,980 ... 505 reaches 5,000: 506 G steps.
    assert toy2d_report.g_steps("wgan", 5) == 506


def test_toy2d_goal_is_the_strongest_published_row_with_a_margin(toy2d_report) -> None:
    rows = toy2d_report.published_rows("ring", "high_quality")
    assert max(r.value for r in rows) == 98.2  # the plain GAN's HQ, not PacGAN2's 95.6
    run = {"dataset": "ring", "modes": 8, "high_quality": 97.9, "reverse_kl": 0.01,
           "diverged": False, "warnings": 0, "cpu_s": 1.0}
    final = {"ring": {"x (best of sweep)": [dict(run, seed=s) for s in range(3, 13)]}}
    text = "\n".join(toy2d_report._goal_check(final))
    assert "high_quality: not met: 97.9" in text and "98.2" in text
    assert "not like for like" in text  # all-samples KL against PacGAN's HQ-only one
    with_hq = {"ring": {"x (best of sweep)": [dict(run, seed=s, reverse_kl_hq=0.001)
                                             for s in range(3, 13)]}}
    text = "\n".join(toy2d_report._goal_check(with_hq))
    assert "reverse_kl_hq: met" in text and "not like for like" not in text


def test_toy2d_says_when_confirmation_seeds_were_the_selection_seeds(toy2d_report) -> None:
    reused = {"sweep_seeds": 3, "final_seeds": 10}
    assert "include the sweep's" in toy2d_report._seeds_text(reused)
    fresh = {**reused, "final_seed_start": 3}
    assert "seeds it was not chosen on" in toy2d_report._seeds_text(fresh)


def test_toy2d_rows_show_their_cpu_minutes_or_say_they_were_not_saved(toy2d_report) -> None:
    assert toy2d_report.cpu_text({"cpu_s": 90.0}) == "1.5"
    assert toy2d_report.cpu_text({"cpu_s": 0.0}) == "not saved"
