"""docs/results/dcgan.md from the saved results of benchmarks/dcgan.py (its dcgan.json).

Rendering reads nothing but the saved results, so `dcgan.py --render-only` rewrites the doc on
any machine, without the runs. Every sentence with a number in it is computed here from those
results; nothing is typed in by hand.
"""

from __future__ import annotations

from typing import Any

from common import header, table
from gankit.data.stacked import STACKED_SAMPLES

# PacGAN (Lin et al. 2018), Table 3 (Stacked MNIST, 1000 modes): modes captured, KL to uniform.
STACKED_PUBLISHED = (
    ("DCGAN (Radford et al. 2016), as run by PacGAN", 99.0, 3.40),
    ("VEEGAN (Srivastava et al. 2017)", 150.0, 2.95),
    ("PacDCGAN2 (Lin et al. 2018)", 1000.0, 0.06),
)
# The comparison: better than the paper's MLP on FD, modes and precision / recall.
# (metric, True when higher is better). The metrics carry no standard errors, so this is a
# plain comparison, not common.goal_check's.
GOAL_METRICS = (("fid", False), ("precision", True), ("recall", True), ("classes_covered", True),
                ("kl_to_uniform", False))
SAMPLE_QUALITY_NOTE = [
    "FD = Fréchet distance of gankit's MNIST-classifier features (128-D), lower is better;",
    "it is comparable across gankit runs only, not to Inception FIDs. IS = the Inception",
    "score formula with the MNIST classifier (1-10). P/R = precision/recall (k=3), D/C =",
    "density/coverage (k=5). Parzen = the paper's Parzen-window log-likelihood (nats; the",
    "paper reports 225 ± 2 for its MLP GAN). The first row scores the first n real MNIST",
    "training images under the same protocol: what a perfect model would get.",
]


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def budget_text(facts: dict) -> str:
    """The training budgets, models with the same budget grouped together."""
    groups: dict[str, list[str]] = {}
    for key, f in facts.items():
        if key == "table1":
            continue
        b = f.get("budget")
        text = (
            f"{b['cpu_minutes']:g} CPU minutes or {b['epochs']} epochs"
            if b
            else "a budget its run did not record"
        )
        groups.setdefault(text, []).append(key)
    listed = "; ".join(f"{', '.join(keys)}: {text}" for text, keys in groups.items())
    return (
        "Budget: a model trains until its process has used its CPU minutes (one torch thread) "
        f"or reaches its epoch cap, whichever comes first ({listed}). Finished runs are reused "
        "with the budget they had. CPU time rather than wall time, because the 2 cores were "
        "shared with other jobs. DCGAN widths are the `base` channel unit of each config, "
        "G/D (64 is paper-sized); extra layers are stride-1 3x3 convolutions at every hidden "
        "resolution (`extra_layers` in the config). Each run's measured speed is in the "
        "images/s column below."
    )


def mlp_goal_lines(models: dict, names: dict[str, str]) -> list[str]:
    """For each DCGAN, the metrics on which it beats (or not) the paper MLP of this benchmark."""
    lines = []
    ref = models["mlp"]
    for key in ("dcgan", "cdcgan"):
        if key not in models:
            continue
        m = models[key]
        worse = []
        for metric, higher in GOAL_METRICS:
            a, b = m.get(metric), ref.get(metric)
            if a is None or b is None:
                continue
            if (a < b) if higher else (a > b):
                worse.append(f"{metric} {a:.3g} against {b:.3g}")
        verdict = (
            "better than or equal to the paper MLP on every one of "
            + ", ".join(g for g, _ in GOAL_METRICS)
            if not worse
            else "**not** better than the paper MLP on " + "; ".join(worse)
        )
        lines.append(f"- Goal check, {names[key]}: {verdict}.")
    return lines


def summary(results: dict, accuracy: dict | None, stacked: dict | None,
            names: dict[str, str]) -> list[str]:
    """A few sentences computed from the tables below."""
    lines = ["## Summary", ""]
    models = {k: r["metrics"] for k, r in results.items() if k != "real"}
    if models:
        ranked = sorted(models, key=lambda k: models[k]["fid"])
        order = ", ".join(f"{names[k]} {models[k]['fid']:.1f}" for k in ranked)
        lines.append(f"- Fréchet distance (classifier features, lower is better): {order}.")
        best = max(models, key=lambda k: models[k]["parzen"])
        lines.append(
            f"- Highest Parzen estimate: {names[best]} ({models[best]['parzen']:.1f} nats); "
            "Parzen and FD need not agree (see docs/results/table1.md on Parzen's limits)."
        )
    if "mlp" in models:
        lines += mlp_goal_lines(models, names)
    if accuracy is not None:
        lines.append(
            f"- Conditional DCGAN: {accuracy['accuracy']:.1%} of its samples are classified as "
            f"the label they were generated for (lowest class: "
            f"{min(accuracy['per_class']):.1%})."
        )
    if stacked is not None:
        lines.append(
            f"- Stacked MNIST: {stacked['modes_covered']} of 1000 modes, KL to uniform "
            f"{stacked['kl_to_uniform']:.2f}."
        )
    return [*lines, ""] if len(lines) > 2 else []


