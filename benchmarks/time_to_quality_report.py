"""The level logic, doc and plot of benchmarks/time_to_quality.py, from its saved JSON.

A level is reached at the first evaluation whose value is at or past it (>= for Parzen, <= for
the Fréchet distance); the CPU minutes are interpolated linearly between that evaluation and the
one before it. When the first evaluation already meets the level, its time is an upper bound
("≤"). A level not met by the last evaluation is "not reached within" the run's budget.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

from common import header, table

# (metric key, label, higher is better, [(level, asked by issue 15)])
LEVELS: dict[str, tuple[str, bool, list[tuple[float, bool]]]] = {
    "parzen": ("Parzen (nats)", True, [(0.0, False), (50.0, False), (150.0, True), (200.0, True)]),
    "fid": ("classifier FD", False, [(400.0, False), (300.0, False), (20.0, True), (10.0, True)]),
}
MODELS: dict[str, tuple[str, str, tuple[str, ...]]] = {  # key: (config, label, metrics)
    "mlp": ("mnist-paper-fast", "paper MLP (Adam + EMA)", ("parzen", "fid")),
    "dcgan": ("mnist-dcgan", "DCGAN", ("fid",)),
}
LOOPS = {"gankit": "gankit", "gankit-fast": "gankit + speed options", "reference": "reference loop"}
# gankit's loop with the speed options that change results by float32 rounding only
# (docs/results/speed.md): the same algorithm with faster kernels. Run on request (--loops).
SPEED_OPTIONS: dict[str, list[str]] = {
    "mlp": ["train.fused_optim=true"],
    "dcgan": ["train.channels_last=true", "train.fused_optim=true", "train.gemm_image_convs=true"],
}
OPTIONAL_LOOPS = ("gankit-fast",)  # never reported as missing
TOGETHER_S = 15 * 60  # runs of one side-by-side invocation end within this of each other


def meets(value: float | None, level: float, higher_is_better: bool) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return value >= level if higher_is_better else value <= level


def crossing(points: list[tuple[float, float | None]], level: float,
             higher_is_better: bool) -> dict[str, Any]:
    """When `points` ((CPU minutes, value), in time order) first reach `level`:
    {"reached", "minutes" (None if not), "upper_bound" (True: no earlier point to interpolate
    from), "within" (the minutes of the last point: how long it was given)}."""
    within = points[-1][0] if points else 0.0
    previous: tuple[float, float | None] | None = None
    for t, v in points:
        if meets(v, level, higher_is_better):
            if previous is None or previous[1] is None or not math.isfinite(previous[1]):
                return {"reached": True, "minutes": t, "upper_bound": True, "within": within}
            t0, v0 = previous
            minutes = t0 + (level - v0) / (v - v0) * (t - t0)
            return {"reached": True, "minutes": minutes, "upper_bound": False, "within": within}
        previous = (t, v)
    return {"reached": False, "minutes": None, "upper_bound": False, "within": within}


def curve_points(run: dict[str, Any], metric: str) -> list[tuple[float, float | None]]:
    return [(p["cpu_min"], p.get(metric)) for p in run["curve"]]


def minutes_text(c: dict[str, Any] | None) -> str:
    if c is None:
        return "not run"
    if not c["reached"]:
        return f"not reached within {c['within']:.1f}"
    return f"{'≤ ' if c['upper_bound'] else ''}{c['minutes']:.2f}"


def ratio_text(g: dict[str, Any] | None, r: dict[str, Any] | None) -> str:
    """Reference minutes over gankit's (> 1: gankit got there sooner)."""
    if g is None or r is None:
        return "-"
    if g["reached"] and r["reached"]:
        if g["upper_bound"] or r["upper_bound"]:
            return "- (one side met it at its first evaluation: a bound, no ratio)"
        return f"{r['minutes'] / g['minutes']:.2f}x"
    if g["reached"] and not g["upper_bound"]:
        return f"> {r['within'] / g['minutes']:.2f}x (reference not there)"
    if r["reached"] and not r["upper_bound"]:
        return f"< {r['minutes'] / g['within']:.2f}x (gankit not there)"
    return "-"


def migrate(results: dict[str, Any]) -> dict[str, Any]:
    """Runs as {model: {loop: {seed: run}}}; a JSON written before seeds were kept apart holds
    one run per loop (of results["seed"]) and is read as that seed's."""
    for runs in results["runs"].values():
        for loop, run in runs.items():
            if "curve" in run:
                runs[loop] = {str(results.get("seed", 0)): run}
    results.pop("seed", None)
    return results


