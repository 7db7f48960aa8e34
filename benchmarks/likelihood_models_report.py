"""Renders docs/results/likelihood_models.md from the likelihood_models.json that
benchmarks/likelihood_models.py saves; the GAN rows are read from docs/results/table1.md and
docs/results/dcgan.md (not retrained), the published rows are cited."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from common import MARGIN_SE, Row, goal_check, header, table, write_doc

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs/results"
# Burda, Grosse & Salakhutdinov (2016), Table 1: MNIST, one stochastic layer (784-200-200-50,
# the architecture of configs/mnist-vae.yaml), VAE trained with k = 1, test log-likelihood
# estimated with 5,000 importance samples after 3,280 passes over the data.
BURDA_VAE = -86.76
# The rows of docs/results/dcgan.md's sample-quality table that are Table 1's GANs, and real data.
DCGAN_ROWS = {
    "real MNIST (training images)": "real MNIST: the first 10,000 training images",
    "paper MLP, Adam + EMA (benchmarks/table1.py run)":
        "GAN, `mnist-paper-fast` (Table 1 run, 40 epochs, EMA of G)",
    "paper MLP + maxout (Goodfellow et al. 2014)": "GAN, `mnist-paper` (12 epochs)",
}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def read_table(doc: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of the first markdown table in `doc` whose header has all of `columns`."""
    lines = doc.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and set(columns) <= set(_cells(line)):
            names = _cells(line)
            rows = []
            for body in lines[i + 2:]:
                if not body.startswith("|"):
                    break
                rows.append(dict(zip(names, _cells(body), strict=True)))
            return rows
    raise SystemExit(f"{doc}: no table with columns {columns}; re-run the "
                     "benchmark that writes it")


def gan_rows() -> list[list[str]]:
    """Table 1's published rows and gankit's GAN rows, as the saved docs give them."""
    out = []
    for row in read_table(RESULTS / "table1.md", ("model", "source")):
        if row["source"] == "paper, Table 1":
            out.append([row["model"], "-", row["Parzen log-likelihood (nats)"], "-", "-", "-",
                        "Goodfellow et al. 2014, Table 1"])
    found = {r["model"]: r for r in read_table(RESULTS / "dcgan.md", ("model", "FD", "Parzen"))}
    for name, label in DCGAN_ROWS.items():
        if name not in found:
            raise SystemExit(f"docs/results/dcgan.md has no row {name!r}")
        r = found[name]
        out.append([label, "-", r["Parzen"], r["FD"], r["precision"], r["recall"],
                    "[dcgan.md](dcgan.md) / [table1.md](table1.md)"])
    return out


def _pm(value: float, se: float, digits: int = 1) -> str:
    return f"{value:.{digits}f} ± {se:.{digits}f}"


def vae_rows(models: list[dict[str, Any]], k: int) -> list[list[str]]:
    out = []
    for m in models:
        b = m["bounds"]
        bound = f"**{_pm(b['iwae'], b['iwae_stderr'])}** (ELBO {_pm(b['elbo'], b['elbo_stderr'])})"
        for kind, what in (("means", "decoder means"), ("binary", "binary samples")):
            s = m[kind]
            out.append([f"{m['name']}: {what}", bound if kind == "means" else "(same model)",
                        _pm(s["parzen"], s["parzen_stderr"]), f"{s['fid']:.2f}",
                        f"{s['precision']:.3f}", f"{s['recall']:.3f}", "this run"])
    out.append(["VAE, same architecture (Burda et al. 2016)", f"{BURDA_VAE:.2f}", "-", "-", "-",
                "-", f"published: IWAE-5000 after 3,280 passes (ours: IWAE-{k})"])
    return out


def _order(models: list[dict[str, Any]], value: Any) -> list[str]:
    return [m["key"] for m in sorted(models, key=value, reverse=True)]


def _clearly(a: dict[str, float], b: dict[str, float]) -> bool:
    """a's Parzen above b's by more than two standard errors of the difference."""
    return a["parzen"] - b["parzen"] > MARGIN_SE * math.hypot(a["parzen_stderr"],
                                                              b["parzen_stderr"])


def _reversals(models: list[dict[str, Any]], kind: str) -> tuple[list, list]:
    """Pairs (better likelihood, worse likelihood) that Parzen on `kind` ranks the other way:
    clearly (beyond 2 s.e.) and within noise."""
    clear, noise = [], []
    for o in models:
        for m in models:
            if o["bounds"]["iwae"] > m["bounds"]["iwae"] and o[kind]["parzen"] < m[kind]["parzen"]:
                (clear if _clearly(m[kind], o[kind]) else noise).append((o, m))
    return clear, noise