def _training(facts: dict, names: dict[str, str]) -> list[str]:
    return table(
        ["model", "config", "G / D parameters", "epochs", "G steps", "CPU min", "wall min",
         "images/s"],
        ([names[key], f"`configs/{f['config']}`", f"{f['g_params']:,} / {f['d_params']:,}",
          f"{f['epochs']:.2f}", f"{f['g_steps']:,}", fmt(f["cpu_minutes"], 1),
          f"{f['wall_minutes']:.1f}", f"{f['images_per_s']:.0f}"] for key, f in facts.items()))


def _quality(results: dict, names: dict[str, str]) -> list[str]:
    rows = []
    for key, r in results.items():
        m = r["metrics"]
        rows.append([
            names[key], fmt(m.get("fid"), 2), fmt(m.get("kid"), 4), fmt(m.get("is"), 2),
            fmt(m.get("precision")), fmt(m.get("recall")), fmt(m.get("density")),
            fmt(m.get("coverage")), fmt(m.get("classes_covered")),
            fmt(m.get("kl_to_uniform"), 4),
            f"{fmt(m.get('parzen'), 1)} ± {fmt(m.get('parzen_stderr'), 1)}"])
    return table(["model", "FD", "KID", "IS", "precision", "recall", "density", "coverage",
                  "classes", "KL to uniform", "Parzen"], rows)


def _accuracy(accuracy: dict) -> list[str]:
    target = "met" if accuracy["accuracy"] >= 0.95 else "NOT met"
    per_class = accuracy["per_class"]
    return [
        "## Conditional accuracy",
        "",
        f"{accuracy['n']:,} samples of the conditional DCGAN, labels 0-9 in equal numbers; "
        "the share that gankit's MNIST classifier assigns to the label the sample was "
        f"generated for: **{accuracy['accuracy']:.1%}** (target ≥ 95 %: {target}).",
        "",
        *table(["label", *(str(c) for c in range(len(per_class)))],
               [["accuracy", *(f"{a:.1%}" for a in per_class)]]),
        "",
    ]


def _stacked(stacked: dict, name: str) -> list[str]:
    return [
        "## Stacked MNIST (1000 modes)",
        "",
        f"{STACKED_SAMPLES:,} samples; each channel classified by gankit's MNIST classifier; "
        "a mode is a digit triple. Published numbers are PacGAN's Table 3 (their nets and "
        "training length, not ours: compare loosely).",
        "",
        *table(["model", "source", "modes (of 1000)", "KL to uniform"],
               [[name, "this run", stacked["modes_covered"], f"{stacked['kl_to_uniform']:.2f}"],
                *([n, "published", f"{m:g}", f"{kl:.2f}"] for n, m, kl in STACKED_PUBLISHED)]),
        "",
    ]


def render_doc(saved: dict[str, Any]) -> str:
    """The doc's text from the saved results (see dcgan.py's `save_results` for the keys)."""
    facts, results, names = saved["facts"], saved["results"], saved["names"]
    accuracy, stacked = saved.get("accuracy"), saved.get("stacked")
    lines = [
        *header("DCGAN and conditional DCGAN on MNIST, against the paper's MLP",
                saved["command"], saved["date"], saved["machine"]),
        "",
        budget_text(facts),
        "",
        (
            "The row marked benchmarks/table1.py is the paper-MLP run that script trained under "
            "its own budget (docs/results/table1.md; no CPU time recorded), evaluated here "
            "under the same protocol but not retrained."
            if "table1" in facts
            else ""
        ),
        "",
        *summary(results, accuracy, stacked, names),
        "## Training",
        "",
        *_training(facts, names),
        "",
        f"## Sample quality ({saved['n']:,} samples each)",
        "",
        *SAMPLE_QUALITY_NOTE,
        "",
        *_quality(results, names),
        "",
        "Protocol: " + ", ".join(f"{k}={v}" for k, v in saved["protocol"].items()),
        "",
    ]
    if accuracy is not None:
        lines += _accuracy(accuracy)
    if stacked is not None:
        lines += _stacked(stacked, names["stacked"])
    lines += ["## Pictures", ""]
    for key, items in saved["pictures"].items():
        for file, caption in items:
            lines += [f"**{names[key]}**: {caption}", "", f"![{key} {caption}]({file})", ""]
    return "\n".join(lines)
