"""Text to image on a user-style captioned folder: coloured shapes, measured by their pixels.

    python benchmarks/text2image_folder.py                   # write the folder, train, measure
    python benchmarks/text2image_folder.py --render-only     # rewrite the doc from the JSON

The folder is what a user would hand gankit (data.dataset captioned-folder): NAME.png, 32 x 32
RGB, and NAME.txt with three phrasings of its caption. Each picture is one shape on a white
background: colour in COLOURS x shape in SHAPES x size in SIZES, its centre jittered by up to
JITTER pixels and its side by up to 1 pixel. The colour-shape pairs in HELD_OUT (both sizes)
are never written to the folder, so no training image or caption shows them.

The run trains configs/text2image-folder.yaml on one thread until --cpu-minutes of this
process's CPU time (CpuBudget). Then, for every colour x shape x size, N_EVAL samples of the
sentence "a SIZE COLOUR SHAPE" are measured (`measure`, documented there): foreground = pixels
that differ from white by more than FG_LEVEL in some channel, cleaned of isolated pixels;
colour = the palette colour nearest the foreground's mean colour; size = foreground area above
or below a threshold set between the real small and large pictures; shape = the foreground's
fill ratio of its bounding box (square 1, disc pi/4, triangle 1/2), cut at FILL_CUTS. The same
measurements of freshly drawn real pictures show how far the measures themselves can be trusted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from common import load_average, machine, now, write_doc

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "results" / "text2image_folder.md"
RESULTS = DOC.with_suffix(".json")
GRID = DOC.with_suffix(".png")
SIZE = 32
COLOURS = {"red": (0.86, 0.12, 0.12), "green": (0.12, 0.70, 0.16), "blue": (0.14, 0.20, 0.86),
           "yellow": (0.90, 0.80, 0.10)}
SHAPES = ("square", "disc", "triangle")
SIZES = {"small": 10, "large": 20}  # side (or diameter) in pixels
HELD_OUT = (("green", "disc"), ("yellow", "square"), ("blue", "triangle"))
JITTER = 4
PER_COMBO = 100  # training pictures per seen colour x shape x size
SYNONYMS = {"disc": ("disc", "circle"), "square": ("square", "box"),
            "triangle": ("triangle",), "small": ("small", "little"), "large": ("large", "big")}
TEMPLATES = ("a {z} {c} {s}", "{c} {s}, {z}", "a {s} that is {c} and {z}", "{z} {s} in {c}",
             "the {c} {s} is {z}")
FG_LEVEL = 0.3  # a foreground pixel differs from white by more than this in some channel
MIN_AREA = 12  # fewer foreground pixels: no shape was drawn
FILL_CUTS = (0.715, 0.9)  # fill ratio below: triangle; between: disc; above: square (real
# pictures: triangles 0.57-0.68, discs 0.75-0.80, squares 1)
N_EVAL = 100  # samples per sentence
GOAL = 95.0  # % of samples following each word of their sentence (issue #17's share for digits)


# --- the folder -------------------------------------------------------------------------------

def draw(colour: str, shape: str, size: str, rng: random.Random) -> Image.Image:
    """One 32 x 32 picture: the shape centred within JITTER pixels, side SIZES[size] +- 1."""
    img = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    side = SIZES[size] + rng.randint(-1, 1)
    cx, cy = SIZE / 2 + rng.uniform(-JITTER, JITTER), SIZE / 2 + rng.uniform(-JITTER, JITTER)
    box = (cx - side / 2, cy - side / 2, cx + side / 2 - 1, cy + side / 2 - 1)
    fill = tuple(round(255 * v) for v in COLOURS[colour])
    pen = ImageDraw.Draw(img)
    if shape == "square":
        pen.rectangle(box, fill=fill)
    elif shape == "disc":
        pen.ellipse(box, fill=fill)
    else:  # upright triangle: base at the bottom, apex at the top centre
        pen.polygon([(box[0], box[3]), (box[2], box[3]), (cx - 0.5, box[1])], fill=fill)
    return img


def caption_lines(colour: str, shape: str, size: str, rng: random.Random) -> list[str]:
    """Three different phrasings, synonyms drawn ("a big red circle", "red disc, large", ...)."""
    return [t.format(c=colour, s=rng.choice(SYNONYMS[shape]), z=rng.choice(SYNONYMS[size]))
            for t in rng.sample(TEMPLATES, 3)]


def combos(held: bool) -> list[tuple[str, str, str]]:
    return [(c, s, z) for c in COLOURS for s in SHAPES for z in SIZES
            if ((c, s) in HELD_OUT) == held]


def write_folder(folder: Path, per_combo: int = PER_COMBO, seed: int = 0) -> int:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng, n = random.Random(seed), 0
    for colour, shape, size in combos(held=False):
        for _ in range(per_combo):
            name = f"{n:05d}-{size}-{colour}-{shape}"
            draw(colour, shape, size, rng).save(folder / f"{name}.png")
            (folder / f"{name}.txt").write_text("\n".join(caption_lines(colour, shape, size,
                                                                         rng)) + "\n")
            n += 1
    return n


def real_pictures(colour: str, shape: str, size: str, n: int, seed: int) -> torch.Tensor:
    rng = random.Random(seed)
    pics = np.stack([np.asarray(draw(colour, shape, size, rng)) for _ in range(n)])
    return torch.from_numpy(pics).permute(0, 3, 1, 2).float() / 255


# --- the measurements ---------------------------------------------------------------------------

def foreground(x: torch.Tensor) -> torch.Tensor:
    """N x H x W bool: pixels that differ from white by more than FG_LEVEL in some channel and
    have at least 3 such pixels among their 8 neighbours (isolated specks are not a shape)."""
    mask = (1 - x).amax(dim=1) > FG_LEVEL
    near = F.conv2d(mask.float().unsqueeze(1), torch.ones(1, 1, 3, 3), padding=1).squeeze(1)
    return mask & (near >= 4)  # itself and 3 neighbours


def measure(x: torch.Tensor, area_cut: float) -> dict[str, list]:
    """Per image (N x 3 x H x W in [0, 1]): the nearest palette colour to the foreground's mean
    colour, "small"/"large" by foreground area against `area_cut`, and the shape by the fill
    ratio of the foreground's bounding box (FILL_CUTS); None for all three when the foreground
    has fewer than MIN_AREA pixels. Also the raw area and fill ratio."""
    mask = foreground(x)
    names, palette = list(COLOURS), torch.tensor(list(COLOURS.values()))
    out: dict[str, list] = {"colour": [], "size": [], "shape": [], "area": [], "fill": []}
    for img, m in zip(x, mask, strict=True):
        area = int(m.sum())
        if area < MIN_AREA:
            for key in out:
                out[key].append(None if key in ("colour", "size", "shape") else float(area))
            continue
        mean = img[:, m].mean(dim=1)
        rows, cols = m.any(dim=1).nonzero(), m.any(dim=0).nonzero()
        box = (int(rows[-1] - rows[0]) + 1) * (int(cols[-1] - cols[0]) + 1)
        fill = area / box
        out["colour"].append(names[int((palette - mean).norm(dim=1).argmin())])
        out["size"].append("large" if area > area_cut else "small")
        out["shape"].append("triangle" if fill < FILL_CUTS[0] else
                            "disc" if fill < FILL_CUTS[1] else "square")
        out["area"].append(float(area))
        out["fill"].append(fill)
    return out


def area_cut(seed: int = 1) -> float:
    """The size threshold: the geometric mean of the largest real small picture's area and the
    smallest real large picture's, over every colour and shape (200 pictures each)."""
    small, large = [], []
    for c, s, z in combos(False) + combos(True):
        areas = measure(real_pictures(c, s, z, 200, seed), 0.0)["area"]
        (small if z == "small" else large).append((min(areas), max(areas)))
    return math.sqrt(max(hi for _, hi in small) * min(lo for lo, _ in large))


