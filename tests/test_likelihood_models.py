"""benchmarks/likelihood_models.py's report: verdicts computed from the numbers, and the committed
doc rendered byte for byte from its saved results (tests/data/benchmarks/)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from conftest import REPO

BENCH = REPO / "benchmarks"
SAVED = Path(__file__).parent / "data" / "benchmarks" / "likelihood_models.json"


def _report():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("likelihood_models_report")


def _model(key: str, iwae: float, parzen_means: float, parzen_binary: float) -> dict:
    return {"key": key, "name": key, "bounds": {"iwae": iwae},
            "means": {"parzen": parzen_means}, "binary": {"parzen": parzen_binary}}


def test_theis_lines_say_when_parzen_ranks_differently():
    report = _report()
    agree = [_model("vae", -90, 150, -100), _model("small", -120, 100, -150)]
    text = "\n".join(report.theis_lines(agree, 182.0))
    assert text.count("the same order") == 2 and "different order" not in text
    assert "above this VAE's decoder means (150.0)" in text
    assert "Parzen kept the likelihood's order" in text
    flipped = [_model("vae", -90, 100, -100), _model("small", -120, 150, -150)]
    text = "\n".join(report.theis_lines(flipped, 90.0))
    assert "Parzen on their decoder means: small > vae: **a different order**" in text
    assert "vae has the better likelihood (-90.0 against -120.0 nats)" in text
    assert "Parzen on their binary samples: vae > small: the same order" in text
    assert "below this VAE's decoder means" in text
    assert "did not follow the likelihood's" in text


def test_doc_renders_byte_for_byte_from_its_saved_results(tmp_path):
    summary = json.loads(SAVED.read_text())
    out = tmp_path / "likelihood_models.md"
    _report().render(summary, out, None)
    assert out.read_text() == (REPO / "docs/results/likelihood_models.md").read_text()
