"""docs/results/toy2d.md from the saved results of benchmarks/toy2d.py (its toy2d.json), and
the protocol's fixed parts both need: the datasets and the published rows.

Rendering reads nothing but the saved results, so `toy2d.py --render-only` rewrites the doc on
any machine, without the runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common import Row, goal_check, header, table
from gankit.config import LOSS_NAMES


@dataclass(frozen=True)
class Dataset:
    name: str
    config: str  # recipe config, relative to the repository
    pack: int  # PacGAN's packing degree for this dataset (Lin et al. 2018, Table 1)
    k_modes: int


DATASETS = {
    "ring": Dataset("ring", "configs/ring8-demo.yaml", 2, 8),
    "grid": Dataset("grid", "configs/grid25-pacgan.yaml", 4, 25),
}
# PacGAN Table 1 (Lin et al. 2018), 10 trials, mean +- standard error (where given);
# VEEGAN's grid row is from Srivastava et al. 2017, Table 1.
PUBLISHED = {
    "ring": [
        ("GAN (PacGAN Table 1)", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
        ("PacGAN2 (PacGAN Table 1)", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03"),
    ],
    "grid": [
        ("GAN (PacGAN Table 1)", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
        ("PacGAN4 (PacGAN Table 1)", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01"),
        ("VEEGAN (VEEGAN Table 1)", "24.6", "40", "–"),
    ],
}
# The goal: the best final row beats the strongest published row on each metric (modes, HQ,
# reverse KL), each row of the table with its standard error, by common.goal_check's two
# standard errors of the difference. The published reverse KL is PacGAN's, which bins only the
# high-quality samples (its released metric code): compared with `reverse_kl_hq` where the runs
# saved it, else with the all-samples `reverse_kl`, and the check says which.
GOAL_METRICS = (("modes", True, 1), ("high_quality", True, 1), ("reverse_kl", False, 3))


def published_rows(dataset: str, metric: str) -> list[Row]:
    """The published rows with a value (and s.e., 0 where none was given) for `metric`."""
    column = {"modes": 1, "high_quality": 2, "reverse_kl": 3}[metric]
    rows = []
    for row in PUBLISHED[dataset]:
        cell = row[column]
        if cell == "–":
            continue
        value, _, se = cell.partition(" ± ")
        rows.append(Row(row[0], float(value), float(se or 0.0)))
    return rows


def g_steps(loss: str, epochs: float, batches_per_epoch: int = 1000) -> int:
    """Generator steps of a run of `epochs` with `loss`'s k and warm-up (train/plan.py's rule)."""
    from gankit.config import TrainConfig
    from gankit.losses import LOSS_DEFAULTS, make_loss
    from gankit.train.plan import planned_steps

    k = LOSS_DEFAULTS[loss].get("train", {}).get("k", 1)
    train = TrainConfig(epochs=0, max_steps=0)
    train.epochs = 1  # planned_steps reads epochs * batches_per_epoch D steps as the end
    d_end = round(epochs * batches_per_epoch)
    rule = make_loss(loss)
    plan = planned_steps(train, 0, 0, d_end, lambda g: rule.critic_steps(k, g))
    return plan[0] if plan else 0


# --- summaries ---------------------------------------------------------------------------------


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (std with n - 1, over sqrt(n)); se is 0 for one value."""
    a = np.asarray(values, dtype=float)
    if len(a) < 2:
        return float(a.mean()), 0.0
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def summarise(rows: list[dict]) -> dict:
    out = {"n": len(rows)}
    for key in ("modes", "high_quality", "reverse_kl", "reverse_kl_hq"):
        if all(key in r for r in rows):
            out[key] = mean_se([r[key] for r in rows])
    out["all_modes"] = sum(r["modes"] == DATASETS[rows[0]["dataset"]].k_modes for r in rows)
    out["diverged"] = sum(r["diverged"] for r in rows)
    out["warnings"] = sum(r["warnings"] for r in rows)
    out["cpu_s"] = sum(r["cpu_s"] for r in rows)
    return out


