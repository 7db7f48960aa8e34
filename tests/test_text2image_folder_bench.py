"""benchmarks/text2image_folder.py's pixel measurements on hand-made pictures, its captions and
folder, and its doc rendered from its saved results."""

from __future__ import annotations

import importlib
import json
import random
import sys

import pytest
import torch

from conftest import REPO
from gankit.data.captioned import load_captioned_folder


def bench():
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module("text2image_folder")


def canvas() -> torch.Tensor:
    return torch.ones(1, 3, 32, 32)


def paint(x: torch.Tensor, colour: tuple[float, ...], rows: slice, cols: slice) -> torch.Tensor:
    x[0, :, rows, cols] = torch.tensor(colour).view(3, 1, 1)
    return x


def test_a_hand_made_square_is_measured_right_and_wrong_words_fail():
    b = bench()
    big = paint(canvas(), b.COLOURS["blue"], slice(4, 24), slice(6, 26))  # 20 x 20
    m = b.measure(big, 150.0)
    assert (m["colour"], m["size"], m["shape"], m["area"]) == (["blue"], ["large"], ["square"],
                                                                 [400.0])
    assert b.follows(m, "blue", "square", "large")["all"] == [True]
    hits = b.follows(m, "red", "disc", "small")
    assert hits == {"colour": [False], "size": [False], "shape": [False], "all": [False]}
    small = paint(canvas(), b.COLOURS["yellow"], slice(0, 10), slice(0, 10))
    assert b.measure(small, 150.0)["size"] == ["small"]


def test_fill_ratio_tells_triangles_discs_and_squares_apart():
    b = bench()
    x = canvas()
    for r in range(20):  # a right triangle: half its bounding box
        x[0, :, 5 + r, 5:5 + r + 1] = torch.tensor(b.COLOURS["red"]).view(3, 1)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    disc = canvas()
    inside = (yy - 15.5) ** 2 + (xx - 15.5) ** 2 <= 9.5 ** 2
    disc[0, :, inside] = torch.tensor(b.COLOURS["green"]).view(3, 1)
    m = b.measure(torch.cat([x, disc]), 150.0)
    assert m["shape"] == ["triangle", "disc"] and m["colour"] == ["red", "green"]
    assert m["fill"][0] < b.FILL_CUTS[0] < m["fill"][1] < b.FILL_CUTS[1]


def test_specks_and_empty_pictures_are_no_shape():
    b = bench()
    x = canvas()
    x[0, :, 3, 3] = 0.0  # one dark pixel: isolated, not a shape
    x[0, :, 20, 9] = 0.0
    m = b.measure(x, 150.0)
    assert m["colour"] == [None] and b.follows(m, "red", "square", "small")["all"] == [False]
    assert b.share([True, False, True, True]) == pytest.approx((75.0, 100 * (3 / 64) ** 0.5))


def test_real_pictures_measure_as_drawn_and_the_folder_reads_back(tmp_path):
    b = bench()
    cut = b.area_cut()
    for colour, shape, size in (("red", "triangle", "small"), ("blue", "disc", "large"),
                                ("green", "square", "small")):
        m = b.measure(b.real_pictures(colour, shape, size, 20, 3), cut)
        assert all(b.follows(m, colour, shape, size)["all"])
    lines = b.caption_lines("red", "disc", "large", random.Random(0))
    assert len(set(lines)) == 3 and all("red" in t for t in lines)
    n = b.write_folder(tmp_path / "f", per_combo=1)
    x, tokens, counts, vocab = load_captioned_folder(tmp_path / "f", 32, 3)
    assert n == len(x) == len(b.combos(held=False)) and counts.tolist() == [3] * n
    assert "green" in vocab and not any("green-disc" in p.name
                                        for p in (tmp_path / "f").iterdir())


def test_the_doc_renders_from_its_saved_results_and_its_verdict_is_computed():
    bench()
    report = importlib.import_module("text2image_folder_report")
    saved = json.loads((REPO / "docs/results/text2image_folder.json").read_text())
    assert report.render(saved) == (REPO / "docs/results/text2image_folder.md").read_text()
    rows = [{"sentence": "a", "all": 99.0}, {"sentence": "b", "all": 40.0}]
    good = {split: {k: (99.0, 0.5) for k in report.KEYS} for split in ("seen", "held-out")}
    assert "**met**" in report.goal_lines(good, rows[:1])[0]
    good["held-out"]["shape"] = (96.0, 2.0)  # above 95 but not by two standard errors
    lines = report.goal_lines(good, rows)
    assert "**not met**" in lines[0] and "held-out shape 96.0 %" in lines[0]
    assert "1 of 2 (b 40 %)" in lines[2]
