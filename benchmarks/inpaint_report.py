"""docs/results/inpaint.md from the saved results of benchmarks/inpaint.py (its inpaint.json).

Every sentence with a number, and every comparison word, is computed here from those results.
"""

from __future__ import annotations

from typing import Any

from common import MARGIN_SE, header, table

NAMES = {"gan": "GAN", "l2": "L2"}


def pm(value: list[float], digits: int = 3, scale: float = 1.0) -> str:
    return f"{value[0] * scale:.{digits}f} ± {value[1] * scale:.{digits}f}"


def compare(a: list[float], b: list[float], higher_is_better: bool) -> int:
    """+1 when a beats b by more than MARGIN_SE standard errors of the difference, -1 when b
    beats a, 0 otherwise."""
    lead = (a[0] - b[0]) if higher_is_better else (b[0] - a[0])
    margin = MARGIN_SE * (a[1] ** 2 + b[1] ** 2) ** 0.5
    return 1 if lead > margin else -1 if lead < -margin else 0


def tally(res: dict, masks: list[str], metric: str, higher_is_better: bool) -> tuple[int, ...]:
    """(masks where the GAN is better, where L2 is better, ties) on one metric."""
    c = [compare(res["gan"][m][metric], res["l2"][m][metric], higher_is_better) for m in masks]
    return c.count(1), c.count(-1), c.count(0)


def findings(saved: dict) -> list[str]:
    res, masks, ref = saved["results"], saved["masks"], saved["reference"]
    n = len(masks)
    out = []
    div = {k: [res[k][m]["diversity"][0] for m in masks] for k in NAMES}
    out.append(
        f"- Diversity: the GAN's {saved['k']} completions of one input are "
        f"{min(div['gan']):.2f} to {max(div['gan']):.2f} apart on average (L2 distance over the "
        f"image) across the {n} mask kinds; the L2 net's are {max(div['l2']):.2f} apart at most "
        "(it has no noise: one completion per input)."
    )
    better, worse, tied = tally(res, masks, "grey", higher_is_better=False)
    gan_grey = [res["gan"][m]["grey"][0] * 100 for m in masks]
    l2_grey = [res["l2"][m]["grey"][0] * 100 for m in masks]
    real_grey = [ref[m]["grey"][0] * 100 for m in masks]
    verdict = ("fewer grey (blurred) hidden pixels than the L2 net's on every mask kind"
               if better == n else
               f"fewer grey hidden pixels than the L2 net's on {better} of {n} mask kinds, more "
               f"on {worse}, no clear difference on {tied}")
    out.append(
        f"- Sharpness: the GAN's completions have {verdict} ({min(gan_grey):.1f}-"
        f"{max(gan_grey):.1f} % against {min(l2_grey):.1f}-{max(l2_grey):.1f} %; the originals' "
        f"hidden pixels: {min(real_grey):.1f}-{max(real_grey):.1f} %)."
    )
    better, worse, tied = tally(res, masks, "class_kept", higher_is_better=True)
    out.append(
        f"- Class kept: the GAN keeps the original's class more often on {better} of {n} mask "
        f"kinds, the L2 net on {worse}, no clear difference on {tied} (a difference counts when "
        f"it exceeds {MARGIN_SE:g} standard errors)."
    )
    better, worse, tied = tally(res, masks, "mse", higher_is_better=False)
    out.append(
        f"- Squared error to the original's hidden pixels (what the L2 net is trained for): lower "
        f"for the GAN on {better} of {n} mask kinds, for the L2 net on {worse}, tied on {tied}. "
        "A sampler is not meant to win this: a varied completion is far from the original even "
        "when it is a plausible digit."
    )
    out.append(verdict_text(saved))
    return out


VARIED = 1.0  # diversity at which completions count as varied: one pixel's full swing


