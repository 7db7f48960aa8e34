"""docs/results/table1.md from the saved results of benchmarks/table1.py (its table1.json).

Rendering is a function of the saved summary and the runs' configs only, so a change to the
wording can be re-rendered (`table1.py --render`) without training again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import Row, goal_check, header, strongest, table
from gankit.config import Config

# Table 1 of the paper (Parzen window-based log-likelihood estimates, MNIST, nats).
PAPER_ROWS = (
    Row("DBN (Bengio et al. 2013)", 138, 2),
    Row("Stacked CAE (Bengio et al. 2013)", 121, 1.6),
    Row("Deep GSN (Bengio et al. 2014)", 214, 1.1),
    Row("Adversarial nets (Goodfellow et al. 2014)", 225, 2),
)
PAPER_TARGET = strongest(PAPER_ROWS).value  # the paper's GAN: the number to reach


def fmt(result: dict[str, Any]) -> str:
    return f"{result['mean']:.1f} ± {result['stderr']:.1f}"


def samples_key(result: dict[str, Any]) -> str:
    """The pictures' key of the sample grid of a run other than the first."""
    return f"samples-{result['name']}"


def describe(cfg: Config) -> str:
    """The recipe in one line: what differs from the paper is in the optimiser and schedule."""
    o, t = cfg.optim, cfg.train
    if o.name == "sgd":
        opt = (f"SGD lr {o.lr:g} (÷{o.lr_decay:.7g} per update), momentum {o.momentum_start:g}→"
               f"{o.momentum_end:g}")
    else:
        opt = f"{o.name.capitalize()} lr {o.lr:g} betas {tuple(o.betas)}"
    for key, over in (("G", cfg.g_optim), ("D", cfg.d_optim)):
        if over:
            opt += f"; {key}: " + ", ".join(f"{k} {v}" for k, v in over.items())
    ema = f", EMA of G {t.ema:g}" if t.ema else ""
    return (f"{cfg.loss} loss, {t.update} updates, k = {t.k}, batch {t.batch_size}, {opt}{ema}, "
            f"D dropout {cfg.discriminator.dropout_input:g}/{cfg.discriminator.dropout_hidden:g}")


def verdict(parzen: dict[str, Any]) -> str:
    """The paper's GAN row against this run, through the benchmarks' one goal check."""
    goal = goal_check(parzen["mean"], parzen["stderr"], PAPER_ROWS)
    paper = f"{goal.best.value:g} ± {goal.best.se:g}"
    if goal.met:
        return f"The paper's {paper} was **reached**: {fmt(parzen)}."
    if goal.lead < 0:
        return f"The paper's {paper} was **not reached** in this budget: {fmt(parzen)}."
    return f"The paper's {paper} was **not clearly beaten** (goal {goal.text})."


def _table_rows(results: list[dict], configs: list[Config], real: dict) -> list[list[str]]:
    rows = [[r.name, f"{r.value:g} ± {r.se:g}", "paper, Table 1"] for r in PAPER_ROWS]
    for r, cfg in zip(results, configs, strict=True):
        p = r["parzen"]
        rows.append([f"gankit, `{cfg.name}` ({r['epochs']} epochs, {r['train_s'] / 60:.1f} min)",
                     f"**{fmt(p)}**",
                     f"this run, sigma {p['sigma']:.3f}{', EMA of G' if r['ema'] else ''}"])
        if r["raw_parzen"]:
            q = r["raw_parzen"]
            rows.append(["the same run's raw G (no EMA)", fmt(q), f"this run, sigma {q['sigma']:.3f}"])
    rows.append(["real data: the first 10,000 training images as the samples", fmt(real),
                 f"this run, sigma {real['sigma']:.3f}"])
    return rows


def _curve_lines(results: list[dict]) -> str:
    curve = ""
    for r in results:
        if r["curve"]:
            points = ", ".join(
                f"{c['epoch']}: {c['mean']:.0f}"
                + (f" (raw G {c['raw_mean']:.0f})" if "raw_mean" in c else "")
                for c in r["curve"])
            first = next((c for c in r["curve"] if c["mean"] >= PAPER_TARGET), None)
            when = (f"first ≥ {PAPER_TARGET:.0f} at epoch {first['epoch']} after "
                    f"{first['train_s'] / 60:.1f} min of training" if first
                    else f"never ≥ {PAPER_TARGET:.0f} in this run")
            curve += f"- `{r['name']}` (epoch: nats): {points}; {when}.\n"
    return curve


