"""Recipes for Table 1 at the paper's level (issue 18, item 1): MNIST Parzen >= 225 with the
paper's networks in <= 30 minutes of training on 2 cores, at 3 seeds. Writes
docs/results/table1_recipes.md; every probe is saved in docs/results/table1_recipes.json.

    python benchmarks/table1_recipes.py --search LABEL CONFIG SEEDS [KEY=VALUE ...]  # one probe
    python benchmarks/table1_recipes.py --render-only

A probe trains CONFIG (plus overrides) at each seed on one thread until the process has spent
--cpu-minutes of CPU time on training (60 = 30 minutes on 2 cores; scoring excluded), scoring
the sampling network (G's EMA copy where there is one) every --every epochs with gankit eval's
Parzen protocol (10,000 samples; sigma chosen on valid[:1000]; the 10,000 test images scored).
At the end of the budget it also picks the noise scale psi (the truncation trick, z -> psi z;
the issue leaves the noise free) the way the protocol picks sigma: by the mean log-likelihood
of held-out validation images, valid[1000:3000], which neither sigma's choice nor the test set
uses. The goal is checked on the test Parzen at that psi at the end of the budget, never on
the best epoch along the way.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

import dcgan_recipes
import dcgan_recipes_report
from common import header, machine, now, table, write_doc
from gankit.data import load_mnist
from gankit.metrics.parzen import parzen_log_likelihood, select_sigma
from gankit.train.evaluation import EVAL_SEED, evaluate_generator
from gankit.train.loop import Trainer
from gankit.train.objective import eval_mode
from gankit.train.run import generate, load_run
from toy2d_report import mean_se

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "table1-recipes"
SAVED = REPO / "docs/results/table1_recipes.json"
DOC = REPO / "docs/results/table1_recipes.md"
PLOT = REPO / "docs/results/table1_recipes.png"
GOAL_PARZEN = 225.0  # the paper's Table 1 (225 +- 2 nats)
GOAL_SEEDS = 3
GOAL_CPU_MINUTES = 60.0  # "30 minutes of training on 2 cores"
MARGIN_SE = dcgan_recipes_report.MARGIN_SE
PSI_GRID = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
SIGMA_POINTS = 1000  # valid[:1000] picks sigma (the authors' parzen_ll.py), as gankit eval
PSI_POINTS = slice(1000, 3000)  # held-out validation images that pick psi
DIVERSITY_METRICS = ("fid", "pr", "modes")  # gankit eval's names
DIVERSITY_KEYS = ("fid", "precision", "recall", "classes_covered")
# Each recipe config is its base config plus these changes (its comment says what they are; a
# test checks the two agree, name and epochs aside, since probes train to a CPU budget).
AS_OVERRIDES = {
    "configs/mnist-paper-ema.yaml": ("configs/mnist-paper-fast.yaml", ["train.ema=0.9999"]),
}


def validation_log_likelihood(samples: torch.Tensor, valid: torch.Tensor) -> float:
    """Mean log-likelihood of valid[PSI_POINTS] under the Parzen window on `samples`, its sigma
    chosen on valid[:SIGMA_POINTS] as the protocol does."""
    flat = samples.reshape(len(samples), -1)
    v = valid.reshape(len(valid), -1)
    sigma, _ = select_sigma(flat, v[:SIGMA_POINTS])
    return float(parzen_log_likelihood(flat, v[PSI_POINTS], sigma).mean())


def pick_psi(G: torch.nn.Module, valid: torch.Tensor, n: int = 10_000,
             grid: tuple[float, ...] = PSI_GRID) -> tuple[float, dict[str, float]]:
    """The psi of `grid` whose samples (the evaluation noise, as gankit eval draws it) give held-
    out validation images the highest Parzen log-likelihood, and every psi's value."""
    values = {}
    for psi in grid:
        with eval_mode(G):
            samples = generate(G, n, None, torch.Generator().manual_seed(EVAL_SEED),
                               truncation=psi)
        values[f"{psi:g}"] = round(validation_log_likelihood(samples, valid), 4)
    best = max(grid, key=lambda p: values[f"{p:g}"])
    return best, values


def finish(trainer: Trainer) -> dict[str, Any]:
    """Pick psi on validation data and score the test set there (probe_one's last step)."""
    sampler, cfg = trainer.objective.sampler, trainer.cfg
    valid, _ = load_mnist("valid", data_dir=cfg.data.dir)
    psi, values = pick_psi(sampler, valid)
    m = evaluate_generator(sampler, cfg, trainer.data, truncation=psi)["metrics"]
    return {"psi": psi, "psi_valid_ll": values,
            "final_psi": {"parzen": round(float(m["parzen"]), 5),
                          "parzen_stderr": round(float(m["parzen_stderr"]), 5)}}