def verdict_text(saved: dict) -> str:
    """Whether the issue's expected story (GAN sharp and varied, L2 blurry and single) held."""
    res, masks, ref = saved["results"], saved["masks"], saved["reference"]
    n = len(masks)
    sharp = tally(res, masks, "grey", higher_is_better=False)[0] == n
    varied = min(res["gan"][m]["diversity"][0] for m in masks) >= VARIED
    kept = tally(res, masks, "class_kept", higher_is_better=True)
    below = sum(compare(res["gan"][m]["class_kept"], ref[m]["masked"], True) == -1 for m in masks)
    shown = sharp and varied and kept[1] == 0
    parts = [f"sharper: {'yes' if sharp else 'no'}",
             f"varied (diversity >= {VARIED:g} on every mask kind): {'yes' if varied else 'no'}",
             f"class kept at least as often as by the L2 net: "
             f"{'yes' if kept[1] == 0 else f'no, less often on {kept[1]} of {n} mask kinds'}"]
    text = (f"- The expected story, GAN completions sharp and varied and L2 completions blurry "
            f"and single, is {'shown' if shown else 'not shown'} under this budget ("
            + "; ".join(parts) + ").")
    if below:
        text += (f" On {below} of {n} mask kinds the GAN's completions keep the class less often "
                 "than the masked input left uncompleted: the classifier finds the completed digits "
                 "harder to read than digits with a black hole.")
    if not varied:
        text += (" A diversity this small means G ignores z: every completion of an input is "
                 "nearly the same image.")
    return text


def recipe_text(recipe: dict) -> str:
    """The GAN's extra generator terms (inpaint section of the config), in words."""
    terms = []
    if recipe.get("mode_seeking"):
        terms.append(f"the mode-seeking term of Mao et al. 2019 (weight {recipe['mode_seeking']:g}"
                     ": two completions of one input with z1 and z2 are rewarded by 1 / (mean "
                     "|G(z1) - G(z2)| over the hidden pixels / mean |z1 - z2| + 1e-5))")
    if recipe.get("reconstruction"):
        terms.append(f"an L1 term on the hidden pixels (weight {recipe['reconstruction']:g}, as "
                     "pix2pix's L1 + adversarial)")
    text = ("The GAN's G is trained by the adversarial loss"
            + (" plus " + " and ".join(terms) if terms else " alone") + ".")
    if recipe.get("z_every_layer"):
        text += " z enters G at the bottleneck and, as constant maps, at every decoder layer."
    else:
        text += " z enters G once, at the bottleneck."
    return text


def training_text(saved: dict) -> list[str]:
    """The GAN's training as its log tells it: health warnings and D(G(z)) over the steps."""
    log = saved.get("training_log", {}).get("gan")
    if not log:
        return []
    out = ["", "## Training", ""]
    d_gz = log["d_gz"]
    if d_gz:
        low_step, low = min(d_gz, key=lambda r: r[1])
        out.append(f"The GAN's D(G(z)) (mean D output on completions, per {len(d_gz)} logged "
                   f"records): {d_gz[0][1]:.3f} at step {d_gz[0][0]}, lowest {low:.4f} at step "
                   f"{low_step}, {d_gz[-1][1]:.3f} at the last record (step {d_gz[-1][0]}).")
    for step, text in log["warnings"]:
        out += ["", f"Health monitor, step {step}: {text}"]
    return out


