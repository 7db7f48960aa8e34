"""Per-loss recipes on PacGAN's 2-D ring and grid (issue 18: "every loss learns", and the grid
and ring at PacGAN's level), checked against the issue's goals. Writes
docs/results/toy2d_recipes.md; the rows are saved in docs/results/toy2d_recipes.json.

    python benchmarks/toy2d_recipes.py [--seeds 5] [--datasets ring grid] [--losses wgan ...]
    python benchmarks/toy2d_recipes.py --until-fail ...  # a loss's seeds stop at its first miss
    python benchmarks/toy2d_recipes.py --search LABEL CONFIG SEEDS [KEY=VALUE ...]  # one probe
    python benchmarks/toy2d_recipes.py --render-only

Each loss runs from a recipe: its own config where the shared one fails it (configs/
ring8-wgan.yaml, ring8-wgan-gp.yaml, grid25-wgan-gp.yaml), else the dataset's
recipe config with `loss=X` and the recipe's Adam schedule put back (as benchmarks/toy2d.py
does). `--search` probes are cached and recorded with their label; the doc lists them all, so
the search behind each recipe is in the doc with its numbers. Scoring: toy2d_runs.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import (
    config_differences,
    header,
    load_average,
    machine,
    machines,
    now,
    table,
    write_doc,
)
from gankit.config import LOSS_NAMES, load_config
from toy2d_goals import (
    EVERY_LOSS,
    GOAL_SEEDS,
    PACGAN,
    drs_label,
    drs_rows,
    every_loss_check,
    pacgan_check,
    summary,
)
from toy2d_recipes_notes import INTRO, NOTES
from toy2d_report import plot_dataset
from toy2d_runs import REPO, cached_runs, run_key, run_many

RUNS = REPO / "runs" / "toy2d-recipes"
SAVED = REPO / "docs/results/toy2d_recipes.json"
BASE = {"ring": "configs/ring8-demo.yaml", "grid": "configs/grid25-pacgan.yaml"}
OWN = {("ring", "wgan"): "configs/ring8-wgan.yaml",
       ("ring", "wgan-gp"): "configs/ring8-wgan-gp.yaml",
       ("grid", "wgan-gp"): "configs/grid25-wgan-gp.yaml",
       ("grid", "wgan"): "configs/grid25-wgan.yaml"}
# A recipe config run as its base config plus overrides, so the benchmark reuses the probe that
# found it (runs are cached by config and overrides); check_same() proves the two are one config.
AS_OVERRIDES = {
    "configs/ring8-pacgan-level.yaml": ("configs/ring8-demo.yaml", [
        "train.epochs=40", "optim.lr_decay=1.00023", "train.ema=0.999",
        "generator.z_dist=uniform", "optim.lr_min=0.00001"]),
    "configs/ring8-wgan.yaml": ("configs/ring8-demo.yaml", [
        "loss=wgan", "optim.name=adam", "optim.lr=0.001", "optim.betas=[0.5,0.999]",
        "optim.lr_decay=1.0006", "optim.lr_min=0.0001", "train.k=5", "losses.clip=0.03",
        "losses.wgan_warmup=false", "train.epochs=6"]),
    "configs/grid25-pacgan-level.yaml": ("configs/grid25-pacgan.yaml", [
        "discriminator.pack=1", "losses.r1_weight=1", "train.epochs=15",
        "optim.lr_decay=1.00046", "optim.lr_min=0.00001", "train.ema=0.999"]),
    "configs/grid25-infogan.yaml": ("configs/grid25-pacgan.yaml", [
        "discriminator.pack=1", "losses.r1_weight=0.1", "train.epochs=15",
        "optim.lr_decay=1.00046", "optim.lr_min=0.00001", "train.ema=0.999",
        "objective=infogan", "generator.z_categories=25"]),
    "configs/grid25-wgan-gp.yaml": ("configs/grid25-pacgan.yaml", [
        "loss=wgan-gp", "optim.name=adam", "optim.lr=0.001", "optim.betas=[0.5,0.999]",
        "optim.lr_decay=1.0006", "optim.lr_min=0.0001", "train.epochs=10",
        "losses.gp_weight=0.1", "discriminator.pack=1"]),
    "configs/grid25-wgan.yaml": ("configs/grid25-pacgan.yaml", [
        "loss=wgan", "optim.name=rmsprop", "optim.lr=0.00005", "optim.lr_decay=1.0",
        "optim.lr_min=0.00005", "losses.clip=0.01", "discriminator.pack=1", "train.epochs=40"]),
}


# Recipes that train longer than the other losses, each shown beside the search probe that ran
# it at their budget (issue 18: "the table says so beside the equal-budget row"): the override
# that makes the budget equal, and that probe's label.
LONGER_BUDGET = {
    ("grid", "wgan-gp"): ("train.epochs=5", "grid wgp: the recipe at the other losses' budget "
                                            "(5 epochs, 1,000 G steps)"),
    ("grid", "wgan"): ("train.epochs=5", "grid wgan: the recipe at the other losses' budget "
                                         "(5 epochs)")}


# R1 on the grid's shared recipe: the probes "grid ns: pack 1, R1 0.1" and "... R1 1" found all
# 25 modes on each of seeds 0-2, where the same recipe without it found 18-22 on some seeds; 1
# had the lower reverse KL (the search table).
GRID_R1 = 1.0


def check_same(config: str) -> tuple[str, list[str]]:
    """The (base, overrides) that AS_OVERRIDES runs for `config`, after checking they resolve
    to the same settings as the shipped file (all but its name)."""
    base, overrides = AS_OVERRIDES[config]
    if diff := config_differences(REPO / config, REPO / base, overrides):
        raise SystemExit(f"{config} differs from {base} with {overrides} ({'; '.join(diff)}): "
                         "update AS_OVERRIDES")
    return base, overrides
def recipe(dataset: str, loss: str) -> tuple[str, list[str]]:
    """The config and overrides that train `loss` on `dataset`."""
    if (dataset, loss) in OWN:
        own = OWN[(dataset, loss)]
        return check_same(own) if own in AS_OVERRIDES else (own, [])
    config = BASE[dataset]
    o = load_config(REPO / config).optim
    overrides = [f"loss={loss}", f"optim.name={o.name}", f"optim.lr={o.lr}",
                 f"optim.betas=[{o.betas[0]},{o.betas[1]}]", f"optim.lr_decay={o.lr_decay}",
                 f"optim.lr_min={o.lr_min}",
                 # the packing toy2d.md's sweep found best: 2 on the ring, none on the grid
                 f"discriminator.pack={2 if dataset == 'ring' else 1}"]
    if dataset == "grid":
        overrides.append(f"losses.r1_weight={GRID_R1:g}")
    return config, overrides


def _row_cells(label: str, rows: list[dict]) -> list[object]:
    s = summary(rows)
    return [label, s["n"], f"{s['modes'][0]:.1f} ± {s['modes'][1]:.1f}", s["min_modes"],
            f"{s['hq'][0]:.1f} ± {s['hq'][1]:.1f}", f"{s['kl'][0]:.3f} ± {s['kl'][1]:.3f}",
            s["g_steps"], f"{s['cpu_s'] / 60:.1f}"]


COLUMNS = ["recipe", "seeds", "modes", "fewest", "HQ %", "reverse KL", "G steps",
           "CPU min (max per seed)"]


def _recipe_name(dataset: str, loss: str, row: dict) -> str:
    if (dataset, loss) in OWN:
        return Path(OWN[(dataset, loss)]).name
    extra = [o for o in row["overrides"] if o.startswith("losses.r1_weight=")]
    return " ".join([Path(row["config"]).name, f"loss={loss}", *extra])


def equal_budget_rows(saved: dict, dataset: str, loss: str) -> list[dict]:
    """The rows of the probe that ran a longer-budget recipe at the others' budget (none for the
    other recipes); the probe must be the recipe with only the budget changed."""
    if (dataset, loss) not in LONGER_BUDGET:
        return []
    change, label = LONGER_BUDGET[(dataset, loss)]
    base, overrides = check_same(OWN[(dataset, loss)])
    key = change.split("=")[0] + "="
    expected = [change if o.startswith(key) else o for o in overrides]
    for probe in saved["search"]:
        if probe["label"] == label:
            if (probe["config"], probe["overrides"]) != (base, expected):
                raise SystemExit(f"probe {label!r} is not {base} with {expected}")
            return probe["rows"]
    return []


def every_loss_lines(saved: dict) -> list[str]:
    """Per dataset, the every-loss goal and its table of recipes (with longer-budget rows)."""
    lines: list[str] = []
    for dataset, losses in saved["every_loss"].items():
        lines += [f"## Every loss learns: {dataset}", "",
                  f"Goal: {'all 8' if dataset == 'ring' else 'at least 23 of 25'} modes on 5 of 5 "
                  "seeds, each loss from its recipe.", ""]
        rows = []
        for loss, r in losses.items():
            name = _recipe_name(dataset, loss, r[0])
            equal = equal_budget_rows(saved, dataset, loss)
            longer = ", a longer budget than the others" if equal else ""
            rows.append([*_row_cells(f"{loss} (`{name}`{longer})", r),
                         every_loss_check(dataset, r)])
            if equal:
                change = LONGER_BUDGET[(dataset, loss)][0]
                rows.append([*_row_cells(f"{loss} at the others' budget (`{name} {change}`)",
                                         equal), every_loss_check(dataset, equal)])
        lines += [*table([*COLUMNS, "goal check"], rows), ""]
    return lines


def pacgan_lines(saved: dict) -> list[str]:
    """The PacGAN-level goal and its check of every recipe and --pacgan candidate."""
    lines = ["## PacGAN's level", "",
             "Goal: grid all 25 modes on ≥ 9 of 10 seeds, HQ ≥ 90 %, reverse KL ≤ 0.05;",
             "ring all 8 modes on every seed, HQ ≥ 97 %; each ≤ 10 CPU minutes per seed.",
             "Every row above (and any candidate run with --pacgan), checked:", ""]
    candidates = {d: {**{f"{loss} recipe": r for loss, r in losses.items()},
                      **saved["pacgan"].get(d, {})} for d, losses in saved["every_loss"].items()}
    for dataset, groups in candidates.items():
        for label, rows in groups.items():
            lines.append(f"- {dataset}, {label}: {pacgan_check(dataset, rows)}")
            if rows and all(r.get("drs") for r in rows):
                lines.append(f"- {dataset}, {label}, {drs_label(rows)}: "
                             f"{pacgan_check(dataset, drs_rows(rows))}")
    return lines


def render(saved: dict) -> str:
    lines = [*header("Per-loss recipes on the 2-D ring and grid (issue 18)", saved["command"],
                     saved["date"], saved["machine"], style="breaks"), "", *INTRO,
             *every_loss_lines(saved), *pacgan_lines(saved)]
    lines += ["", "## The search (probes, one seed unless the seeds column says more)", "",
              *table(["probe", "config", "overrides", *COLUMNS[1:]],
                     [[p["label"], Path(p["config"]).name, " ".join(p["overrides"]) or "–",
                       *_row_cells("", p["rows"])[1:]] for p in saved["search"]]),
              "", *NOTES]
    if GRID_PLOT.exists():
        lines += ["", f"![the grid: controls and the InfoGAN candidate]({GRID_PLOT.name})", "",
                  "*2,500 samples (blue) of each run over the 25 modes (red x): the two control "
                  "probes and the InfoGAN candidate at seeds 0 and 1, and the candidate's fresh "
                  "seed with the fewest modes.*"]
    return "\n".join(lines) + "\n"


# The picture of the grid's InfoGAN search: (panel title, probe or candidate label, seed).
GRID_PLOT = SAVED.parent / "toy2d_recipes-grid.png"
GRID_PANELS = [
    ("no code, no Q", "grid infogan control: no code, no Q, R1 0.1", 0),
    ("no code, no Q", "grid infogan control: no code, no Q, R1 0.1", 1),
    ("code, no Q", "grid infogan control: 25 categories without Q (objective gan), R1 0.1", 0),
    ("code, no Q", "grid infogan control: 25 categories without Q (objective gan), R1 0.1", 1),
    ("InfoGAN", "InfoGAN candidate (grid25-infogan.yaml)", 0),
    ("InfoGAN", "InfoGAN candidate (grid25-infogan.yaml)", 1),
    ("InfoGAN, fewest", "InfoGAN candidate at fresh seeds 10-19 (grid25-infogan.yaml)", None),
]


def plot_grid_search(saved: dict) -> None:
    """Draw GRID_PLOT from the runs' saved samples; left as it is when a run folder is missing
    (a fresh checkout keeps the picture its rows were drawn from)."""
    groups = {p["label"]: p["rows"] for p in saved["search"]} | saved["pacgan"].get("grid", {})
    panels = []
    for title, label, seed in GRID_PANELS:
        rows = groups.get(label, [])
        row = (min(rows, key=lambda r: (r["modes"], r["high_quality"])) if seed is None and rows
               else next((r for r in rows if r["seed"] == seed), None))
        if row is None or not (RUNS / row["key"] / "samples.npy").exists():
            return
        panels.append((f"{title} (seed {row['seed']})", row))
    plot_dataset("grid", panels, RUNS, GRID_PLOT)


# toy2d.md (benchmarks/toy2d.py's doc) ends with this section, rendered from the recipes' saved
# rows by whichever of the two scripts writes last, so both docs show the same goal checks.
TOY2D_DOC = REPO / "docs/results/toy2d.md"
RECIPES_HEADING = "## Recipes toward issue 18's goals"


def toy2d_section(saved: dict) -> list[str]:
    """The recipes' goal checks as a section of toy2d.md (headings one level down)."""
    body = [("#" + line) if line.startswith("## ") else line
            for line in [*every_loss_lines(saved), *pacgan_lines(saved)]]
    return [RECIPES_HEADING, "",
            f"From `benchmarks/toy2d_recipes.py` (results of {saved['date']}; its commands, "
            "machines, protocol and every probe in [toy2d_recipes.md](toy2d_recipes.md)).",
            "Each loss and each PacGAN-level candidate trained from its own recipe config.", "",
            *body]


