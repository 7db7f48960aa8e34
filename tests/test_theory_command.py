"""`gankit theory` and `gankit viz theory`: the paper's section 4 as a check and a picture."""

import json
import math
import re

import pytest
from PIL import Image

from gankit import theory
from gankit.cli import main


def test_theory_checks_pass_with_their_numbers(capsys):
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    assert "p_data = N(0, 1) and p_g = N(1, 1.5^2)" in out
    assert "PASS  Proposition 1: D*(x) = p_data/(p_data + p_g) maximises V(D, G)" in out
    assert "PASS  Theorem 1: C(G) = max_D V(D, G) = -log 4 + 2 JSD" in out
    assert "FAIL" not in out and out.rstrip().endswith("5 of 5 checks passed")
    assert "C(G) = -1.187714, -log 4 + 2 JSD = -1.187714" in out


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (3.0, 0.5), (-2.0, 4.0), (0.0, 0.2)])
def test_theory_json_holds_for_other_generators(capsys, mean, std):
    assert main(["theory", "--mean", str(mean), "--std", str(std), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["passed"] and len(result["checks"]) == 5
    assert all(c["passed"] for c in result["checks"])


def test_theory_at_the_optimum_reports_c_equal_to_minus_log_4(capsys):
    assert main(["theory", "--mean", "0", "--std", "1"]) == 0
    out = capsys.readouterr().out
    assert f"C(G) + log 4 = {0.0:.6f} (p_g = p_data)" in out.replace("-0.000000", "0.000000")


def test_a_broken_identity_is_reported_as_fail_with_status_1(capsys, monkeypatch):
    real = theory.jensen_shannon
    monkeypatch.setattr(theory, "jensen_shannon", lambda p, q, x: real(p, q, x) + 0.01)
    assert main(["theory"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  Theorem 1: C(G) = max_D V(D, G)" in out and "4 of 5 checks passed" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--std", "0"], "positive std"),
        (["--std", "0.01", "--points", "1000"], "too coarse for std 0.01"),
        (["--mean", "nan"], "finite mean"),
    ],
)
def test_bad_numbers_are_one_line(capsys, argv, says):
    assert main(["theory", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and says in err and err.count("\n") == 1


def test_a_narrow_generator_gets_a_finer_grid_by_itself():
    x = theory.gaussian_grid(1.0, 0.01)
    assert len(x) > 20_001 and (x[1] - x[0]) <= 0.01 / 20 * (1 + 1e-9)
    assert all(c.passed for c in theory.check_propositions(1.0, 0.01))


def test_proposition_1_compares_d_star_with_other_discriminators():
    first = theory.check_propositions(1.0, 1.5)[0]
    v_star, v_other = map(float, re.match(r"V\(D\*, G\) = (\S+) > (\S+),", first.numbers).groups())
    assert v_star == pytest.approx(-math.log(4) + 2 * 0.099290, abs=1e-5) and v_other < v_star


def test_viz_theory_draws_a_png(tmp_path, capsys):
    out = tmp_path / "theory.png"
    assert main(["viz", "theory", "--out", str(out), "--mean", "2", "--std", "0.5"]) == 0
    assert Image.open(out).size[0] >= 800
    assert f"wrote {out}" in capsys.readouterr().out
