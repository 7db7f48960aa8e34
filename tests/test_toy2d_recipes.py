"""benchmarks/toy2d_recipes.py: its goal checks against issue 18's goals, and that a recipe run
as base config plus overrides is the shipped recipe config."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
recipes = pytest.importorskip("toy2d_recipes")


def _rows(modes: list[int], hq: float = 50.0, kl: float = 0.01, cpu: float = 30.0) -> list[dict]:
    return [{"modes": m, "high_quality": hq, "reverse_kl": kl, "cpu_s": cpu, "g_steps": 600}
            for m in modes]


def test_every_loss_check_needs_five_of_five_seeds():
    assert recipes.every_loss_check("ring", _rows([8] * 5)).startswith("met")
    assert recipes.every_loss_check("ring", _rows([8, 8, 8, 6, 8])).startswith("not met (4 of 5")
    assert recipes.every_loss_check("ring", _rows([8, 8])).startswith("not run at the goal's")
    assert recipes.every_loss_check("grid", _rows([23, 24, 25, 23, 25])).startswith("met")
    assert recipes.every_loss_check("grid", _rows([22, 25, 25, 25, 25])).startswith("not met")


def test_pacgan_check_reads_every_part_of_the_goal():
    assert recipes.pacgan_check("ring", _rows([8] * 10, hq=97.5)).startswith("met")
    assert recipes.pacgan_check("ring", _rows([8] * 10, hq=96.0)).startswith("not met")
    assert recipes.pacgan_check("ring", _rows([8] * 9 + [7], hq=99.0)).startswith("not met")
    grid = _rows([25] * 9 + [24], hq=91.0, kl=0.04)
    assert recipes.pacgan_check("grid", grid).startswith("met")
    assert recipes.pacgan_check("grid", _rows([25] * 10, hq=91.0, kl=0.06)).startswith("not met")
    assert recipes.pacgan_check("grid", _rows([25] * 10, hq=91.0, kl=0.04,
                                              cpu=700)).startswith("not met")
    assert "3 of the goal's 10 seeds" in recipes.pacgan_check("ring", _rows([8] * 3, hq=99.0))


def test_pacgan_check_needs_a_two_standard_error_margin():
    def spread(values: list[float], **kw) -> list[dict]:
        rows = _rows([8] * len(values), **kw)
        for r, v in zip(rows, values, strict=True):
            r["high_quality"] = v
        return rows
    # mean 97.2, s.e. 0.2: above the bar, but not by 2 s.e.
    assert recipes.pacgan_check("ring", spread([96.57, 97.83] * 5)).startswith("not met")
    assert recipes.pacgan_check("ring", spread([97.9, 98.1] * 5)).startswith("met")
    kl = _rows([25] * 10, hq=95.0)
    for r, v in zip(kl, [0.02, 0.07] * 5, strict=True):  # mean 0.045, s.e. about 0.008
        r["reverse_kl"] = v
    assert recipes.pacgan_check("grid", kl).startswith("not met")


def test_drs_rows_are_scored_on_the_kept_samples_and_pay_for_the_refit():
    rows = _rows([25] * 10, hq=80.0, kl=0.01, cpu=400)
    for r in rows:
        r["drs"] = {"modes": 25, "high_quality": 94.0, "reverse_kl": 0.02, "cpu_s": 150.0,
                    "refit_steps": 6000, "acceptance": 0.33}
    assert recipes.pacgan_check("grid", rows).startswith("not met")  # G alone: HQ 80
    assert recipes.pacgan_check("grid", recipes.drs_rows(rows)).startswith("met")
    assert "--drs-refit 6000" in recipes.drs_label(rows) and "33 ± 0 %" in recipes.drs_label(rows)
    for r in rows:  # the refit's CPU time counts against the 10 minutes
        r["drs"]["cpu_s"] = 250.0
    assert "≤ 10 CPU min per seed: 10.8 (no)" in recipes.pacgan_check("grid",
                                                                      recipes.drs_rows(rows))
    rows[0]["drs"]["refit_steps"] = 100
    with pytest.raises(SystemExit, match="different refits"):
        recipes.drs_label(rows)


def test_recipes_run_as_overrides_are_the_shipped_configs():
    for config in recipes.AS_OVERRIDES:
        base, overrides = recipes.check_same(config)
        assert base != config and overrides
    cfg, overrides = recipes.recipe("ring", "hinge")
    assert cfg == recipes.BASE["ring"] and "loss=hinge" in overrides
    assert not any(o.startswith("losses.r1_weight") for o in overrides)


def test_the_grid_recipe_is_the_r1_probe_that_found_it():
    cfg, overrides = recipes.recipe("grid", "non-saturating")
    assert cfg == recipes.BASE["grid"]
    assert "losses.r1_weight=1" in overrides and "discriminator.pack=1" in overrides
    saved = json.loads(recipes.SAVED.read_text())
    probe = next(p for p in saved["search"] if p["label"] == "grid ns: pack 1, R1 1")
    assert (probe["config"], probe["overrides"]) == (cfg, overrides)


def test_until_fail_stops_a_loss_at_its_first_missed_seed(monkeypatch):
    modes = {0: 25, 1: 22, 2: 25}
    ran: list[int] = []

    def fake_rows(jobs, cached_only):
        ran.extend(s for _, _, s in jobs)
        return [{"modes": modes[s], "seed": s} for _, _, s in jobs]

    monkeypatch.setattr(recipes, "_rows", fake_rows)
    jobs = [("c.yaml", [], s) for s in range(3)]
    rows = recipes.seed_rows("grid", jobs, cached_only=False, until_fail=True)
    assert [r["seed"] for r in rows] == [0, 1] and ran == [0, 1]
    assert recipes.every_loss_check("grid", _rows([r["modes"] for r in rows])).startswith("not met")
    ran.clear()
    assert len(recipes.seed_rows("grid", jobs, cached_only=False, until_fail=False)) == 3


def test_restore_cache_puts_saved_rows_and_probes_back(monkeypatch, tmp_path):
    row = {"key": "ring8-demo-abc-s0", "modes": 8}
    saved = {"search": [{"label": "probe", "config": "c.yaml", "overrides": ["a=1"],
                         "keys": [row["key"]], "rows": [row]}],
             "every_loss": {"ring": {"hinge": [{"key": "k1", "modes": 8}]}}, "pacgan": {}}
    (tmp_path / "saved.json").write_text(json.dumps(saved))
    monkeypatch.setattr(recipes, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(recipes, "SAVED", tmp_path / "saved.json")
    recipes.restore_cache()
    assert set(recipes.cached_runs(tmp_path / "runs")) == {"ring8-demo-abc-s0", "k1"}
    assert [p["label"] for p in recipes.saved_search()] == ["probe"]
    (tmp_path / "runs" / "results.jsonl").write_text("")  # an existing cache is left alone
    recipes.restore_cache()
    assert (tmp_path / "runs" / "results.jsonl").read_text() == ""


def test_a_longer_budget_recipe_is_shown_beside_its_run_at_the_others_budget():
    saved = json.loads(recipes.SAVED.read_text())
    doc = recipes.render(saved).splitlines()
    for (dataset, loss), (change, label) in recipes.LONGER_BUDGET.items():
        rows = recipes.equal_budget_rows(saved, dataset, loss)
        assert len(rows) == recipes.GOAL_SEEDS, label
        section = doc.index(f"## Every loss learns: {dataset}")
        at = next(i for i, line in enumerate(doc)
                  if i > section and line.startswith(f"| {loss} (`"))
        assert "a longer budget than the others" in doc[at]
        assert doc[at + 1].startswith(f"| {loss} at the others' budget (`") and change in doc[at + 1]
        # a probe that changed more than the budget may not stand in for the equal-budget row
        probe = next(p for p in saved["search"] if p["label"] == label)
        probe["overrides"] = [*probe["overrides"], "train.k=1"]
        with pytest.raises(SystemExit, match="is not"):
            recipes.equal_budget_rows(saved, dataset, loss)


def test_config_differences_names_what_a_probe_left_out():
    from common import config_differences

    base, overrides = recipes.AS_OVERRIDES["configs/grid25-pacgan-level.yaml"]
    config = REPO / "configs/grid25-pacgan-level.yaml"
    assert config_differences(config, REPO / base, overrides) == []
    dropped = [o for o in overrides if not o.startswith("train.ema=")]
    assert config_differences(config, REPO / base, dropped) == ["train.ema: 0.99 -> 0.999"]
    budget = [*overrides[:2], *overrides[3:]]  # without train.epochs=15
    assert config_differences(config, REPO / base, budget, ["train.epochs"]) == []
    with pytest.raises(SystemExit, match="train.ema: 0.99 -> 0.999"):
        original = recipes.AS_OVERRIDES["configs/grid25-pacgan-level.yaml"]
        recipes.AS_OVERRIDES["configs/grid25-pacgan-level.yaml"] = (base, dropped)
        try:
            recipes.check_same("configs/grid25-pacgan-level.yaml")
        finally:
            recipes.AS_OVERRIDES["configs/grid25-pacgan-level.yaml"] = original


def test_runs_in_worker_processes_score_as_runs_in_this_one(tmp_path):
    """--workers: the same rows (all but the CPU seconds) as one run after another."""
    import toy2d_runs

    overrides = ["train.max_steps=20", "train.epochs=0", "data.n_train=500",
                 "train.log_every=10"]
    jobs = [("configs/grid25-infogan.yaml", overrides, s) for s in (0, 1)]
    one = toy2d_runs.run_many(jobs, tmp_path / "one")
    two = toy2d_runs.run_many(jobs, tmp_path / "two", workers=2)
    assert [r["key"] for r in two] == [r["key"] for r in one]
    for a, b in zip(one, two, strict=True):
        a.pop("cpu_s"), b.pop("cpu_s")
        assert a == b
    assert one[0]["high_quality"] != one[1]["high_quality"] or one[0]["modes"] != one[1]["modes"]
    # both are cached: a second call trains nothing and returns the same rows
    cached = toy2d_runs.run_many(jobs, tmp_path / "two", workers=2)
    assert [r["seed"] for r in cached] == [0, 1]


def test_toy2d_doc_ends_with_the_recipes_goal_checks_once():
    """toy2d.md carries the recipes' goal checks (issue 18: toy2d.md shows the new recipes);
    writing it again replaces the section rather than adding a second."""
    saved = json.loads(recipes.SAVED.read_text())
    doc = "# 2-D mode collapse\n\nbody\n"
    once = recipes.with_recipes_section(doc, saved)
    twice = recipes.with_recipes_section(once, saved)
    assert once == twice and once.startswith(doc.rstrip())
    assert once.count(recipes.RECIPES_HEADING) == 1
    grid = next(line for line in once.splitlines()
                if line.startswith("- grid, InfoGAN candidate"))
    assert grid.split(": ", 1)[1] == recipes.pacgan_check(
        "grid", saved["pacgan"]["grid"]["InfoGAN candidate (grid25-infogan.yaml)"])
    # the shipped toy2d.md is up to date with the saved rows
    shipped = (REPO / "docs/results/toy2d.md").read_text()
    assert shipped == recipes.with_recipes_section(shipped, saved)


def test_the_grid_picture_names_saved_probes():
    """Each panel of toy2d_recipes-grid.png is a saved probe or candidate with its seed."""
    saved = json.loads(recipes.SAVED.read_text())
    groups = {p["label"]: p["rows"] for p in saved["search"]} | saved["pacgan"]["grid"]
    for _, label, seed in recipes.GRID_PANELS:
        assert label in groups, label
        assert seed is None or seed in [r["seed"] for r in groups[label]], (label, seed)
    assert recipes.GRID_PLOT.exists()