def theis_lines(models: list[dict[str, Any]], gan: dict[str, float]) -> list[str]:
    """What the numbers say about Parzen against the likelihood, computed, not asserted.
    `gan`: the Table 1 GAN's Parzen (with its standard error) and FD."""
    names = {m["key"]: m["name"] for m in models}
    by_ll = _order(models, lambda m: m["bounds"]["iwae"])
    lines = ["Ranked by the IWAE bound (best first): "
             + " > ".join(names[k] for k in by_ll) + "."]
    kinds = (("means", "decoder means"), ("binary", "binary samples"))
    bullets, any_clear = [], False
    for kind, what in kinds:
        order = _order(models, lambda m, kind=kind: m[kind]["parzen"])
        clear, noise = _reversals(models, kind)
        any_clear |= bool(clear)
        verdict = ("the same order" if order == by_ll else "**a different order**, clearly"
                   if clear else "a different order, but only within noise")
        lines.append(f"Ranked by Parzen on their {what}: " + " > ".join(names[k] for k in order)
                     + f": {verdict}.")
        for o, m in clear + noise:
            bullets.append(
                f"- {o['name']} has the better likelihood ({o['bounds']['iwae']:.1f} against "
                f"{m['bounds']['iwae']:.1f} nats), but Parzen on the {what} scores it lower "
                f"({_pm(o[kind]['parzen'], o[kind]['parzen_stderr'])} against "
                f"{_pm(m[kind]['parzen'], m[kind]['parzen_stderr'])}): "
                + ("a clear reversal." if (o, m) in clear else "a gap within two standard "
                   "errors of the difference, so not a clear reversal."))
    final = next(m for m in models if m["key"] == "vae")
    gap = final["means"]["parzen"] - final["binary"]["parzen"]
    lines += ["", *bullets,
              f"- One model, two sets of samples: {final['name']} has one likelihood (IWAE bound "
              f"{final['bounds']['iwae']:.1f} nats), yet Parzen gives its decoder means "
              f"{final['means']['parzen']:.1f} and its own binary samples "
              f"{final['binary']['parzen']:.1f} nats, {abs(gap):.0f} nats apart. The binary samples "
              "are what the likelihood is about; the means are grey-level images, like the test "
              "images Parzen scores."]
    for m in models:
        s = m["means"]
        gan_pm = {"parzen": gan["parzen"], "parzen_stderr": gan["parzen_stderr"]}
        if not _clearly(gan_pm, s) and s["fid"] > gan["fid"]:
            relation = "above" if _clearly(s, gan_pm) else "level with (within noise)"
            lines.append(
                f"- {m['name']}: Parzen puts its decoder means ({s['parzen']:.1f}) {relation} the "
                f"Table 1 GAN ({gan['parzen']:.1f}), while the Fréchet distance puts them far "
                f"behind it ({s['fid']:.1f} against {gan['fid']:.1f}; recall {s['recall']:.3f}).")
    lines.append(
        "- The GAN has no likelihood to check Parzen's ranking of it against. " + (
            "Among the VAEs, whose likelihood is known, Parzen reversed a ranking (above)."
            if any_clear else "Among the VAEs here Parzen reversed no ranking beyond its noise; "
            "what it did not keep is the scale: one model, one likelihood, Parzen scores "
            f"{abs(gap):.0f} nats apart, and decoder means scoring level with or above the GAN "
            "while their Fréchet distance is far worse (above)."))
    return lines


