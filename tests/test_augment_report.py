"""benchmarks/augment.py's report: the verdicts computed from the rows, and the committed doc
rendered byte for byte from its saved results (docs/results/augment.json)."""

from __future__ import annotations

import importlib
import sys

from conftest import REPO

BENCH = REPO / "benchmarks"


def _bench():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("augment")


def _row(variant: str, seed: int, fid: float, recall: float = 0.5, diversity: float = 0.8) -> dict:
    return {"variant": variant, "seed": seed, "images": 1000, "fid": fid, "precision": 0.5,
            "recall": recall, "classes_covered": 10, "final_p": None, "train_cpu_s": 180.0,
            "log": [[500, 0.2, diversity], [3000, 0.5, diversity]]}


def test_the_committed_doc_is_rendered_from_the_saved_results():
    bench = _bench()
    saved = bench.load_saved(REPO / "docs/results/augment.json")
    assert bench.render(saved) == (REPO / "docs/results/augment.md").read_text()


def test_translation_rows_are_told_from_the_others():
    bench = _bench()
    names = list(bench.VARIANTS)
    assert not bench.translates("none")
    assert bench.translates(names[1])  # the default policy has all three
    assert not bench.translates("DiffAugment, colour + cutout")
    assert bench.translates("DiffAugment, colour + translation")


def test_the_check_leaves_out_the_choosing_seed_and_needs_two_others_for_a_margin():
    bench = _bench()
    colour, cutout = "DiffAugment, colour only", "DiffAugment, cutout only"
    one = {"none": [_row("none", 0, 100.0)], colour: [_row(colour, 0, 80.0)],
           cutout: [_row(cutout, 0, 90.0)]}
    assert bench.chosen(one) == colour
    assert "seed 0 (seed 0 chose it among 2 augmented rows, which favours it)" in \
        bench.check(one, 1000, colour, True)
    close = {"none": [_row("none", s, f) for s, f in enumerate((100, 90, 110))],
             colour: [_row(colour, s, f) for s, f in enumerate((95, 85, 105))]}
    assert "not met" in bench.check(close, 5000, colour, False)
    far = {"none": [_row("none", s, f) for s, f in enumerate((100, 99, 101))],
           colour: [_row(colour, s, f) for s, f in enumerate((50, 49, 51))]}
    assert ": met: 50.0" in bench.check(far, 5000, colour, False)
    # Seed 0 chose the row: without it 49 and 51 against 99 and 101, still met, on seeds 1, 2.
    assert "on seeds 1, 2 (seed 0 chose" in bench.check(far, 1000, colour, True)
    lucky = {"none": [_row("none", s, f) for s, f in enumerate((100, 99, 101))],
             colour: [_row(colour, s, f) for s, f in enumerate((10, 99, 101))]}
    assert "not met" in bench.check(lucky, 1000, colour, True)  # seed 0's luck is left out
    assert "not run" in bench.check({}, 5000, colour, False)


def test_the_collapse_paragraph_names_the_translation_rows_from_their_numbers():
    bench = _bench()
    names = list(bench.VARIANTS)
    small = {"none": [_row("none", 0, 100.0)],
             names[1]: [_row(names[1], 0, 700.0, recall=0.0, diversity=0.1)],
             names[4]: [_row(names[4], 0, 180.0, recall=0.2, diversity=0.3)]}
    text = "\n".join(bench.cause(small))
    assert "(rows 1, 4) had a sample diversity of 0.10–0.30" in text
    assert "Recall at step 3000: row 1 0.000 (seed 0); row 4 0.200 (seed 0)" in text