def diversity(record: dict[str, Any], runs: Path = RUNS) -> dict[str, dict[str, float]]:
    """What the chosen psi costs: gankit eval's classifier FD, precision, recall and classes
    covered of the run's 10,000 samples at psi 1 and at its psi (Parzen rewards samples near
    typical digits, so a psi that raises it can lower the others)."""
    run = load_run(dcgan_recipes.run_folder(record["label"], record["seed"], runs))
    run.config.train.eval_metrics = list(DIVERSITY_METRICS)
    out = {}
    for psi in sorted({1.0, record["psi"]}, reverse=True):
        m = evaluate_generator(run.generator, run.config, None, run.n_classes, psi)["metrics"]
        out[f"{psi:g}"] = {k: round(float(m[k]), 4) for k in DIVERSITY_KEYS}
    return out


def diversity_table(saved: dict[str, Any]) -> list[str]:
    rows = []
    for p in sorted(saved["probes"], key=lambda p: (p["label"], p["seed"])):
        if "diversity" in p:
            at_1, at_psi = p["diversity"]["1"], p["diversity"][f"{p['psi']:g}"]
            rows.append([p["label"], p["seed"], f"{p['psi']:g}",
                         *(f"{at_1[k]:.3g} → {at_psi[k]:.3g}" for k in DIVERSITY_KEYS)])
    if not rows:
        return []
    return ["## What the chosen psi costs", "",
            "Parzen rewards samples near typical digits: at its psi a recipe can score above the "
            "real training images' own 241.2 ± 2.1 (`shared/notes/baselines.md`; Theis et al. "
            "2016 show how Parzen estimates mislead). gankit eval's classifier metrics (10,000 "
            "samples, the same noise) at psi 1 → the chosen psi:", "",
            *table(["probe", "seed", "psi", "classifier FD", "precision", "recall",
                    "classes covered"], rows), ""]


def cell(records: list[dict[str, Any]], value: Any) -> str:
    mean, se = mean_se([value(r) for r in records])
    return f"{mean:.1f}" + (f" ± {se:.1f}" if len(records) > 1 else "")


def goal_check(records: list[dict[str, Any]]) -> str:
    """Issue 18's check: the mean test Parzen at the chosen psi clears 225 by 2 s.e. over >= 3
    seeds, each within the CPU budget."""
    if len(records) < GOAL_SEEDS:
        return f"not checked: {len(records)} of the goal's {GOAL_SEEDS} seeds"
    if max(r["final"]["cpu_minutes"] for r in records) > GOAL_CPU_MINUTES * 1.02:
        return f"not met: more than {GOAL_CPU_MINUTES:g} CPU minutes"
    mean, se = mean_se([r["final_psi"]["parzen"] for r in records])
    if mean - GOAL_PARZEN > MARGIN_SE * se:
        return "met"
    return f"not met: {mean:.1f} ± {se:.1f} against {GOAL_PARZEN:g}"


def recipe_table(saved: dict[str, Any]) -> list[str]:
    """Every probe's mean Parzen at the end of its budget and its goal check (also shown in
    docs/results/table1.md)."""
    rows = [[*dcgan_recipes_report.probe_cells(label, rs),
             cell(rs, lambda r: r["final"]["parzen"]),
             ", ".join(f"{r['psi']:g}" for r in rs),
             cell(rs, lambda r: r["final_psi"]["parzen"]), goal_check(rs)]
            for label, rs in dcgan_recipes_report.groups(saved["probes"]).items()]
    return table(["probe", "config", "overrides", "seeds", "CPU min", "epochs",
                  "Parzen (psi 1)", "psi (per seed)", "Parzen at psi", "goal check"], rows)


def render(saved: dict[str, Any]) -> str:
    by_label = dcgan_recipes_report.groups(saved["probes"])
    last = max(saved["probes"], key=lambda p: p["date"]) if saved["probes"] else None
    lines = header(
        "Table 1 recipes: Parzen at the paper's level (issue 18)",
        "python benchmarks/table1_recipes.py --render-only", last["date"] if last else now(),
        last["machine"] if last else machine(1, " per training"),
        ["Probes: made by `python benchmarks/table1_recipes.py --search ...`, each with its "
         "command in the last table; the cost of psi by `python benchmarks/table1_recipes.py "
         "--diversity` (on the probes' run folders)"], style="breaks")
    lines += ["", f"Goal (issue 18): MNIST Parzen ≥ {GOAL_PARZEN:g} nats (the paper's 225 ± 2) "
              "with the paper's networks, within 30 minutes of training on 2 cores "
              f"({GOAL_CPU_MINUTES:g} CPU minutes, each seed on one thread), at {GOAL_SEEDS} "
              f"seeds; met when the mean over seeds clears {GOAL_PARZEN:g} by {MARGIN_SE:g} "
              "standard errors. Scores are those at the end of each run's budget, not the best "
              "along the way. Parzen is gankit eval's protocol (10,000 samples of the sampling "
              "network, G's EMA copy where the recipe has one; sigma from valid[:1000]; the "
              "10,000 test images). psi scales the noise (z -> psi z, the truncation trick); it "
              "is picked from " + ", ".join(f"{p:g}" for p in PSI_GRID) + " by the mean "
              f"log-likelihood of the held-out validation images valid[{PSI_POINTS.start}:"
              f"{PSI_POINTS.stop}], never by the test set.", ""]
    lines += ["## Recipes and probes", "", *recipe_table(saved), ""]
    lines += ["## Along the way (first seed of each probe)", "",
              f"![Parzen against training CPU minutes]({PLOT.name})", "",
              "Test Parzen (psi 1) every few epochs while training (training CPU minutes; "
              "scoring excluded), then the validation log-likelihood at each psi at the end:", ""]
    for label, rs in by_label.items():
        points = ", ".join(f"{t['cpu_minutes']:.0f} min: {t['parzen']:.0f}"
                           for t in rs[0]["trajectory"])
        psis = ", ".join(f"{k}: {v:.1f}" for k, v in rs[0]["psi_valid_ll"].items())
        lines.append(f"- {label}: {points}; validation by psi: {psis}")
    lines += ["", *diversity_table(saved), *NOTES]
    lines += ["", "## Commands", "",
              *table(["probe", "seed", "command", "date"],
                     [[p["label"], p["seed"], f"`{probe_command(p)}`", p["date"]]
                      for rs in by_label.values() for p in rs]), ""]
    return "\n".join(lines)