def render_doc(saved: dict[str, Any]) -> str:
    facts, res, ref, masks = saved["facts"], saved["results"], saved["reference"], saved["masks"]
    train_cpu = sum(f["cpu_minutes"] for f in facts.values())
    budget = (
        "Budget: each model trains until its process has used "
        f"{facts['gan']['budget_cpu_minutes']:g} CPU minutes (one torch thread): "
        + "; ".join(f"{NAMES[k]} {f['g_steps']} generator steps ({f['epochs']:.2f} epochs, "
                    f"{f['cpu_minutes']:.1f} CPU min, {f['wall_minutes']:.1f} wall min)"
                    for k, f in facts.items())
        + f". Evaluation {saved['eval_cpu_minutes']:.1f} CPU minutes; in all "
        f"{train_cpu + saved['eval_cpu_minutes']:.1f} CPU minutes."
    )
    lines = header("Inpainting MNIST: GAN against L2 completion", saved["command"], saved["date"],
                   saved["machine"], [budget])
    lines += [
        "",
        "One generator completes any masked part of a digit (objective inpaint, "
        "configs/mnist-inpaint.yaml): it sees z, the visible pixels and the mask, generates the "
        "hidden pixels, and D judges (completed image, mask) pairs. "
        + recipe_text(saved.get("recipe", {})) + " The baseline is the same G "
        "with `inpaint.adversarial=false`: z fixed at 0, no D, trained by the mean squared error "
        "of the hidden pixels, under the same CPU budget. Each model completes the first "
        f"{saved['n']} MNIST test digits, one fixed mask of each kind per digit (the same masks "
        f"for both), {saved['k']} times with different z. Values are means over the digits ± "
        "one standard error.",
        "",
        "## What the numbers show",
        "",
        *findings(saved),
        "",
        "## Class kept",
        "",
        "Share of completions that gankit's MNIST classifier (metrics/classifier.py) gives the "
        "original digit's class. `original`: the classifier on the unmasked digits; `masked`: on "
        "the masked inputs with the hidden pixels left black (no completion).",
        "",
    ]
    lines += table(
        ["mask", "hidden share", "GAN", "L2", "original", "masked"],
        [[m, f"{res['gan'][m]['share_hidden']:.3f}", pm(res["gan"][m]["class_kept"]),
          pm(res["l2"][m]["class_kept"]), pm(ref[m]["original"]), pm(ref[m]["masked"])]
         for m in masks],
    )
    grey = saved["grey"]
    lines += [
        "",
        "## Diversity, error and sharpness",
        "",
        f"Diversity: mean pairwise L2 distance between the {saved['k']} completions of one "
        "digit (pixels in [0, 1], 784 of them). MSE: mean squared error of the hidden pixels to "
        f"the original. Grey: share of hidden pixels in ({grey[0]}, {grey[1]}), in % (MNIST's "
        "strokes are nearly binary; blur makes grey pixels); `real` is the originals' share.",
        "",
    ]
    lines += table(
        ["mask", "GAN diversity", "L2 diversity", "GAN MSE", "L2 MSE", "GAN grey %",
         "L2 grey %", "real grey %"],
        [[m, pm(res["gan"][m]["diversity"], 2), pm(res["l2"][m]["diversity"], 2),
          pm(res["gan"][m]["mse"], 4), pm(res["l2"][m]["mse"], 4),
          pm(res["gan"][m]["grey"], 1, 100), pm(res["l2"][m]["grey"], 1, 100),
          pm(ref[m]["grey"], 1, 100)] for m in masks],
    )
    lines += training_text(saved)
    untried = ["longer training", "a discriminator without batch norm or with spectral norm "
               "(`--set discriminator.batch_norm=false --set discriminator.spectral_norm=true`)",
               "a lower D learning rate"]
    if not saved.get("recipe", {}).get("mode_seeking"):
        untried.append("a term that rewards completions for differing with z (mode seeking, "
                       "Mao et al. 2019: `--set inpaint.mode_seeking=1`)")
    lines += ["", "Not tried within this budget (suggestions, not results): "
              + ", ".join(untried[:-1]) + " and " + untried[-1] + ". The short probes that chose "
              "the GAN's recipe are listed in the comment of configs/mnist-inpaint.yaml."]
    lines += ["", "## Pictures", "",
              "Each row: the masked test digit (hidden pixels grey), 6 completions from different "
              "z, the original (`gankit viz inpaint RUN --mask KIND`).", ""]
    for name in saved["pictures"]:
        model, kind = name.split("/")[1].removesuffix(".png").split("-")
        lines += [f"{NAMES[model]}, mask {kind}:", "", f"![{model} {kind}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"