def _pictures(results: list[dict], configs: list[Config], images: dict[str, Path | None]) -> str:
    main = results[0]
    pics = []
    if images.get("curve"):
        pics.append(f"![Parzen log-likelihood against epoch]({images['curve'].name})")
    pics.append(f"Samples of `{configs[0].name}` (10 × 10, seed 0"
                f"{', EMA generator' if main['ema'] else ''}):\n\n"
                f"![samples]({images['samples'].name})")
    for r, cfg in zip(results[1:], configs[1:], strict=True):
        key = samples_key(r)
        if images.get(key):
            pics.append(f"Samples of `{cfg.name}` after {r['epochs']} epochs (10 × 10, seed 0"
                        f"{', EMA generator' if r['ema'] else ''}):\n\n"
                        f"![samples of {cfg.name}]({images[key].name})")
    pics.append("Figure 2 of the paper, redrawn: each row holds samples; the last column, "
                "outlined in yellow, is the training image (of the 50,000 trained on) nearest in "
                "Euclidean distance to the sample beside it. Samples that differ from their "
                "neighbours show the generator has not just memorised the training set.\n\n"
                f"![nearest training neighbours]({images['neighbours'].name})")
    return "\n".join(p + "\n" for p in pics)


def recipe_section(recipes_file: Path | None = None) -> str:
    """The recipe search of benchmarks/table1_recipes.py with issue 18's goal check, rendered
    from its saved probes (none yet: no section)."""
    import table1_recipes

    recipes_file = recipes_file or table1_recipes.SAVED
    if not recipes_file.exists():
        return ""
    saved = json.loads(recipes_file.read_text())
    newest = max(p["date"] for p in saved["probes"])
    return "\n".join([
        "## Recipes toward issue 18's goal", "",
        f"Issue 18 asks for Parzen ≥ {table1_recipes.GOAL_PARZEN:g} with the paper's networks in "
        f"30 minutes of training on 2 cores ({table1_recipes.GOAL_CPU_MINUTES:g} CPU minutes) at "
        f"{table1_recipes.GOAL_SEEDS} seeds. The recipe search (benchmarks/table1_recipes.py; "
        "every probe's trajectory, its noise scale psi picked on held-out validation images, "
        "and its command in [table1_recipes.md](table1_recipes.md)) trained these, newest "
        f"{newest}, on the machine named there; test Parzen at the end of each budget:", "",
        *table1_recipes.recipe_table(saved), "", ""])