def follows(m: dict[str, list], colour: str, shape: str, size: str) -> dict[str, list[bool]]:
    """Per sample: whether its measured colour, size, shape (and all three) are the sentence's."""
    hits = {"colour": [v == colour for v in m["colour"]], "size": [v == size for v in m["size"]],
            "shape": [v == shape for v in m["shape"]]}
    hits["all"] = [a and b and c for a, b, c in zip(*hits.values(), strict=True)]
    return hits


def share(hits: list[bool]) -> tuple[float, float]:
    """% and its binomial standard error."""
    p = sum(hits) / len(hits)
    return 100 * p, 100 * math.sqrt(p * (1 - p) / len(hits))


# --- training and scoring -----------------------------------------------------------------------

def train(folder: Path, run_dir: Path, cpu_minutes: float) -> dict:
    from gankit.config import load_config
    from gankit.train.hooks import CpuBudget
    from gankit.train.loop import Trainer

    if run_dir.exists():
        shutil.rmtree(run_dir)
    cfg = load_config(ROOT / "configs" / "text2image-folder.yaml",
                      [f"data.dir={folder}", "train.progress=false", "train.threads=1",
                       "train.max_steps=100000", "train.checkpoint_every=0"])
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(cfg, run_dir, hooks=[CpuBudget(cpu_minutes * 60)])
    trainer.run()
    return {"cpu_minutes": (time.process_time() - cpu) / 60,
            "wall_minutes": (time.perf_counter() - wall) / 60,
            "g_steps": trainer.progress.g_steps,
            "epochs": trainer.progress.d_steps / trainer.batches_per_epoch,
            "budget_cpu_minutes": cpu_minutes, "images": len(trainer.data.x),
            "vocabulary": trainer.data.vocabulary[1:]}