NOTES = [
    "## What was tried before these records",
    "",
    "Seed-0 probes of mnist-paper-fast with an EMA decay of 0.999 and 0.9999, with the learning",
    "rates decayed tenfold over the budget, and a 10-epoch run scored at several psi are listed",
    "with their numbers in the comment of `configs/mnist-paper-ema.yaml`. Their runs were lost to",
    "a machine restart before their records were written, so they are not in the tables above.",
    "The slower average (0.9999) was the one change that kept Parzen rising through the budget;",
    "decaying the learning rates lowered it; psi below 1 raised it on the 10-epoch run.",
    "",
    "The goal is met by the issue's rule (the noise is free, psi is picked without the test",
    "set), but through what Parzen rewards rather than through better samples: at psi 1, the",
    "recipe's own noise, it stays below 225 (the table's Parzen (psi 1) column), and the psi",
    "that lifts it above the real images' score costs recall and classifier FD (the table",
    "above). The paper's 225 is matched in Parzen, not surpassed in sample quality.",
]


def probe_command(record: dict[str, Any]) -> str:
    return dcgan_recipes_report.probe_command(record).replace("dcgan_recipes.py", "table1_recipes.py", 1)


def plot(saved: dict[str, Any], path: Path = PLOT) -> None:
    """Test Parzen (psi 1) against training CPU minutes, first seed of each probe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, rs in dcgan_recipes_report.groups(saved["probes"]).items():
        t = rs[0]["trajectory"]
        ax.plot([p["cpu_minutes"] for p in t], [p["parzen"] for p in t], marker=".", label=label)
    ax.axhline(GOAL_PARZEN, color="k", ls="--", lw=0.8)
    ax.set(xlabel="training CPU minutes", ylabel="Parzen (nats)", ylim=(0, 260),
           title=f"Parzen, psi 1 (goal {GOAL_PARZEN:g}, dashed)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def load_saved() -> dict[str, Any]:
    return json.loads(SAVED.read_text()) if SAVED.exists() else {"probes": []}


def save(saved: dict[str, Any]) -> None:
    SAVED.write_text(json.dumps(saved, indent=1) + "\n")
    plot(saved)
    write_doc(DOC, render(saved))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", nargs="+", metavar="ARG",
                        help="LABEL CONFIG SEEDS [KEY=VALUE ...]: one probe, its seeds in turn")
    parser.add_argument("--cpu-minutes", type=float, default=GOAL_CPU_MINUTES)
    parser.add_argument("--every", type=int, default=5, help="epochs between scores")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--diversity", action="store_true",
                        help="score each saved probe whose run folder is here at psi 1 and its "
                        "psi with the classifier metrics (FD, precision, recall, classes)")
    args = parser.parse_args()
    if args.diversity:
        for record in load_saved()["probes"]:
            if "diversity" not in record and dcgan_recipes.run_folder(
                    record["label"], record["seed"], RUNS).exists():
                scored = {**record, "diversity": diversity(record)}
                dcgan_recipes.saved_in_turn(dcgan_recipes.adding(scored), load_saved, save)
        return
    if args.render_only or not args.search:
        dcgan_recipes.saved_in_turn(None, load_saved, save)
        return
    if len(args.search) < 3:
        raise SystemExit("--search needs LABEL CONFIG SEEDS [KEY=VALUE ...], "
                         "e.g. --search base configs/mnist-paper-fast.yaml 0,1,2")
    label, config, seeds, *overrides = args.search
    for seed in (int(s) for s in seeds.split(",")):
        record = dcgan_recipes.probe_one(label, config, overrides, seed, args.cpu_minutes,
                                         args.every, ("parzen",), ("parzen", "parzen_stderr"),
                                         RUNS, finish)
        dcgan_recipes.saved_in_turn(dcgan_recipes.adding(record), load_saved, save)


if __name__ == "__main__":
    main()