def with_recipes_section(doc: str, saved: dict) -> str:
    """`doc` with its recipes section (if any) replaced by the current one, at the end."""
    kept = doc.split("\n" + RECIPES_HEADING + "\n")[0].rstrip("\n")
    return kept + "\n\n" + "\n".join(toy2d_section(saved)) + "\n"


def restore_cache() -> None:
    """Put the saved rows and probes back into an empty runs folder (a fresh checkout), so the
    benchmark and --search reuse them instead of training them again."""
    if (RUNS / "results.jsonl").exists() or not SAVED.exists():
        return
    saved = json.loads(SAVED.read_text())
    rows = [r for p in saved["search"] for r in p["rows"]]
    rows += [r for losses in saved["every_loss"].values() for rs in losses.values() for r in rs]
    rows += [r for groups in saved["pacgan"].values() for rs in groups.values() for r in rs]
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (RUNS / "search.jsonl").write_text("".join(
        json.dumps({k: p[k] for k in ("label", "config", "overrides", "keys")}) + "\n"
        for p in saved["search"]))


def search(args: argparse.Namespace) -> None:
    label, config, seeds, *overrides = args.search
    rows = run_many([(config, overrides, int(s)) for s in seeds.split(",")], RUNS,
                    args.drs_refit, args.workers)
    with open(RUNS / "search.jsonl", "a") as f:
        f.write(json.dumps({"label": label, "config": config, "overrides": overrides,
                            "keys": [r["key"] for r in rows]}) + "\n")


