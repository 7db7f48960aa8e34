"""Issue 18's goals for the 2-D recipes and their checks, used by toy2d_recipes.py (its doc and
toy2d.md's recipes section)."""

from __future__ import annotations

from toy2d_report import mean_se

# The goals. Every loss: all 8 ring modes / >= 23 grid modes on 5 of 5 seeds.
EVERY_LOSS = {"ring": 8, "grid": 23}
GOAL_SEEDS = 5
# PacGAN's level: grid all 25 modes on >= 9 of 10 seeds, HQ >= 90 %, KL <= 0.05; ring all 8
# modes on every seed, HQ >= 97 %; each <= 10 CPU minutes per seed.
PACGAN = {"grid": dict(k=25, seeds=10, need=9, hq=90.0, kl=0.05),
          "ring": dict(k=8, seeds=10, need=10, hq=97.0, kl=None)}
CPU_LIMIT_S = 600



def summary(rows: list[dict]) -> dict:
    return {"n": len(rows), "modes": mean_se([r["modes"] for r in rows]),
            "min_modes": min(r["modes"] for r in rows),
            "hq": mean_se([r["high_quality"] for r in rows]),
            "kl": mean_se([r["reverse_kl"] for r in rows]),
            "cpu_s": max(r["cpu_s"] for r in rows), "g_steps": rows[0].get("g_steps")}


def every_loss_check(dataset: str, rows: list[dict]) -> str:
    need = EVERY_LOSS[dataset]
    ok = sum(r["modes"] >= need for r in rows)
    if ok < len(rows):
        return f"not met ({ok} of {len(rows)} seeds)"
    if len(rows) < GOAL_SEEDS:
        return f"not run at the goal's seeds ({ok} of {len(rows)} run pass; goal 5 of 5)"
    return f"met ({ok} of {len(rows)})"


def pacgan_check(dataset: str, rows: list[dict]) -> str:
    g, s = PACGAN[dataset], summary(rows)
    all_modes = sum(r["modes"] == g["k"] for r in rows)
    parts = [("all modes", all_modes >= g["need"] * len(rows) / g["seeds"],
              f"{all_modes}/{len(rows)}"),
             # a mean counts only with a margin of 2 standard errors (the goal-check rule)
             (f"HQ ≥ {g['hq']:g} % by 2 s.e.", s["hq"][0] - 2 * s["hq"][1] >= g["hq"],
              f"{s['hq'][0]:.1f} ± {s['hq'][1]:.1f}"),
             ("≤ 10 CPU min per seed", s["cpu_s"] <= CPU_LIMIT_S, f"{s['cpu_s'] / 60:.1f}")]
    if g["kl"] is not None:
        parts.append((f"reverse KL ≤ {g['kl']:g} by 2 s.e.",
                      s["kl"][0] + 2 * s["kl"][1] <= g["kl"],
                      f"{s['kl'][0]:.3f} ± {s['kl'][1]:.3f}"))
    met = all(ok for _, ok, _ in parts) and len(rows) >= g["seeds"]
    cells = "; ".join(f"{name}: {val} ({'yes' if ok else 'no'})" for name, ok, val in parts)
    seeds = "" if len(rows) >= g["seeds"] else f", {len(rows)} of the goal's {g['seeds']} seeds"
    return f"{'met' if met else 'not met'}{seeds} — {cells}"


def drs_rows(rows: list[dict]) -> list[dict]:
    """Rows scored on the DRS samples; the CPU time adds the refit and sampling to training."""
    return [{**r, **r["drs"], "cpu_s": r["cpu_s"] + r["drs"]["cpu_s"]} for r in rows]


def drs_label(rows: list[dict]) -> str:
    refit = {r["drs"]["refit_steps"] for r in rows}
    if len(refit) != 1:
        raise SystemExit(f"DRS rows with different refits {sorted(refit)}: rescore them alike")
    acceptance = mean_se([100 * r["drs"]["acceptance"] for r in rows])
    return (f"sampled with DRS (`gankit sample --drs --drs-refit {refit.pop()}`; "
            f"{acceptance[0]:.0f} ± {acceptance[1]:.0f} % of G's draws kept)")
