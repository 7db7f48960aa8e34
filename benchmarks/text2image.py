"""Text to image on MNIST captions (configs/mnist-text2digit.yaml): does G draw what it is told?

    python benchmarks/text2image.py                       # train (or reuse) and evaluate
    python benchmarks/text2image.py --render-only         # rewrite the doc from the JSON

The run trains from its config with one torch thread until --cpu-minutes of this process's CPU
time (CpuBudget) or the config's epochs, whichever comes first. Then, with gankit's MNIST
classifier and the attribute measurements of gankit/data/captions.py:

- digit: the share of samples the classifier reads as the digit their sentence names, for one
  caption per validation image (its digit and measured attributes, phrased by the training
  captions' generator), held-out combinations scored apart; goal >= 95 % (issue #17);
- attributes: for every digit, the same noise drawn with two sentences that differ in one word
  ("a thin three" / "a thick three"; "leaning left" / "leaning right"; "small" / "large"), and
  the difference in the measured attribute as Cohen's d (pooled SD), next to the d of real
  validation images with those attributes;
- the classifier Fréchet distance (gankit.metrics.registry.evaluate, "fd") of the digit samples.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

import torch

from common import Row, goal_check, header, load_average, machine, now, table, write_doc
from gankit.config import load_config
from gankit.data import captions as C
from gankit.data.mnist import load_mnist
from gankit.metrics.classifier import load_mnist_classifier
from gankit.metrics.registry import evaluate
from gankit.train import run as runs
from gankit.train.hooks import CpuBudget
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.viz.grid import save_grid
from gankit.viz.text import sample_text, save_text_interpolation

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "results" / "text2image.md"
PICS = ROOT / "docs" / "results" / "text2image"
GOAL = 95.0  # % of samples showing the sentence's digit (issue #17)
N_CONTRAST = 200  # samples per sentence in the attribute contrasts
CONTRASTS = (("thickness", 0, "thin", "thick"), ("slant", 1, "leaning left", "leaning right"),
             ("size", 2, "small", "large"))
MEASURE = {"thickness": "ink mass", "slant": "slant -mu11/mu02", "size": "box area"}


def train(run_dir: Path, cpu_minutes: float) -> dict:
    facts_file = run_dir / "benchmark.json"
    if runs.read_status(run_dir).get("finished") and facts_file.exists():
        print(f"reusing the finished run {run_dir}", flush=True)
        return json.loads(facts_file.read_text())
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cfg = load_config(ROOT / "configs" / "mnist-text2digit.yaml",
                      ["train.progress=false", "train.threads=1"])
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(cfg, run_dir, hooks=[CpuBudget(cpu_minutes * 60)])
    trainer.run()
    facts = {"cpu_minutes": (time.process_time() - cpu) / 60,
             "wall_minutes": (time.perf_counter() - wall) / 60,
             "g_steps": trainer.progress.g_steps,
             "epochs": trainer.progress.d_steps / trainer.batches_per_epoch,
             "budget_cpu_minutes": cpu_minutes, "config_epochs": cfg.train.epochs,
             "held_out": cfg.data.held_out}
    facts_file.write_text(json.dumps(facts, indent=2))
    return facts


def cohen_d(a: torch.Tensor, b: torch.Tensor) -> float:
    """(mean b - mean a) / pooled SD."""
    pooled = ((a.var() * (len(a) - 1) + b.var() * (len(b) - 1)) / (len(a) + len(b) - 2)).sqrt()
    return float((b.mean() - a.mean()) / pooled)


def share(hits: torch.Tensor) -> tuple[float, float]:
    """% and its binomial standard error."""
    p = float(hits.float().mean())
    return 100 * p, 100 * (p * (1 - p) / len(hits)) ** 0.5


@torch.no_grad()
def digit_scores(run, classifier, held) -> dict:
    """Samples for one caption per validation image; seen and held-out combinations apart."""
    vx, vy = load_mnist("valid")
    _, _, medians = C.reference()
    attrs = C.attributes(C.measure(vx), vy, medians)
    rng = random.Random(2016)
    texts = [C.describe(d, a, rng, drop=0.3, numeral=0.1)
             for d, a in zip(vy.tolist(), attrs.tolist(), strict=True)]
    is_held = C.held_out_mask(vy, attrs, held)
    # A held-out image's caption must name its held-out word: written with nothing dropped.
    for i in is_held.nonzero().flatten().tolist():
        texts[i] = C.describe(int(vy[i]), attrs[i].tolist(), rng, drop=0.0)
    g = run.generator
    z = g.sample_z(len(texts), generator=torch.Generator().manual_seed(0))
    samples = torch.cat([g(z[i:i + 1000], C.encode(texts[i:i + 1000]))
                         for i in range(0, len(texts), 1000)])
    pred = classifier(samples).argmax(dim=1)
    out = {}
    for name, mask in (("seen", ~is_held), ("held-out", is_held)):
        pct, se = share(pred[mask] == vy[mask])
        out[name] = {"n": int(mask.sum()), "pct": pct, "se": se}
    for digit, col, value in held:  # each held-out combination alone
        mask = is_held & (vy == digit) & (attrs[:, col] == value)
        pct, se = share(pred[mask] == vy[mask])
        word = C.VALUES[C.ATTRIBUTES[col]][value]
        out[f"{digit}:{word}"] = {"n": int(mask.sum()), "pct": pct, "se": se}
    pct, se = share(classifier(vx).argmax(dim=1) == vy)
    out["real validation images (reference)"] = {"n": len(vy), "pct": pct, "se": se}
    fd = evaluate(samples[~is_held], ["fid"], "mnist", n=int((~is_held).sum()),
                  classifier=classifier)
    out["fd"] = fd["metrics"]
    out["fd_protocol"] = fd["protocol"]
    return out


@torch.no_grad()
def contrasts(run, classifier, held) -> list[dict]:
    """Per digit and attribute: the same noise under the two sentences, measured."""
    x, y, medians = C.reference()
    real = C.measure(x)
    real_attrs = C.attributes(real, y, medians)
    rows = []
    for attr, col, low, high in CONTRASTS:
        for d in range(10):
            seed = 100 * d + col
            a = sample_text(run, f"a {low} {C.DIGITS[d]}", N_CONTRAST, seed)
            b = sample_text(run, f"a {high} {C.DIGITS[d]}", N_CONTRAST, seed)
            ma, mb = C.measure(a)[:, col], C.measure(b)[:, col]
            ra = real[(y == d) & (real_attrs[:, col] == 1), col]
            rb = real[(y == d) & (real_attrs[:, col] == 2), col]
            words = {v for dd, c, v in held if dd == d and c == col}
            ok_a = C.attributes(C.measure(a), torch.full((N_CONTRAST,), d), medians)[:, col] == 1
            ok_b = C.attributes(C.measure(b), torch.full((N_CONTRAST,), d), medians)[:, col] == 2
            digit_ok = (classifier(torch.cat([a, b])).argmax(dim=1) == d)
            rows.append({
                "attribute": attr, "digit": d, "low": low, "high": high,
                "held_out": sorted(C.VALUES[attr][v] for v in words),
                "mean_low": float(ma.mean()), "mean_high": float(mb.mean()),
                "d": cohen_d(ma, mb), "d_real": cohen_d(ra, rb) if len(ra) > 1 and len(rb) > 1
                else None,
                "hit_low": float(ok_a.float().mean()) * 100,
                "hit_high": float(ok_b.float().mean()) * 100,
                "digit_pct": float(digit_ok.float().mean()) * 100,
            })
    return rows


def pictures(run) -> list[str]:
    PICS.mkdir(parents=True, exist_ok=True)
    paths = []
    rows = [f"a thin {w}" for w in C.DIGITS] + [f"a thick {w} leaning right" for w in C.DIGITS]
    grid = torch.cat([sample_text(run, t, 8, seed=1) for t in rows])
    save_grid(grid, PICS / "sentences.png", nrow=8)
    paths.append("sentences.png")
    for name, start, end in (("thin-to-thick.png", "a thin three leaning left",
                              "a thick three leaning right"),
                             ("one-to-seven.png", "a one", "a seven")):
        save_text_interpolation(run, start, end, PICS / name, rows=4, steps=8)
        paths.append(name)
    return paths


def render(res: dict) -> str:
    f, dg = res["facts"], res["digits"]
    check = goal_check(dg["seen"]["pct"], dg["seen"]["se"], [Row("goal (issue #17)", GOAL)])
    lines = header("Text to image on MNIST captions (GAN-CLS + GAN-INT)",
                   "python benchmarks/text2image.py", res["date"], res["machine"],
                   [f"Load: {res['load']}"])
    lines += ["", f"Budget: {f['budget_cpu_minutes']} CPU minutes of training on one thread "
              f"(or the config's {f['config_epochs']} epochs, whichever first); used "
              f"{f['cpu_minutes']:.1f} CPU minutes ({f['wall_minutes']:.1f} wall minutes on the "
              f"shared machine): {f['g_steps']} G steps, {f['epochs']:.2f} epochs. Evaluation "
              f"took {res['eval_cpu_minutes']:.1f} CPU minutes. Config: "
              "`configs/mnist-text2digit.yaml`; held out of training (no image, no caption): "
              f"{', '.join(f['held_out'])}.", ""]
    lines += ["What is trained: GAN-CLS with GAN-INT (Reed et al. 2016, arXiv:1605.05396). D "
              "sees real images with their own caption (real), real images with a caption that "
              "contradicts them (another digit, or the same digit with one attribute word "
              "changed: fake) and G's images with the caption they were made from (fake); G "
              "also learns from the midpoint of two captions' embeddings. The sentence encoder "
              "is a bag of words (mean of learned word vectors, a linear layer) trained with D "
              "by D's own loss: telling a caption from a contradicting one is a matching "
              "objective, so no pre-training stage or downloaded weights are needed, and the "
              "captions' grammar gives word order no meaning, so a recurrent encoder would buy "
              "nothing on a CPU. G and D are MLPs (the sentence embedding enters every G layer; "
              "D conditions by concatenation and a projection term).", ""]
    lines += ["## The digit of the sentence", "",
              "One caption per MNIST validation image (its digit and measured attributes, "
              "phrased as in training), one sample each; the share gankit's MNIST classifier "
              "reads as the caption's digit (± binomial s.e.). Held-out: the validation images "
              "with a held-out combination, their captions written with every attribute word "
              "(so each names its held-out word).", ""]
    lines += table(["captions", "n", "digit right (%)"],
                   [(k, dg[k]["n"], f"{dg[k]['pct']:.1f} ± {dg[k]['se']:.1f}")
                    for k in dg if k not in ("fd", "fd_protocol")])
    lines += ["", f"Goal ≥ {GOAL:.0f} % of seen-caption samples showing their digit: "
              f"**{'met' if check.met else 'not met'}** ({check.text}).", ""]
    p = dg["fd_protocol"]
    lines += [f"Classifier Fréchet distance of the seen-caption samples: "
              f"**{dg['fd']['fid']:.2f}** (n = {p.get('n')}, reference {p.get('reference_split')}"
              f", features {p.get('extractor')}).", ""]
    lines += ["## Do the samples follow the attribute words?", "",
              f"For each digit, {N_CONTRAST} noise vectors drawn twice, once per sentence "
              "(\"a thin three\" / \"a thick three\", ...); Cohen's d (pooled SD) of the measured "
              "attribute between the two sentences, and of real training images with the two "
              "attribute values (the size of the difference in the data). Hit: share of samples "
              "whose measured attribute has the value asked (relative to the real class median, "
              "the thresholds of gankit/data/captions.py). **Held-out** marks a combination "
              "no training caption said.", ""]
    for attr, _, low, high in CONTRASTS:
        rows = [r for r in res["contrasts"] if r["attribute"] == attr]
        lines += [f"### {attr}: \"{low}\" vs \"{high}\" ({MEASURE[attr]})", ""]
        lines += table(["digit", f"mean {low}", f"mean {high}", "d (samples)", "d (real)",
                        f"hit {low} (%)", f"hit {high} (%)", "digit right (%)"],
                       [(f"{r['digit']}" + (f" (**held-out: {', '.join(r['held_out'])}**)"
                                            if r["held_out"] else ""),
                         f"{r['mean_low']:.3g}", f"{r['mean_high']:.3g}", f"{r['d']:.2f}",
                         "" if r["d_real"] is None else f"{r['d_real']:.2f}",
                         f"{r['hit_low']:.0f}", f"{r['hit_high']:.0f}", f"{r['digit_pct']:.0f}")
                        for r in rows])
        ds = [r["d"] for r in rows]
        pos = sum(d > 0 for d in ds)
        lines += ["", f"Mean d over digits: {sum(ds) / len(ds):.2f}; the difference has the "
                  f"sentence's sign for {pos} of 10 digits.", ""]
    lines += ["## Pictures", "", "Rows: \"a thin zero\" ... \"a thin nine\", then \"a thick zero "
              "leaning right\" ... (8 noise vectors each):", "",
              "![sentences](text2image/sentences.png)", "",
              "From \"a thin three leaning left\" (held-out words) to \"a thick three leaning "
              "right\", the embedding moving in a straight line, one noise vector per row:", "",
              "![thin to thick](text2image/thin-to-thick.png)", "",
              "From \"a one\" to \"a seven\":", "", "![one to seven](text2image/one-to-seven.png)",
              ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "bench-text2image"))
    ap.add_argument("--cpu-minutes", type=float, default=10.0)
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    results = ROOT / "docs" / "results" / "text2image.json"
    if not args.render_only:
        torch.set_num_threads(1)
        facts = train(Path(args.run_dir), args.cpu_minutes)
        cpu = time.process_time()
        run = load_run(args.run_dir)
        classifier = load_mnist_classifier(verbose=False)
        held = C.parse_held_out(run.config.data.held_out)
        res = {"facts": facts, "digits": digit_scores(run, classifier, held),
               "contrasts": contrasts(run, classifier, held), "pictures": pictures(run),
               "date": now(), "machine": machine(1), "load": load_average()}
        res["eval_cpu_minutes"] = (time.process_time() - cpu) / 60
        results.write_text(json.dumps(res, indent=1))
    write_doc(DOC, render(json.loads(results.read_text())))


if __name__ == "__main__":
    main()
