"""Renders docs/results/bigan.md from the results benchmarks/bigan.py saves (RUNS/bigan.json).
Every number in the doc comes from those results, except the cited published 1-NN accuracy."""

from __future__ import annotations

import math
from typing import Any

from common import Row, goal_check, header, table

# Donahue, Krähenbühl & Darrell 2017, "Adversarial Feature Learning", Table 1: 1-NN accuracy
# on the permutation-invariant MNIST test set in BiGAN's learned feature space.
PUBLISHED_KNN = 97.39
N_TEST = 10_000


def se(p: float, n: int = N_TEST) -> float:
    """Binomial standard error of an accuracy p measured on n test images."""
    return math.sqrt(p * (1 - p) / n)


def pct(p: float) -> str:
    return f"{100 * p:.2f} ± {100 * se(p):.2f}"


def cpu(seconds: float | None) -> str:
    return "not recorded" if seconds is None else f"{seconds:.0f}"


def budget_text(r: dict[str, Any]) -> str:
    """The budget as run: updates per model (and whether they agree), CPU time in all."""
    b, a = r["models"]["bigan"], r["models"]["autoencoder"]
    parts = [b.get("train_cpu_s"), a.get("train_cpu_s"), b["eval_cpu_s"], a["eval_cpu_s"],
             r["pixels"]["eval_cpu_s"], r["untrained"]["eval_cpu_s"]]
    known = sum(p for p in parts if p is not None)
    total = (f"{known / 60:.1f} CPU-minutes in all, training and scoring"
             + ("" if None not in parts else " (not counting a training whose time was not "
                "recorded)"))
    if b["steps"] == a["steps"] == r["steps"]:
        return (f"Budget: {r['steps']} updates of G and E per model (batch 100, one thread); "
                f"{total}")
    return (f"Budget: {r['steps']} updates per model planned; the BiGAN got {b['steps']}, the "
            f"autoencoder {a['steps']}: not run at its full, equal budget; {total}")


def render_doc(r: dict[str, Any]) -> str:
    b, a, px, u = r["models"]["bigan"], r["models"]["autoencoder"], r["pixels"], r["untrained"]
    lines = header(
        "BiGAN: what the encoder learns about MNIST", r["command"], r["date"], r["machine"],
        [f"Load average when the results were saved: {r['load']}", budget_text(r)],
        style="breaks")
    rows = [
        ["BiGAN E(x) (configs/mnist-bigan.yaml)", pct(b["knn"]), pct(b["probe"]),
         pct(b["recon_class"]), f"{b['recon_mse']:.4f}", b["steps"], cpu(b.get("train_cpu_s"))],
        ["autoencoder E(x) (configs/mnist-autoencoder.yaml)", pct(a["knn"]), pct(a["probe"]),
         pct(a["recon_class"]), f"{a['recon_mse']:.4f}", a["steps"], cpu(a.get("train_cpu_s"))],
        ["untrained E (the BiGAN run's encoder before its first update)", pct(u["knn"]),
         pct(u["probe"]), "-", "-", "0", "-"],
        ["raw pixels (784 numbers; reconstruction = x itself)", pct(px["knn"]),
         pct(px["probe"]), pct(px["recon_class"]), "0", "-", "-"],
        ["BiGAN, published (Donahue et al. 2017, Table 1; their protocol)",
         f"{PUBLISHED_KNN:.2f}", "-", "-", "-", "-", "-"],
    ]
    knn = goal_check(100 * b["knn"], 100 * se(b["knn"]),
                     [Row("the autoencoder", 100 * a["knn"], 100 * se(a["knn"]))], digits=2)
    probe = goal_check(100 * b["probe"], 100 * se(b["probe"]),
                       [Row("the autoencoder", 100 * a["probe"], 100 * se(a["probe"]))], digits=2)
    published = goal_check(100 * b["knn"], 100 * se(b["knn"]),
                           [Row("BiGAN published", PUBLISHED_KNN)], digits=2)
    pics = r["pictures"]
    return "\n".join([
        *lines, "",
        "Two models with the same encoder E (784-512-512-50, batch norm, LeakyReLU) and decoder "
        "G (50-512-512-784, batch norm, ReLU, sigmoid), trained for the updates below "
        "on MNIST's 50,000 training images: a BiGAN (a joint discriminator on [x, z], "
        "834-512-512-1 LeakyReLU with dropout; non-saturating, G and E with one Adam) and a "
        "plain autoencoder (L2 reconstruction, Adam). Codes are 50 numbers, prior N(0, I).",
        "",
        "## Results on the MNIST test set (10,000 images)",
        "",
        *table(["Features", "1-NN accuracy (%)", "linear probe accuracy (%)",
                "G(E(x)) in x's class (%)", "pixel MSE of G(E(x))", "updates", "training CPU-s"],
                rows),
        "",
        "± is the binomial standard error over the 10,000 test images (it ignores the "
        "training seed's variance: one seed per model).",
        "",
        "## Protocol",
        "",
        "- 1-NN: each test code E(x) takes the label of its nearest training code (Euclidean "
        "distance; the reference is the codes of the 50,000 training images the runs learned "
        "from, E in eval mode).",
        "- Linear probe: multinomial logistic regression on the codes standardised with the "
        "training codes' mean and standard deviation, fitted by full-batch L-BFGS "
        "(200 iterations, L2 weight 1e-4) on the training codes, scored on the test codes.",
        "- Reconstructions: gankit's MNIST classifier (docs/results/classifier.md) labels "
        "G(E(x)); the share that gets x's true label. Its accuracy on the test images "
        "themselves is the raw-pixels row.",
        "- The untrained encoder (random weights, the BiGAN run's initial E) shows how much of "
        "the scores a random 50-number projection of the pixels already gives: on MNIST, "
        "nearest neighbours in a random projection are mostly of the same class.",
        f"- The published {PUBLISHED_KNN} % is Donahue et al. 2017's 1-NN accuracy for BiGAN on "
        "permutation-invariant MNIST; their networks, training length and feature choice are "
        "theirs and are not reproduced here, so the comparison is a scale, not a replication.",
        "",
        "## Verdicts (computed)",
        "",
        f"- BiGAN's 1-NN accuracy above the autoencoder's: {knn.text}.",
        f"- BiGAN's linear probe above the autoencoder's: {probe.text}.",
        f"- BiGAN's 1-NN accuracy above the published {PUBLISHED_KNN} % (different protocol "
        f"and a far smaller budget): {published.text}.",
        "",
        "## Pictures",
        "",
        f"![test digits, BiGAN and autoencoder reconstructions]({pics[0]})",
        "",
        "Top row: test digits x; middle: the BiGAN's G(E(x)); bottom: the autoencoder's.",
        "",
        f"![BiGAN samples]({pics[1]})",
        "",
        "BiGAN samples G(z), z ~ N(0, I), noise seed 0.",
        "",
    ])
