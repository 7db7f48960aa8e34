"""The doc of benchmarks/text2image_folder.py, rendered from its saved results (JSON)."""

from __future__ import annotations

from common import Row, goal_check, header, table
from text2image_folder import (
    COLOURS,
    FG_LEVEL,
    FILL_CUTS,
    GOAL,
    GRID,
    HELD_OUT,
    JITTER,
    MIN_AREA,
    N_EVAL,
    PER_COMBO,
    SHAPES,
    SIZE,
    SIZES,
    combos,
)

CHANCE = {"colour": 100 / len(COLOURS), "size": 100 / len(SIZES), "shape": 100 / len(SHAPES)}
KEYS = ("colour", "size", "shape", "all")
COMMAND = "python benchmarks/text2image_folder.py"


def goal_lines(summary: dict, rows: list[dict]) -> list[str]:
    """One verdict over both splits and every word: met only when each share clears GOAL by
    goal_check's margin; every shortfall named, and the sentences below GOAL counted."""
    short = []
    for split in ("seen", "held-out"):
        for key in KEYS:
            pct, se = summary[split][key]
            if not goal_check(pct, se, [Row("goal", GOAL)]).met:
                short.append(f"{split} {key} {pct:.1f} %")
    verdict = "met" if not short else "not met"
    below = [f"{r['sentence']} {r['all']:.0f} %" for r in sorted(rows, key=lambda r: r["all"])
             if r["all"] < GOAL]
    return [f"Goal (the issue: samples follow their sentence; taken here as ≥ {GOAL:.0f} % on "
            "each word and on all three at once, for seen and for held-out combinations): "
            f"**{verdict}**" + (f"; short of it: {', '.join(short)}." if short else "."), "",
            f"Sentences with all three words right in fewer than {GOAL:.0f} % of samples: "
            f"{len(below)} of {len(rows)}" + (f" ({', '.join(below)})." if below else ".")]


def contrast_lines(rows: list[dict]) -> list[str]:
    lines = ["## Do the shape words move the shape?", "",
             f"The fill-ratio cuts come from real pictures; G's shapes have soft, ragged edges, "
             "so their fill ratios sit between the real ones. Whether the shape word still moves "
             f"the shape the right way: per colour x size, the same {N_EVAL} noise vectors under "
             "\"square\", \"disc\" and \"triangle\"; the median fill ratio of each (real "
             "pictures: square 1, disc 0.75-0.80, triangle 0.57-0.68) and Cohen's d (pooled SD) "
             "of square vs disc and of disc vs triangle (positive: the real pictures' order). "
             "**Held-out** names shapes never shown in that colour.", ""]
    lines += table(["colour, size", "median square", "median disc", "median triangle",
                    "d square vs disc", "d disc vs triangle"],
                   [(f"{r['colour']}, {r['size']}" + (f" (**held-out: {', '.join(r['held_out'])}"
                                                       "**)" if r["held_out"] else ""),
                     *(f"{r['median'][s]:.2f}" for s in SHAPES), f"{r['d_square_disc']:.2f}",
                     f"{r['d_disc_triangle']:.2f}") for r in rows])
    ordered = sum(r["median"]["square"] > r["median"]["disc"] > r["median"]["triangle"]
                  for r in rows)
    lines += ["", f"The medians are in the real pictures' order (square > disc > triangle) for "
              f"{ordered} of {len(rows)} colour x size pairs; mean d square vs disc "
              f"{sum(r['d_square_disc'] for r in rows) / len(rows):.2f}, disc vs triangle "
              f"{sum(r['d_disc_triangle'] for r in rows) / len(rows):.2f}.", ""]
    return lines


def render(res: dict) -> str:
    f, sm = res["facts"], res["score"]["summary"]
    commands = [f"{COMMAND} --cpu-minutes {f['budget_cpu_minutes']:g}"]
    if res.get("score_only"):
        commands.append(f"{COMMAND} --score-only")
    lines = header("Text to image on a captioned folder of coloured shapes (GAN-CLS + GAN-INT)",
                   commands, res["date"], res["machine"], [f"Load: {res['load']}"])
    held = ", ".join(f"{c} {s}" for c, s in HELD_OUT)
    lines += ["", f"The folder: {f['images']} pictures of {SIZE} x {SIZE} RGB written by the "
              f"script ({PER_COMBO} per seen colour x shape x size), each NAME.png with NAME.txt "
              "beside it holding three phrasings (\"a big red circle\", \"red disc, large\", "
              "\"the red square is little\", ...); colours "
              f"{', '.join(COLOURS)}, shapes {', '.join(SHAPES)}, sizes "
              f"{', '.join(f'{k} ({v} px)' for k, v in SIZES.items())}, centre jittered by up to "
              f"{JITTER} px. Held out of the folder (no picture, no caption, both sizes): "
              f"{held}. Vocabulary built by gankit from the captions: {len(f['vocabulary'])} "
              f"words ({', '.join(f['vocabulary'])}).", "",
              f"Training: `configs/text2image-folder.yaml` (MLP G and D conditioned on a bag-of-"
              f"words sentence encoder trained with D) on one thread for a budget of "
              f"{f['budget_cpu_minutes']} CPU minutes: used {f['cpu_minutes']:.1f} CPU minutes "
              f"({f['wall_minutes']:.1f} wall minutes on the shared machine), {f['g_steps']} G "
              f"steps, {f['epochs']:.1f} epochs. Scoring took {60 * res['eval_cpu_minutes']:.0f} "
              "CPU seconds" + (" (a second pass over the same trained run)"
                               if res.get("score_only") else "") + ".", ""]
    lines += ["## Do the samples follow the sentence?", "",
              f"For each of the {len(COLOURS) * len(SHAPES) * len(SIZES)} colour x shape x size, "
              f"{N_EVAL} samples of \"a SIZE COLOUR SHAPE\" (the first phrasing, primary words), "
              "measured from their pixels: foreground = pixels differing from white by more than "
              f"{FG_LEVEL} in a channel (isolated pixels dropped); colour = palette colour "
              "nearest the foreground's mean colour; size = foreground area above or below "
              f"{res['area_cut']:.0f} px (the geometric mean of the largest real small and the "
              "smallest real large picture's area); shape = fill ratio of the foreground's "
              f"bounding box (< {FILL_CUTS[0]} triangle, < {FILL_CUTS[1]} disc, else square); "
              f"fewer than {MIN_AREA} foreground pixels count as wrong on every word. Shares in "
              "% ± binomial s.e.; chance: "
              + ", ".join(f"{k} {v:.0f} %" for k, v in CHANCE.items()) + ".", ""]
    lines += table(["samples", "n", "colour right", "size right", "shape right", "all three"],
                   [(name, d["n"], *(f"{d[k][0]:.1f} ± {d[k][1]:.1f}" for k in KEYS))
                    for name, d in sm.items()])
    lines += ["", *goal_lines(sm, res["score"]["rows"]), ""]
    lines += ["### Per sentence", ""]
    lines += table(["sentence", "held out", "colour %", "size %", "shape %", "all %"],
                   [(r["sentence"], "**yes**" if r["held_out"] else "",
                     *(f"{r[k]:.0f}" for k in KEYS)) for r in res["score"]["rows"]])
    lines += ["", *contrast_lines(res["contrasts"])]
    lines += ["## Samples", "", "One row per sentence (8 noise vectors each); the last "
              f"{len(combos(True))} rows are held-out combinations:", "",
              *[f"{i + 1}. {t}" for i, t in enumerate(res["grid_rows"])], "",
              f"![samples]({GRID.name})", ""]
    return "\n".join(lines)