def sentence(colour: str, shape: str, size: str) -> str:
    return f"a {size} {colour} {shape}"


@torch.no_grad()
def score(run, cut: float) -> dict:
    from gankit.viz.text import sample_text

    rows, pooled = [], {"seen": {}, "held-out": {}, "real pictures (the measures' own error)": {}}
    for held in (False, True):
        for k, (c, s, z) in enumerate(combos(held)):
            samples = sample_text(run, sentence(c, s, z), N_EVAL, seed=1000 + k + 100 * held)
            hits = follows(measure(samples, cut), c, s, z)
            real = follows(measure(real_pictures(c, s, z, N_EVAL, 7 + k + 100 * held), cut),
                           c, s, z)
            rows.append({"sentence": sentence(c, s, z), "held_out": held,
                         **{key: share(v)[0] for key, v in hits.items()}})
            for name, h in (("held-out" if held else "seen", hits),
                            ("real pictures (the measures' own error)", real)):
                for key, v in h.items():
                    pooled[name].setdefault(key, []).extend(v)
    summary = {name: {key: share(v) for key, v in d.items()} | {"n": len(d["all"])}
               for name, d in pooled.items()}
    return {"rows": rows, "summary": summary}


def cohen_d(a: list[float], b: list[float]) -> float:
    """(mean a - mean b) / pooled SD."""
    ta, tb = torch.tensor(a), torch.tensor(b)
    pooled = ((ta.var() * (len(a) - 1) + tb.var() * (len(b) - 1)) / (len(a) + len(b) - 2)).sqrt()
    return float((ta.mean() - tb.mean()) / pooled)


@torch.no_grad()
def shape_contrasts(run) -> list[dict]:
    """Per colour x size: the same N_EVAL noise vectors under "square", "disc" and "triangle";
    the median fill ratio of each, and Cohen's d of square vs disc and disc vs triangle (the
    shape words should order the fill ratio as real pictures do: square > disc > triangle)."""
    from gankit.viz.text import sample_text

    rows = []
    for k, (colour, size) in enumerate((c, z) for c in COLOURS for z in SIZES):
        fills = {}
        for shape in SHAPES:
            m = measure(sample_text(run, sentence(colour, shape, size), N_EVAL, seed=5000 + k),
                        0.0)
            fills[shape] = [f for f, c in zip(m["fill"], m["colour"], strict=True) if c]
        rows.append({"colour": colour, "size": size,
                     "held_out": [s for s in SHAPES if (colour, s) in HELD_OUT],
                     "median": {s: float(torch.tensor(v).median()) for s, v in fills.items()},
                     "d_square_disc": cohen_d(fills["square"], fills["disc"]),
                     "d_disc_triangle": cohen_d(fills["disc"], fills["triangle"])})
    return rows


def picture(run) -> list[str]:
    from gankit.viz.grid import save_grid
    from gankit.viz.text import sample_text

    shown = [sentence(c, s, z) for c, s, z in combos(False)[::3] + combos(True)]
    grid = torch.cat([sample_text(run, t, 8, seed=5) for t in shown])
    save_grid(grid, GRID, nrow=8)
    return shown


def main() -> None:
    from text2image_folder_report import render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(ROOT / "runs" / "shapes-folder"))
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "bench-text2image-folder"))
    ap.add_argument("--cpu-minutes", type=float, default=6.0)
    ap.add_argument("--score-only", action="store_true",
                    help="score the trained --run-dir again (its facts from the saved JSON)")
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    if not args.render_only:
        from gankit.train.run import load_run

        torch.set_num_threads(1)
        if args.score_only:
            facts = json.loads(RESULTS.read_text())["facts"]
        else:
            write_folder(Path(args.folder))
            facts = train(Path(args.folder), Path(args.run_dir), args.cpu_minutes)
        cpu = time.process_time()
        run, cut = load_run(args.run_dir), area_cut()
        res = {"facts": facts, "area_cut": cut, "score": score(run, cut),
               "contrasts": shape_contrasts(run), "grid_rows": picture(run),
               "date": now(), "machine": machine(1), "load": load_average(),
               "score_only": args.score_only}
        res["eval_cpu_minutes"] = (time.process_time() - cpu) / 60
        RESULTS.write_text(json.dumps(res, indent=1))
    write_doc(DOC, render(json.loads(RESULTS.read_text())))


if __name__ == "__main__":
    sys.exit(main())