def saved_search() -> list[dict]:
    done = cached_runs(RUNS)
    probes = [json.loads(line) for line in (RUNS / "search.jsonl").read_text().splitlines()]
    return [{**p, "rows": [done[k] for k in p["keys"]]} for p in probes]


def _rows(jobs: list[tuple[str, list[str], int]], cached_only: bool,
          drs_refit: int | None = None, workers: int = 1) -> list[dict]:
    if not cached_only:
        return run_many(jobs, RUNS, drs_refit, workers)
    done = cached_runs(RUNS)
    return [done[k] for k in (run_key(c, o, s) for c, o, s in jobs) if k in done]


def seed_rows(dataset: str, jobs: list[tuple[str, list[str], int]], cached_only: bool,
              until_fail: bool) -> list[dict]:
    """The rows of `jobs` (one per seed, in order); with `until_fail`, none after the first
    seed that misses the every-loss goal, which can then no longer be met (saves CPU)."""
    if not until_fail:
        return _rows(jobs, cached_only)
    rows: list[dict] = []
    for job in jobs:
        rows += _rows([job], cached_only)
        if rows and rows[-1]["modes"] < EVERY_LOSS[dataset]:
            break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=GOAL_SEEDS)
    parser.add_argument("--seeds-shared", type=int, default=None,
                        help="seeds for the losses that use the dataset's shared recipe")
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"])
    parser.add_argument("--losses", nargs="*", default=list(LOSS_NAMES),
                        help="losses whose every-loss recipes run (none: only --pacgan)")
    parser.add_argument("--pacgan", nargs="*", default=[], metavar="DATASET:LABEL:CONFIG",
                        help="also run a candidate for PacGAN's level at --pacgan-seeds seeds")
    parser.add_argument("--pacgan-seeds", type=int, default=PACGAN["ring"]["seeds"])
    parser.add_argument("--pacgan-first-seed", type=int, default=0,
                        help="--pacgan candidates run seeds from this one (fresh seeds for a "
                        "candidate whose settings were picked on the first ones)")
    parser.add_argument("--drs-refit", type=int, default=None, metavar="STEPS",
                        help="also score --pacgan candidates and --search probes sampled with "
                        "DRS, D refitted STEPS minibatches (gankit sample --drs --drs-refit)")
    parser.add_argument("--search", nargs="+", metavar="ARG")
    parser.add_argument("--workers", type=int, default=1,
                        help="runs of --pacgan and --search trained at once, one thread each "
                        "(CPU minutes per run are unchanged; on 2 cores use at most 2)")
    parser.add_argument("--until-fail", action="store_true",
                        help="stop a loss's seeds at the first that misses the every-loss goal")
    parser.add_argument("--cached-only", action="store_true",
                        help="train nothing: the doc from the finished runs (their seeds shown)")
    parser.add_argument("--out", default=str(REPO / "docs/results/toy2d_recipes.md"))
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    restore_cache()
    if args.search:
        return search(args)
    if not args.render_only:
        every: dict[str, dict[str, list[dict]]] = {}
        pacgan: dict[str, dict[str, list[dict]]] = {}
        for d in args.datasets:
            for loss in args.losses:
                config, overrides = recipe(d, loss)
                n = args.seeds if (d, loss) in OWN else (args.seeds_shared or args.seeds)
                rows = seed_rows(d, [(config, overrides, s) for s in range(n)],
                                 args.cached_only, args.until_fail)
                if rows:
                    every.setdefault(d, {})[loss] = rows
        for spec in args.pacgan:
            d, label, config = spec.split(":")
            base, overrides = check_same(config) if config in AS_OVERRIDES else (config, [])
            seeds = range(args.pacgan_first_seed, args.pacgan_first_seed + args.pacgan_seeds)
            rows = _rows([(base, overrides, s) for s in seeds],
                         args.cached_only, args.drs_refit, args.workers)
            pacgan.setdefault(d, {})[label] = rows
        # read the saved rows only now, so two benchmark processes do not drop each other's rows
        saved = json.loads(SAVED.read_text()) if SAVED.exists() else {"every_loss": {},
                                                                       "pacgan": {}}
        for key, new in (("every_loss", every), ("pacgan", pacgan)):
            for d, groups in new.items():
                saved[key].setdefault(d, {}).update(groups)
        command = ("python benchmarks/toy2d_recipes.py " + " ".join(sys.argv[1:])).strip()
        saved.update(search=saved_search(), date=now(),  # the doc's rows come from all of these
                     command=list(dict.fromkeys([*saved.get("command", []), command])),
                     machine=machines(saved.get("machine"),
                                      f"{machine(1, ' per run')}; load average at the end "
                                      + load_average("other jobs shared the cores")))
        SAVED.write_text(json.dumps(saved, indent=1))
    saved = json.loads(SAVED.read_text())
    plot_grid_search(saved)
    write_doc(args.out, render(saved))
    if TOY2D_DOC.exists() and Path(args.out) == SAVED.with_suffix(".md"):
        write_doc(TOY2D_DOC, with_recipes_section(TOY2D_DOC.read_text(), saved))


if __name__ == "__main__":
    main()
