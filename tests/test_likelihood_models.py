"""benchmarks/likelihood_models.py's report: verdicts computed from the numbers, and the committed
doc rendered byte for byte from its saved results (tests/data/benchmarks/likelihood_models.json:
the run's likelihood_models.json with the --render command that re-rendered the doc)."""

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


def _model(key: str, iwae: float, parzen_means: float, parzen_binary: float,
           se: float = 1.0, fid: float = 100.0) -> dict:
    return {"key": key, "name": key, "bounds": {"iwae": iwae},
            "means": {"parzen": parzen_means, "parzen_stderr": se, "fid": fid, "recall": 0.5},
            "binary": {"parzen": parzen_binary, "parzen_stderr": se}}


GAN = {"parzen": 182.0, "parzen_stderr": 2.0, "fid": 20.0}


def test_theis_lines_say_when_parzen_ranks_differently():
    report = _report()
    agree = [_model("vae", -90, 150, -100), _model("small", -120, 100, -150)]
    text = "\n".join(report.theis_lines(agree, GAN))
    assert text.count("the same order") == 2 and "different order" not in text
    assert "reversed no ranking beyond its noise" in text
    assert "Parzen puts its decoder means" not in text  # 150 is clearly below the GAN's 182
    flipped = [_model("vae", -90, 100, -100), _model("small", -120, 190, -101)]
    text = "\n".join(report.theis_lines(flipped, GAN))
    assert "Parzen on their decoder means: small > vae: **a different order**, clearly" in text
    assert "vae has the better likelihood (-90.0 against -120.0 nats)" in text
    assert "a clear reversal." in text and "Parzen reversed a ranking" in text
    # -100 against -101 with standard errors 1: the same order on the binary samples.
    assert "Parzen on their binary samples: vae > small: the same order" in text
    assert "small: Parzen puts its decoder means (190.0) above the Table 1 GAN" in text
    level = [_model("vae", -90, 184, -100), _model("small", -120, 100, -150)]
    assert "(184.0) level with (within noise) the Table 1 GAN" in "\n".join(
        report.theis_lines(level, GAN))
    noisy = [_model("vae", -90, 100, -100), _model("small", -120, 101, -150)]
    text = "\n".join(report.theis_lines(noisy, GAN))
    assert "a different order, but only within noise" in text
    assert "not a clear reversal" in text and "reversed no ranking beyond its noise" in text


def test_doc_renders_byte_for_byte_from_its_saved_results(tmp_path):
    summary = json.loads(SAVED.read_text())
    out = tmp_path / "likelihood_models.md"
    _report().render(summary, out)
    assert out.read_text() == (REPO / "docs/results/likelihood_models.md").read_text()