def render(summary: dict[str, Any], out: Path) -> None:
    """Write the doc; summary["rendered_by"], when set, is the command that re-rendered it."""
    models, k = summary["models"], summary["k"]
    gans = summary.get("gan_rows") or gan_rows()  # as the docs read when the benchmark ran
    gan_row = next(r for r in gans if "mnist-paper-fast" in r[0])
    parzen, _, parzen_se = gan_row[2].split()  # "182.0 ± 2.4"
    gan = {"parzen": float(parzen), "parzen_stderr": float(parzen_se), "fid": float(gan_row[3])}
    final = next(m for m in models if m["key"] == "vae")
    check = goal_check(final["bounds"]["iwae"], final["bounds"]["iwae_stderr"],
                       [Row("Burda et al. (2016)'s VAE", BURDA_VAE)])
    cpu_min = summary["cpu_s_total"] / 60
    p = final["means"]["protocol"]
    lines = header(
        "Likelihood models beside the GAN: a VAE on MNIST", summary["command"].strip(),
        summary["date"], summary["machine"],
        [f"Load average at the end: {summary['load_average']}"], rendered_by=summary.get("rendered_by"),
        style="bullets")
    lines += [
        "",
        f"Budget: {cpu_min:.1f} CPU-minutes in all (one torch thread; training "
        f"{sum(m['train_cpu_s'] for m in models) / 60:.1f}, the rest scoring), "
        f"{summary['wall_s_total'] / 60:.1f} wall minutes; the goal was about 20 CPU-minutes: "
        f"{'within it' if cpu_min <= 20 else 'over it'}. The GAN rows are not retrained: they are "
        "read from [table1.md](table1.md) and [dcgan.md](dcgan.md). No PixelCNN was built.",
        "",
        "## The table",
        "",
        f"The VAE ([configs/mnist-vae.yaml](../../configs/mnist-vae.yaml), `objective: vae`): "
        "encoder 784-200-200-(2×z), decoder z-200-200-784, tanh, a Bernoulli decoder, trained "
        "on **dynamically binarised** MNIST (train[0:50000], each pixel redrawn as 1 with "
        "probability its grey level at every update), Adam 1e-3, batch 100. Its likelihood "
        f"column is the IWAE bound with K = {k} (Burda et al. 2016) on the {summary['n_test']:,} "
        "MNIST test images binarised once (seed 0), in nats per image; the ELBO (closed-form KL, "
        "one reconstruction draw) beside it; both ± std / sqrt(n). Both are lower bounds on "
        "log p(x), the IWAE bound the tighter.",
        "",
        f"Parzen is the paper's protocol, gankit's `parzen` metric: {p['n']:,} samples as "
        f"centres, sigma chosen on {p['parzen_valid']} of the grey-level validation images, the "
        f"mean log-density of the {p['parzen_n_test']:,} grey-level test images. FD = Fréchet "
        "distance of gankit's MNIST-classifier features (lower is better), precision/recall "
        f"k = {p['pr_k']}, against the test set. Each VAE is scored on the decoder's means "
        "(what `gankit sample` draws) and on binary samples drawn from those means (the model's "
        "own samples).",
        "",
        *table(["model", "log p(x) bound (nats, binarised test)", "Parzen (nats, grey test)",
                "FD", "precision", "recall", "source"], [*gans, *vae_rows(models, k)]),
        "",
        "A log-likelihood of binary images (a probability) and a Parzen log-density of grey-level "
        "images (a density in 784 dimensions) are in different units: compare the columns' "
        "rankings, not their numbers.",
        "",
        f"Against Burda et al. (2016)'s {BURDA_VAE} nats for this architecture: "
        f"{check.text}. Their run was 3,280 passes with a 5,000-sample estimate; ours "
        f"{summary['epochs']} epochs and K = {k} (a looser bound).",
        "",
        "## Parzen against the likelihood (Theis et al. 2016)",
        "",
        "Theis, van den Oord and Bethge (2016) showed that Parzen estimates can rank models "
        "differently from their log-likelihood. Measured here, on models whose likelihood is "
        "known (to within its bound):",
        "",
        *theis_lines(models, gan),
        "",
        "## Samples",
        "",
        "| VAE: decoder means | VAE: binary samples | GAN (Table 1 run, EMA of G) |",
        "|---|---|---|",
        "| ![](likelihood_models-vae-means.png) | ![](likelihood_models-vae-binary.png) | "
        "![](table1-samples.png) |",
        "",
        f"The VAE is the `mnist-vae` run after {summary['epochs']} epochs, 10 × 10 samples, noise "
        "seed 0 (the binary samples drawn from those means with seed 1); the GAN grid is "
        "[table1.md](table1.md)'s. The 2-D-latent VAE:",
        "",
        "| means | binary samples |",
        "|---|---|",
        "| ![](likelihood_models-z2-means.png) | ![](likelihood_models-z2-binary.png) |",
        "",
        "## Training",
        "",
        *table(["model", "latent", "epochs", "steps", "parameters", "training CPU min"],
               [[m["name"], m["z_dim"], m["epoch"], f"{m['step']:,}", f"{m['params']:,}",
                 f"{m['train_cpu_s'] / 60:.1f}"] for m in models]),
        "",
        "The 1-epoch and the final row are the same run, resumed. Reproduce: "
        "`gankit train mnist-vae`, then `gankit sample runs/mnist-vae --n 100 --out vae.png`, "
        "and the bounds with `gankit.metrics.likelihood.likelihood_bounds`.",
    ]
    write_doc(out, "\n".join(lines) + "\n")