def seeds_of(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The seeds any loop of one model was run with, in numeric order."""
    return sorted({seed for by_seed in runs.values() for seed in by_seed}, key=int)


def level_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (model, metric, level, seed) of every model run; a loop not run with that
    seed gives None."""
    rows = []
    for model, (config, label, metrics) in MODELS.items():
        runs = results["runs"].get(model, {})
        if not runs:
            continue
        for metric in metrics:
            name, higher, levels = LEVELS[metric]
            for level, asked in levels:
                for seed in seeds_of(runs):
                    found = {loop: crossing(curve_points(runs[loop][seed], metric), level, higher)
                             if seed in runs.get(loop, {}) else None for loop in LOOPS}
                    rows.append({"model": model, "label": label, "config": config,
                                 "metric": metric, "metric_label": name, "level": level,
                                 "asked": asked, "seed": seed, **found,
                                 "ratio": ratio_text(found["gankit"], found["reference"]),
                                 "ratio_fast": ratio_text(found["gankit-fast"],
                                                          found["reference"])})
    return rows


def ratio(g: dict[str, Any] | None, r: dict[str, Any] | None) -> float | None:
    """Reference minutes over gankit's where both reached the level past their first evaluation."""
    if g is None or r is None or not (g["reached"] and r["reached"]):
        return None
    if g["upper_bound"] or r["upper_bound"]:
        return None
    return r["minutes"] / g["minutes"]


def across_seeds(rows: list[dict[str, Any]], loop: str = "gankit") -> list[list[str]]:
    """Per (model, metric, level) with more than one seed run by both `loop` and the reference:
    each seed's ratio and, when every seed gave one, their geometric mean (a ratio's natural
    average: 2x and 0.5x average to 1x). Seeds that one of the two loops was not run with are
    left out."""
    key = "ratio" if loop == "gankit" else "ratio_fast"
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for row in rows:
        if row[loop] is not None and row["reference"] is not None:
            label = row["label"] + ("" if loop == "gankit" else f", {LOOPS[loop]}")
            groups.setdefault((label, row["metric_label"], row["level"]), []).append(row)
    out = []
    for (label, metric, level), group in groups.items():
        if len(group) < 2:
            continue
        ratios = [ratio(row[loop], row["reference"]) for row in group]
        per_seed = "; ".join(f"seed {row['seed']}: {row[key]}" for row in group)
        if all(x is not None for x in ratios):
            mean = f"{math.exp(sum(math.log(x) for x in ratios) / len(ratios)):.2f}x"
        else:
            mean = "- (not every seed gives a ratio)"
        asked = "" if group[0]["asked"] else " (extra)"
        out.append([label, metric, f"{level:g}{asked}", per_seed, mean])
    return out


def _each(runs: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(loop, seed, run) of one model, seed by seed, gankit's loop first."""
    return [(loop, seed, runs[loop][seed]) for seed in seeds_of(runs) for loop in LOOPS
            if seed in runs.get(loop, {})]


def _missing(runs: dict[str, dict[str, Any]]) -> list[str]:
    """'loop' (or 'loop, seed N' when a model has several seeds) for each run not made."""
    seeds = seeds_of(runs) or ["0"]
    return [LOOPS[loop] + (f", seed {seed}" if len(seeds) > 1 else "")
            for seed in seeds for loop in LOOPS
            if loop not in OPTIONAL_LOOPS and seed not in runs.get(loop, {})]


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def plot(results: dict[str, Any], path: Path) -> None:
    """Quality against training CPU minutes, gankit and the reference on the same axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, metric) for m, (_, _, ms) in MODELS.items() for metric in ms
              if m in results["runs"]]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (model, metric) in zip(axes[0], panels, strict=True):
        name, higher, levels = LEVELS[metric]
        runs = results["runs"][model]
        seeds = seeds_of(runs)
        for loop, style, colour in (("gankit", "o-", "C0"), ("gankit-fast", "^-", "C2"),
                                    ("reference", "s--", "C1")):
            for i, seed in enumerate(seeds):
                run = runs.get(loop, {}).get(seed)
                if not run:
                    continue
                pts = [(t, v) for t, v in curve_points(run, metric)
                       if v is not None and math.isfinite(v)]
                name_seed = LOOPS[loop] + (f", seed {seed}" if len(seeds) > 1 else "")
                ax.plot([t for t, _ in pts], [v for _, v in pts], style, color=colour,
                        alpha=1.0 - 0.45 * i / max(1, len(seeds) - 1), label=name_seed,
                        markersize=4)
        for level, _ in levels:
            ax.axhline(level, color="grey", lw=0.7, ls=":")
        if metric == "fid":
            ax.set_yscale("log")
        ax.set_xlabel("training CPU minutes (1 thread)")
        ax.set_ylabel(name + (" (higher is better)" if higher else " (lower is better)"))
        ax.set_title(f"{MODELS[model][1]}: {name}", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def has_fast(results: dict[str, Any]) -> bool:
    """Whether any model was run with gankit's loop and the speed options."""
    return any(runs.get("gankit-fast") for runs in results["runs"].values())


def together(runs: dict[str, Any]) -> bool:
    """Whether these runs were trained side by side: each in a --workers > 1 invocation, and
    all ending within TOGETHER_S of each other (runs of one invocation, same budget)."""
    if len(runs) < 2 or not all(run.get("side_by_side", 1) > 1 for run in runs.values()):
        return False
    try:
        ends = [datetime.datetime.fromisoformat(run["date"]) for run in runs.values()]
    except (KeyError, ValueError):
        return False
    return (max(ends) - min(ends)).total_seconds() <= TOGETHER_S


def how_run(label: str, runs: dict[str, Any]) -> str:
    """How a model's runs shared the machine, and when and where they were made."""
    made = sorted({(run.get("date", "")[:10], run.get("machine", "").split(",", 1)[0])
                   for run in runs.values()})
    when = "; ".join(f"{d or 'date not recorded'} on {m or 'a machine not recorded'}"
                     for d, m in made)
    if together(runs):
        return (f"{label}: the loops ran side by side, one process of one thread each, under "
                f"the same load ({when}).")
    return (f"{label}: the runs were made one after the other, not side by side, so their "
            f"loads may have differed ({when}).")


def render_doc(results: dict[str, Any], png_name: str, rendered_by: str | None = None) -> str:
    budget, every = results["budget_cpu_min"], results["eval_every_cpu_min"]
    lines = header(
        "Time to quality: CPU minutes to fixed quality levels, gankit against the reference loop",
        results["commands"], results["date"], results["machine"],
        [f"Load average at the end: {results['load_average']}",
         "Budget: " + "; ".join(
             f"{MODELS[m][1]} {b:g} CPU minutes of training per run, evaluated every "
             f"{every[m]:g}" for m, b in budget.items())
         + f"; {results['n_eval']:,} samples per evaluation, training seeds "
         + "; ".join(f"{MODELS[m][1]} {', '.join(seeds_of(runs))}"
                     for m, runs in results["runs"].items())],
        rendered_by=rendered_by, style="bullets")
    lines += ["", "Generated by `benchmarks/time_to_quality.py`; do not edit by hand.", ""]
    if results.get("quick"):
        lines += ["**A --quick smoke run: tiny budget and sample counts; no number here "
                  "measures anything.**", ""]
    lines += [
        "The clock is the training process's own CPU time (`time.process_time`, one torch "
        "thread), with every evaluation's CPU time taken out. The 2 cores of this machine were "
        "shared with other jobs, so wall time would measure the load as much as the loop; CPU "
        "time is what the run itself consumed. Set-up (loading data, building nets) is not "
        "counted; everything the training loop does per step is (for gankit: its logging, "
        "sample grids and per-epoch checkpoints, as `gankit train` runs them).", "",
        "Issue 15 asked for the minutes to Parzen 150 and 200 and to classifier FD 20 and 10; "
        "Parzen 0 and 50 and FD 400 and 300 are extra, far easier levels (marked *extra*), "
        "chosen so that the two loops can be compared within the small budget this machine "
        "allowed; they say how fast the first, coarse learning goes, not how fast good samples "
        "come. A level is reached at the first evaluation "
        "at or past it; its time is interpolated linearly from the evaluation before (≤: met "
        "at the first evaluation already, an upper bound). The same protocol is used at every "
        "evaluation, so every crossing is judged the same way. *reference / gankit* > 1 means "
        "gankit got there in less CPU time.", ""]
    fast = has_fast(results)
    if fast:
        lines += [
            "*gankit + speed options* is gankit's loop with the speed options that change "
            "results by float32 rounding only (docs/results/speed.md): "
            + "; ".join(f"{MODELS[m][1]}: " + ", ".join(f"`{o.split('=')[0]}`"
                                                        for o in SPEED_OPTIONS[m])
                        for m in results["runs"] if results["runs"][m].get("gankit-fast"))
            + ". The same algorithm with faster kernels; rounding alone makes its trajectory "
            "another one, so its curve is not gankit's curve sped up.", ""]
    lines += [
        "## Minutes to each level", ""]
    rows = level_rows(results)
    lines += table(
        ["model", "metric", "level", "seed", "gankit CPU min"]
        + (["gankit + speed options CPU min"] if fast else [])
        + ["reference CPU min", "reference / gankit"]
        + (["reference / (gankit + speed options)"] if fast else []),
        [[r["label"], r["metric_label"], f"{r['level']:g}" + ("" if r["asked"] else " (extra)"),
          r["seed"], minutes_text(r["gankit"])]
         + ([minutes_text(r["gankit-fast"])] if fast else [])
         + [minutes_text(r["reference"]), r["ratio"]]
         + ([r["ratio_fast"]] if fast else [])
         for r in rows])
    several = across_seeds(rows) + (across_seeds(rows, "gankit-fast") if fast else [])
    if several:
        lines += ["", "### Across seeds", "",
                  "Each seed's ratio, and their geometric mean where every seed gives one:", ""]
        lines += table(["model", "metric", "level", "reference / gankit by seed",
                        "geometric mean"], several)
    absent = [f"{label} ({', '.join(missing)})" for m, (_, label, _) in MODELS.items()
              if (missing := _missing(results["runs"].get(m, {})))]
    if absent:
        lines += ["", "Not run (no time for it on this machine in this session): "
                  + "; ".join(absent) + "."]
    asked = [r for r in rows if r["asked"]]
    missed = [f"{r['label']} {r['metric_label']} {r['level']:g} ({LOOPS[loop]}, seed {r['seed']})"
              for r in asked for loop in LOOPS if r[loop] is not None and not r[loop]["reached"]]
    lines += ["", "Levels of issue 15 not reached within this budget: "
              + ("; ".join(missed) if missed else "none") + "."]
    if missed or absent:
        lines += ["The issue's goal (minutes to every level, for both loops) is therefore "
                  "**not met** at this budget: "
                  + ("not every run was made; " if absent else "")
                  + "the runs were not trained to their full length (see "
                  "docs/results/table1.md and dcgan.md for the long runs)."]
    lines += ["", f"![quality against training CPU minutes]({png_name})", "", "## Runs", ""]
    lines += table(
        ["model", "loop", "seed", "config", "training CPU min", "wall min (training + evaluation)",
         "G steps", "epochs", "images / CPU s", "evaluation CPU min"],
        [[MODELS[m][1], LOOPS[loop], seed, f"`configs/{run['config']}.yaml`",
          _fmt(run["train_cpu_min"], 2), _fmt(run["wall_min"]), f"{run['g_steps']:,}",
          _fmt(run["epochs"], 2), _fmt(run["images_per_cpu_s"], 0), _fmt(run["eval_cpu_min"], 2)]
         for m, runs in results["runs"].items() for loop, seed, run in _each(runs)])
    for model, runs in results["runs"].items():
        metrics = MODELS[model][2]
        for loop, seed, run in _each(runs):
            lines += ["", f"### {MODELS[model][1]}, {LOOPS[loop]}, seed {seed}", ""]
            cols = ["CPU min", "G steps"] + [LEVELS[m][0] for m in metrics]
            if "parzen" in metrics:
                cols.append("Parzen sigma")
            lines += table(cols, [
                [_fmt(p["cpu_min"], 2), f"{p['g_steps']:,}"]
                + [(_fmt(p.get(m)) + (f" ± {p['parzen_stderr']:.1f}" if m == "parzen" else ""))
                   for m in metrics]
                + ([f"{p['parzen_sigma']:.3f}"] if "parzen" in metrics else [])
                for p in run["curve"]])
    lines += ["", "## What differs between the two loops", "", *results["differences"], "",
              "## How far to trust this", "",
              "- Training seeds: "
              + "; ".join(f"{MODELS[m][1]} {len(seeds_of(runs))}"
                          for m, runs in results["runs"].items())
              + ". The time to a level moves with the seed (compare the seeds' rows where there "
              "are several) and, near a level, with the evaluation noise (the Parzen standard "
              "errors are in the tables; FD has none here: one sample set of noise seed 0 per "
              "evaluation).",
              "- Linear interpolation between evaluations "
              f"{' / '.join(f'{e:g}' for e in every.values())} CPU minutes apart: the true "
              "crossing lies "
              "between the two evaluations, not necessarily where the line puts it.",
              "- CPU time on a shared machine still varies with cache and memory-bandwidth "
              "contention from the other jobs (the load average at the end is in the header). "
              + " ".join(how_run(f"{MODELS[m][1]}, seed {seed}",
                                 {loop: by_seed[seed] for loop, by_seed in runs.items()
                                  if seed in by_seed})
                         for m, runs in results["runs"].items() for seed in seeds_of(runs)),
              "- Parzen estimates in 784 dimensions are a poor likelihood measure (Theis et al. "
              "2016; docs/results/table1.md says more); FD here is in gankit's MNIST "
              "classifier's features, comparable across gankit runs only.", ""]
    return "\n".join(lines)
