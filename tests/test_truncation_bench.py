"""benchmarks/truncation.py: issue 18's goal checked at every psi of the truncation trick, the
psi = 1 row tied to the probe it re-scores, and the saved doc rendering from its JSON."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO, TINY_DCGAN

sys.path.insert(0, str(REPO / "benchmarks"))
truncation = pytest.importorskip("truncation")
recipes = pytest.importorskip("dcgan_recipes")
report = pytest.importorskip("dcgan_recipes_report")


def _entry(scores_by_psi: dict[float, tuple[float, float, float]], seeds=(0, 1, 2)) -> dict:
    return {"label": "x", "psi": list(scores_by_psi), "date": "2026-11-30T00", "machine": "m",
            "seeds": [{"seed": s, "cpu_minutes": 20.0, "scores": [
                {"psi": psi, "precision": p + 0.002 * s, "recall": r, "fid": f}
                for psi, (p, r, f) in scores_by_psi.items()]} for s in seeds]}


def test_the_goal_is_checked_at_every_psi_with_the_recipe_rule():
    entry = _entry({1.0: (0.75, 0.85, 5.0), 0.9: (0.82, 0.82, 6.0), 0.8: (0.86, 0.76, 8.0)})
    checks = {psi: report.goal_check(truncation.records_at(entry, psi)) for psi in entry["psi"]}
    assert checks[0.9] == "met"
    assert checks[1.0].startswith("not met: precision")
    assert checks[0.8].startswith("not met: recall")
    text = truncation.render({"entries": [entry]})
    assert "| 0.9 | 0.822 ± 0.001 | 0.820 ± 0.000 | 6.00 ± 0.00 | 1.642 | met |" in text
    assert "precision + recall from 1.602 to 1.642" in text
    held_out = {**entry, "eval_seed": 1}
    text = truncation.render({"entries": [entry, held_out]})
    assert "## x (seeds 0, 1, 2; labels scored: equal per class)\n" in text
    assert ("## x (seeds 0, 1, 2; fresh samples, evaluation seed 1 instead of the probe's 12345; "
            "labels scored: equal per class)") in text
    newer = {**entry, "eval_labels": report.TRAINING_PROPORTIONS}
    assert "## x (seeds 0, 1, 2; labels scored: training proportions)\n" in truncation.render(
        {"entries": [newer]})
    assert "## x (seeds 0, 1, 2)\n" in truncation.render({"entries": [{**entry, "eval_labels": "–"}]})
    two_seeds = _entry({1.0: (0.9, 0.9, 1.0)}, seeds=(0, 1))
    assert report.goal_check(truncation.records_at(two_seeds, 1.0)).startswith("not checked")


def test_a_run_folder_that_is_not_the_probes_is_refused(tmp_path, monkeypatch):
    from gankit.config import load_config
    from gankit.train.loop import Trainer
    from test_conditional import fake_mnist

    cfg = load_config(REPO / "configs/mnist-cdcgan.yaml",
                      [*TINY_DCGAN, "train.epochs=0", "train.max_steps=1"])
    Trainer(cfg, recipes.run_folder("x", 0, tmp_path), data=fake_mnist()).run()
    final = {"g_steps": 2, "cpu_minutes": 1.0, "precision": 0.5, "recall": 0.5, "fid": 9.0}
    monkeypatch.setattr(truncation, "load_probes", lambda: {"probes": [
        {"label": "x", "seed": 0, "final": final}]})
    with pytest.raises(SystemExit, match="is at G step 1, the probe ended at 2"):
        truncation.score_probe("x", (1.0,), runs=tmp_path)
    with pytest.raises(SystemExit, match="no probe 'y'"):
        truncation.score_probe("y", (1.0,), runs=tmp_path)


def test_shipped_doc_renders_from_its_json_and_psi_one_is_the_probes_score():
    if not truncation.SAVED.exists():
        pytest.skip("no truncation results saved yet")
    shipped = json.loads(truncation.SAVED.read_text())
    assert truncation.DOC.read_text() == truncation.render(shipped)
    finals = {(p["label"], p["seed"]): p["final"]
              for p in json.loads(recipes.SAVED.read_text())["probes"]}
    for entry in shipped["entries"]:
        if entry.get("eval_seed", truncation.EVAL_SEED) != truncation.EVAL_SEED:
            continue  # fresh samples: a held-out check, not the probe's own scores
        for seed in entry["seeds"]:
            at_one = next(s for s in seed["scores"] if s["psi"] == 1)
            final = finals[(entry["label"], seed["seed"])]
            for metric in ("precision", "recall", "fid"):
                assert at_one[metric] == pytest.approx(final[metric], abs=1e-4)


def test_a_conditional_probe_is_rescored_with_the_labels_it_was_scored_with(monkeypatch):
    """Equal counts per class for a record saved before 2026-12-01 (eval_labels says so), the
    training proportions (labels None: evaluate_generator's default) for a newer one."""
    import types

    import torch

    import gankit.data.dataset as dataset

    monkeypatch.setattr(dataset, "load_training_data", lambda *a, **k: "data")
    config = types.SimpleNamespace(data=types.SimpleNamespace(conditional=True), seed=0,
                                   train=types.SimpleNamespace(eval_n=20))
    run = types.SimpleNamespace(n_classes=10, config=config)
    data, labels = truncation.probe_labels(run, {"eval_labels": report.EQUAL_COUNTS})
    assert data == "data" and labels.bincount().tolist() == [2] * 10
    assert truncation.probe_labels(run, {"eval_labels": report.TRAINING_PROPORTIONS}) == (
        "data", None)
    assert truncation.probe_labels(run, {}) == ("data", None)
    config.data.conditional = False
    assert truncation.probe_labels(run, {"eval_labels": report.EQUAL_COUNTS}) == (None, None)
    assert torch.is_tensor(labels)


def test_psi_is_picked_by_the_best_min_of_precision_and_recall_on_validation():
    scores = [{"psi": 1.2, "precision": 0.80, "recall": 0.86},
              {"psi": 1.1, "precision": 0.83, "recall": 0.84},
              {"psi": 1.0, "precision": 0.86, "recall": 0.81}]
    assert truncation.pick_on_validation(scores) == 1.1  # min 0.83 beats 0.80 and 0.81
    tie = [{"psi": 0.9, "precision": 0.85, "recall": 0.82},
           {"psi": 1.1, "precision": 0.82, "recall": 0.85},
           {"psi": 1.05, "precision": 0.82, "recall": 0.90}]
    assert truncation.pick_on_validation(tie) == 1.05  # equal mins: the psi nearest 1


def test_validation_picks_render_with_the_test_scores_and_the_goal_check():
    def seed(s, psi, test):
        return {"seed": s, "cpu_minutes": 59.0, "psi": psi, "test": test,
                "validation": [{"psi": 1.0, "precision": 0.9, "recall": 0.78, "fid": 3.0},
                               {"psi": 1.1, "precision": 0.86, "recall": 0.82, "fid": 3.1}]}
    test = {"precision": 0.85, "recall": 0.83, "fid": 3.5}
    pick = {"label": "x", "psi": [1.0, 1.1], "date": "d", "machine": "m",
            "eval_labels": report.TRAINING_PROPORTIONS,
            "seeds": [seed(s, 1.1, {**test, "recall": 0.83 + 0.001 * s}) for s in range(3)]}
    text = truncation.render({"entries": [], "validation_picks": [pick]})
    assert "### x (labels scored: training proportions; d)" in text
    assert "| 0 | 1.1 | 0.820 | 0.850 | 0.830 | 3.50 |" in text
    assert "| mean | | | 0.850 ± 0.000 | 0.831 ± 0.001 | 3.50 ± 0.00 |" in text
    assert "Goal check at the picked psi: met." in text
    low = {**pick, "seeds": [seed(s, 1.1, {**test, "recall": 0.79}) for s in range(3)]}
    assert "Goal check at the picked psi: not met: recall" in truncation.render(
        {"entries": [], "validation_picks": [low]})


def test_validation_pick_scores_each_seed_on_validation_then_on_the_test_set(tmp_path, monkeypatch):
    from gankit.config import load_config
    from gankit.train.loop import Trainer
    from test_conditional import fake_mnist

    cfg = load_config(REPO / "configs/mnist-cdcgan.yaml",
                      [*TINY_DCGAN, "train.epochs=0", "train.max_steps=1", "train.eval_n=200",
                       "train.eval_metrics=[fid,pr]"])
    Trainer(cfg, recipes.run_folder("x", 0, tmp_path), data=fake_mnist()).run()
    final = {"g_steps": 1, "cpu_minutes": 1.0, "precision": 0.5, "recall": 0.5, "fid": 9.0}
    monkeypatch.setattr(truncation, "load_probes", lambda: {"probes": [
        {"label": "x", "seed": 0, "final": final}]})
    pick = truncation.validation_pick("x", (1.0, 1.1), runs=tmp_path)
    (seed,) = pick["seeds"]
    assert [v["psi"] for v in seed["validation"]] == [1.0, 1.1]
    assert seed["psi"] == truncation.pick_on_validation(seed["validation"])
    assert set(seed["test"]) == {"precision", "recall", "fid"}
    assert pick["eval_labels"] == report.TRAINING_PROPORTIONS