def render_doc(summary: dict[str, Any], configs: list[Config],
               images: dict[str, Path | None], recipes: str | None = None) -> str:
    """The doc's text from a saved summary (table1.json), the runs' configs and the pictures;
    `recipes` is the recipe section (default: rendered from table1_recipes.json)."""
    recipes = recipe_section() if recipes is None else recipes
    results, real = summary["results"], summary["real"]
    runs = table(
        ["config", "recipe", "epochs", "G steps", "D steps", "seeds", "training time (wall)",
         "images/s", "Parzen (nats)", "sigma"],
        ([f"`{cfg.name}`", describe(cfg), r["epochs"], f"{r['g_steps']:,}",
          f"{r.get('d_steps', r['g_steps'] * cfg.train.k):,}", f"1 (seed {cfg.seed})",
          f"{r['train_s'] / 60:.1f} min", f"{r['images_per_s']:,.0f}", fmt(r["parzen"]),
          f"{r['parzen']['sigma']:.3f}"] for r, cfg in zip(results, configs, strict=True)))
    quick = ("**Quick smoke run (--quick): tiny budget, numbers not comparable with the paper.**"
             if summary.get("quick") else "")
    literal = [r for r, c in zip(results, configs, strict=True) if c.optim.name == "sgd"]
    literal_text = (
        "The literal 2014 recipe (`configs/mnist-paper.yaml`: SGD 0.1 with momentum 0.5→0.7) "
        + (f"is the `{literal[0]['name']}` row above ({literal[0]['epochs']} epochs). "
           if literal else "was not re-run here. ")
        + "An earlier measurement on this kind of machine (shared/notes/baselines.md: the "
        "authors' simultaneous updates, seed 0) found it collapsing to a few digit shapes near "
        "epoch 10 and recovering slowly: Parzen 64 at epoch 25, 124 at 50 and 138 ± 1.5 at 60 "
        "(28 min)."
    )
    top = header(
        "Table 1: Parzen-window log-likelihood on MNIST",
        summary.get("commands") or ["python " + " ".join(summary["argv"])],
        summary.get("date", "not recorded"), summary["machine"],
        [f"Load average at the end of training: {summary.get('load', 'not recorded')}"],
        rendered_by=summary.get("rendered_by"),
        intro="Generated by `benchmarks/table1.py`; do not edit by hand.", style="bullets")
    nl = "\n"
    return f"""{nl.join(top)}

{quick}

{verdict(results[0]["parzen"])}

{nl.join(table(["model", "Parzen log-likelihood (nats)", "source"],
               _table_rows(results, configs, real)))}

Protocol (the authors' parzen_ll.py, implemented in `gankit.metrics.parzen`): \
{real['n_samples']:,} generated samples are the centres of a Gaussian kernel density \
estimate; sigma is chosen from logspace(-1, 0, 10) on the first {real['n_valid']:,} images of \
train[50000:60000]; the table gives the mean log-likelihood of {real['n_test']:,} MNIST test \
images ± std / sqrt(n). Training used train[0:50000] only.

## Runs

The architecture is the paper's in every run: G 100-1200-1200-784 (ReLU, sigmoid output, \
z ~ U(-√3, √3)), D maxout 784-240×5-240×5-1 with dropout on the input and hidden layers. Only \
the optimiser and schedule differ between recipes. Wall time is training alone (Parzen \
evaluations during training are excluded); images/s counts real images through D.

{nl.join(runs)}

{_curve_lines(results)}
{_pictures(results, configs, images)}
{literal_text}

{recipes}## How far to trust these numbers

Parzen-window estimates are unreliable in high dimension (Theis, van den Oord and Bethge 2016, \
"A note on the evaluation of generative models"): with {real['n_samples']:,} centres in 784 dimensions the \
estimate is far from the true log-likelihood, it rewards sharp samples near the data more than \
coverage, and a model can score well while being poor (or badly while being good). Even real \
training images score only {real['mean']:.0f} here. The number is reported to compare with the \
paper on its own terms, not as a quality measure. For quality and diversity use \
`gankit eval` with the other metrics: the Fréchet distance and KID in the feature space of \
gankit's MNIST classifier (`gankit.metrics.classifier.load_mnist_classifier`), precision / \
recall / density / coverage (`gankit.metrics.prdc`) and the count of digit modes \
(`gankit.metrics.modes`).
"""


def plot_curve(results: list[dict[str, Any]], real: float, path: Path) -> Path | None:
    """The Parzen estimate against epoch for every run with a curve, beside the paper and
    real data; None when no run has one."""
    if not any(r["curve"] for r in results):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for r in results:
        if r["curve"]:
            epochs = [c["epoch"] for c in r["curve"]]
            label = r["name"] + (" (EMA of G)" if r["ema"] else "")
            ax.errorbar(epochs, [c["mean"] for c in r["curve"]],
                        yerr=[c["stderr"] for c in r["curve"]], marker="o", ms=3, label=label)
            if "raw_mean" in r["curve"][0]:
                ax.plot(epochs, [c["raw_mean"] for c in r["curve"]], marker=".", ls="--",
                        label=r["name"] + " (raw G)")
    ax.axhline(PAPER_TARGET, color="tab:red", ls="--", lw=1,
               label=f"paper: adversarial nets {PAPER_TARGET:g}")
    ax.axhline(real, color="gray", ls=":", lw=1, label=f"real data {real:.0f}")
    ax.set_xlabel("epoch (50,000 images)")
    ax.set_ylabel("Parzen log-likelihood (nats)")
    ax.set_title("MNIST Parzen-window estimate during training")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
