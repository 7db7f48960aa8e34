"""The computed verdicts in benchmark reports (benchmarks/dcgan.py): nothing typed by hand."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def bench():
    """benchmarks/dcgan.py as a module (it is a script, not part of the package); loaded once."""
    spec = importlib.util.spec_from_file_location("bench_dcgan", REPO / "benchmarks/dcgan.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dcgan"] = module
    spec.loader.exec_module(module)
    return module


MLP = {"fid": 149.1, "precision": 0.752, "recall": 0.194, "classes_covered": 10,
       "kl_to_uniform": 0.21}
NAMES = {"dcgan": "DCGAN", "cdcgan": "cDCGAN", "mlp": "MLP"}


def test_goal_check_names_each_metric_a_dcgan_loses_on(bench) -> None:
    dcgan = {**MLP, "fid": 67.1, "precision": 0.526, "recall": 0.818, "kl_to_uniform": 0.04}
    cdcgan = {**MLP, "fid": 13.2, "precision": 0.759, "recall": 0.678, "kl_to_uniform": 0.0004}
    lines = bench.goal_check({"mlp": MLP, "dcgan": dcgan, "cdcgan": cdcgan}, NAMES)
    assert len(lines) == 2
    assert "**not**" in lines[0] and "precision 0.526 against 0.752" in lines[0]
    assert "recall" not in lines[0] and "fid" not in lines[0]
    assert "**not**" not in lines[1] and "every one of" in lines[1]


def test_goal_check_lower_is_better_for_fid_and_kl(bench) -> None:
    worse = {**MLP, "fid": 150.0, "kl_to_uniform": 0.3}
    (line,) = bench.goal_check({"mlp": MLP, "dcgan": worse}, NAMES)
    assert "fid 150 against 149" in line and "kl_to_uniform 0.3 against 0.21" in line


def test_budget_text_groups_models_with_the_same_budget(bench) -> None:
    same = {"cpu_minutes": 60.0, "epochs": 12}
    facts = {"dcgan": {"budget": same}, "cdcgan": {"budget": same},
             "stacked": {"budget": {"cpu_minutes": 10.0, "epochs": 25}}, "mlp": {},
             "table1": {"budget": None}}
    text = bench.budget_text(facts)
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