def cpu_text(summary: dict) -> str:
    """The rows' CPU minutes; results rebuilt from an older doc kept only the total (0 here)."""
    return f"{summary['cpu_s'] / 60:.1f}" if summary["cpu_s"] else "not saved"


def rank_key(summary: dict) -> tuple[float, float, float]:
    """Best first: most modes, then most high-quality samples, then lowest reverse KL."""
    return (-summary["modes"][0], -summary["high_quality"][0], summary["reverse_kl"][0])


def group(rows: list[dict]) -> dict[tuple[str, int], list[dict]]:
    """The rows of each (loss, pack), in the order first seen."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["loss"], r["pack"]), []).append(r)
    return groups


def fmt(pair: tuple[float, float], digits: int) -> str:
    return f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def method_name(loss: str, pack: int) -> str:
    return loss if pack == 1 else f"{loss}, pack {pack}"


# --- the doc -----------------------------------------------------------------------------------


def _epochs_text(epochs: dict[str, float]) -> str:
    return ", ".join(f"{d} {e:g} epochs ({int(e * 1000)} D steps)" for d, e in epochs.items())


def _seeds_text(p: dict[str, Any]) -> str:
    start = p.get("final_seed_start", 0)
    if start >= p["sweep_seeds"]:
        return (f"The final seeds ({start}-{start + p['final_seeds'] - 1}) are not the sweep's "
                f"(0-{p['sweep_seeds'] - 1}): the recipe is confirmed on seeds it was not "
                "chosen on.")
    return (f"**The final seeds (0-{p['final_seeds'] - 1}) include the sweep's "
            f"(0-{p['sweep_seeds'] - 1})**: the confirmation reuses the seeds the recipe was "
            "chosen on, which flatters it (this run predates the fix; benchmarks/toy2d.py now "
            "confirms on fresh seeds).")


def _protocol(p: dict[str, Any]) -> list[str]:
    return [
        "## Protocol",
        "",
        "Data, networks' roles and scoring follow PacGAN (Lin et al. 2018, §5, after VEEGAN): the",
        "ring is 8 Gaussians of std 0.01 on the unit circle, the grid 25 Gaussians of std 0.05 at",
        "(2i-4, 2j-4); 100,000 training points; 2,500 generated samples are scored with",
        "`gankit.metrics.modes2d`: a sample is high quality (HQ) within 3 std of its nearest mode,",
        "a mode is captured when it is the nearest mode of at least one HQ sample, reverse KL is",
        "KL(sample histogram over nearest modes ‖ uniform) over *all* samples (VEEGAN's wording;",
        "PacGAN's released code bins only the HQ samples, `reverse_kl_hq`, which these runs did",
        "not save where no column shows it). Values are mean ± standard error over seeds (s.e. =",
        "std / √n). The generator scored is the EMA copy (`train.ema`).",
        "",
        "gankit's protocol is shorter than PacGAN's, to fit about an hour of one CPU core:",
        "",
        f"1. **Sweep**: each of the {len(LOSS_NAMES)} losses, without and with PacGAN packing (pack 2",
        f"   on the ring, 4 on the grid), {p['sweep_seeds']} seeds; "
        + _epochs_text(p["sweep_epochs"]) + ".",
        "2. **Final**: per dataset the best sweep row (most modes, then most HQ, then lowest KL)",
        f"   at {p['final_seeds']} seeds and the plain GAN (non-saturating loss, no packing) at "
        f"{p['baseline_seeds']} seeds; " + _epochs_text(p["final_epochs"]) + ".",
        "   " + _seeds_text(p),
        "",
        "One epoch = 1,000 discriminator steps (batch 100). Every run uses the recipe config of its",
        "dataset (`configs/ring8-demo.yaml`, `configs/grid25-pacgan.yaml`); only the loss and",
        "the packing change. `--set loss=X` would bring X's paper optimiser; the benchmark puts the",
        "recipe's Adam schedule back, so the rows differ only in the loss function, its k (5 for",
        "wgan and wgan-gp, which thus get a fifth of the generator steps) and WGAN's warm-up of",
        "100 critic steps per generator step for the first 25 (and every 500th) generator steps.",
        "",
    ]


def _dataset(dataset: str, sweep: list[dict], final: dict[str, list[dict]],
             p: dict[str, Any]) -> list[str]:
    k = DATASETS[dataset].k_modes
    final_epochs, sweep_epochs = p["final_epochs"][dataset], p["sweep_epochs"][dataset]
    finals = [[f"**gankit: {label}**", s["n"], fmt(s["modes"], 1), f"{s['all_modes']}/{s['n']}",
               fmt(s["high_quality"], 1), fmt(s["reverse_kl"], 3),
               f"{g_steps(rows[0]['loss'], final_epochs):,}", cpu_text(s)]
              for label, rows, s in ((label, rows, summarise(rows))
                                     for label, rows in final.items())]
    ranked = sorted(group(sweep).items(), key=lambda kv: rank_key(summarise(kv[1])))
    sweeps = [[loss, pack, s["n"], fmt(s["modes"], 1), fmt(s["high_quality"], 1),
               fmt(s["reverse_kl"], 3), f"{g_steps(loss, sweep_epochs):,}", cpu_text(s),
               s["diverged"], s["warnings"]]
              for (loss, pack), s in ((key, summarise(rows)) for key, rows in ranked)]
    d_final = round(final_epochs * 1000)
    return [
        f"## {dataset.capitalize()} ({k} modes)", "", "### Final", "",
        f"gankit's rows: {d_final:,} D steps per run; the G steps each loss's k and warm-up "
        "leave are in the last column. The published rows trained for PacGAN's own budget.",
        "",
        *table(["method", "seeds", f"modes (max {k})", "all modes", "HQ %", "reverse KL",
                "G steps", "CPU min (all seeds)"],
               [*([name, 10, m, "", hq, kl, "-", "-"] for name, m, hq, kl in PUBLISHED[dataset]),
                *finals]),
        "", f"### Sweep ({sweep_epochs:g} epochs = {round(sweep_epochs * 1000):,} D steps, "
        f"{p['sweep_seeds']} seeds)", "",
        *table(["loss", "pack", "seeds", "modes", "HQ %", "reverse KL", "G steps",
                "CPU min (all seeds)", "diverged", "monitor warnings"], sweeps),
        "",
        f"![{dataset} samples](toy2d-{dataset}.png)",
        "",
        f"*2,500 samples (blue) over the {k} true modes (red x): top rows the sweep (its seed 0),",
        "last panels the final runs (their first seed).*",
        "",
    ]


def _goal_check(final: dict) -> list[str]:
    lines = ["## Goal check (the best final row against the strongest published row, per metric)",
             "", "Met only with a lead of more than two standard errors of the difference "
             "(benchmarks/common.py).", ""]
    for dataset, groups in final.items():
        for label, rows in groups.items():
            if "best" not in label:
                continue
            s = summarise(rows)
            for metric, higher, digits in GOAL_METRICS:
                name = metric
                if metric == "reverse_kl" and "reverse_kl_hq" in s:
                    name = "reverse_kl_hq"  # PacGAN's definition, like its published numbers
                value, se = s[name]
                check = goal_check(value, se, published_rows(dataset, metric), higher, digits)
                note = (" (all-samples KL against PacGAN's HQ-only KL: not like for like)"
                        if metric == "reverse_kl" and name == "reverse_kl" else "")
                lines.append(f"- {dataset}, {label}, {name}: {check.text}{note}")
            lines.append(f"- {dataset}, {label}, all modes on every seed: "
                         f"{'met' if s['all_modes'] == s['n'] else 'not met'} "
                         f"({s['all_modes']} of {s['n']} seeds)")
    return [*lines, ""]


NOTES = [
    "## Notes",
    "",
    "- How the recipe was found: tuning runs outside this script, one seed each, not kept; so",
    "  these notes state what they showed without numbers. Maxout discriminators learned the",
    "  ring faster than LeakyReLU ones; a learning rate decaying to 1e-4 and sampling from an EMA",
    "  of G (decay 0.99) raised the share of high-quality samples most. An EMA decay of 0.999 is",
    "  too slow for runs of a few thousand steps: after 2,300 steps the average still holds",
    f"  0.999^2300 = {0.999 ** 2300:.2f} of the initial weights.",
    "- The samples that miss the 3-std disc lie mostly on thin bridges between neighbouring",
    "  modes (see the pictures): G is continuous in z, so the z-mass at the borders between modes",
    "  maps between them.",
    "- The grid needs batch norm in G (PacGAN's G has it): without it, in the tuning runs, G",
    "  spread its samples evenly over the square with every loss, packing, learning rate and",
    "  width tried. The ring is learned without.",
    "- WGAN's paper schedule spends 2,500 of the first discriminator steps on its warm-up (25",
    "  generator steps of 100 critic steps) and uses k = 5, so at equal discriminator steps it",
    "  makes far fewer generator steps (the G steps columns); the rows compare the losses at",
    "  equal data, not at their own papers' budgets. docs/results/toy2d_recipes.md gives each",
    "  loss a recipe of its own.",
    "- The training-health monitor (gankit.train.monitor) ran in every run; the sweep tables",
    "  count the warnings it logged to metrics.jsonl.",
    "",
]


def _per_run_notes(sweep: dict, final: dict) -> list[str]:
    lines = ["## Per-run results of the final stage", ""]
    for dataset, groups in final.items():
        for label, rows in groups.items():
            cells = ", ".join(
                f"s{r['seed']}: {r['modes']}/{r['high_quality']:.1f}/{r['reverse_kl']:.3f}"
                for r in rows
            )
            lines.append(f"- {dataset}, {label} (modes/HQ/KL): {cells}")
    diverged = [r["key"] for rows in sweep.values() for r in rows if r["diverged"]]
    lines += ["", f"Diverged sweep runs (scored as 0 modes): {', '.join(diverged) or 'none'}.", ""]
    return lines


def render_doc(saved: dict[str, Any]) -> str:
    """The doc's text from the saved results (see toy2d.py's `main` for the keys): `sweep` and
    `final` hold result rows per dataset (and, for `final`, per label), `protocol` the seeds and
    epochs."""
    sweep, final, p = saved["sweep"], saved["final"], saved["protocol"]
    lines = [
        *header("2-D mode collapse: the ring and the grid (PacGAN protocol)", saved["command"],
                saved["date"], saved["machine"],
                [f"CPU time of all runs: {saved['cpu_minutes']:.0f} min"], style="breaks"),
        "",
        *_protocol(p),
    ]
    for dataset in DATASETS:
        if dataset in sweep:
            lines += _dataset(dataset, sweep[dataset], final.get(dataset, {}), p)
    lines += _goal_check(final)
    lines += NOTES
    lines += _per_run_notes(sweep, final)
    return "\n".join(lines) + "\n"


def plot_dataset(dataset: str, panels: list[tuple[str, dict]], runs_dir: Path, path: Path) -> None:
    """A small multiple: each method's seed-0 samples (blue) over the true modes (red x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gankit.data.toy import grid_means, ring_means

    means = ring_means() if dataset == "ring" else grid_means()
    span = means.abs().max().item() * 1.4
    cols = 7
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (title, row) in zip(axes.flat, panels, strict=False):
        file = runs_dir / row["key"] / "samples.npy"
        if file.exists():
            s = np.load(file)
            ax.scatter(s[:, 0], s[:, 1], s=0.5, alpha=0.4, color="tab:blue", rasterized=True)
        ax.scatter(means[:, 0], means[:, 1], marker="x", s=12, linewidths=0.8, color="tab:red")
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{title}\n{row['modes']} modes, {row['high_quality']:.0f}% HQ", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
