"""benchmarks/mutation.py: its metric entries still match the source, and a moved text is
reported, not a crash."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def mutation():
    spec = importlib.util.spec_from_file_location("bench_mutation", REPO / "benchmarks/mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_mutation"] = module
    spec.loader.exec_module(module)
    return module


def test_each_mutation_applies_to_exactly_one_place(mutation):
    metric = [m for m in mutation.MUTATIONS if m.file.startswith("metrics/")]
    assert len(metric) >= 10
    for m in mutation.MUTATIONS:
        text = (REPO / "src/gankit" / m.file).read_text()
        assert text.count(m.old) == 1, m.name
        assert all((REPO / t).is_file() for t in m.tests), m.name
    assert len({m.name for m in mutation.MUTATIONS}) == len(mutation.MUTATIONS)


def test_missing_text_is_not_applicable(mutation, tmp_path):
    (tmp_path / "gankit").mkdir()
    (tmp_path / "gankit" / "x.py").write_text("a = 1\n")
    gone = mutation.Mutation("gone", "x.py", "b = 2", "b = 3", ("tests/test_registry.py",), "")
    assert mutation.mutate(gone, tmp_path, timeout=1) == ("NOT APPLICABLE (text not found)", 0.0)
    twice = mutation.Mutation("twice", "x.py", "1", "2", ("tests/test_registry.py",), "")
    (tmp_path / "gankit" / "x.py").write_text("a = 1\nb = 1\n")
    assert mutation.mutate(twice, tmp_path, timeout=1)[0] == "NOT APPLICABLE (text found 2 times)"


def test_outcome_names_the_first_failing_test(mutation):
    output = "F\nFAILED tests/test_a.py::test_b[1] - AssertionError: x\n1 failed"
    assert mutation.outcome(1, output) == "KILLED by `tests/test_a.py::test_b[1]`"
    assert mutation.outcome(0, "1 passed") == "SURVIVED"
