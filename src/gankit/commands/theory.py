"""`gankit theory`: the paper's Proposition 1 and Theorem 1, checked on numbers you choose.

    gankit theory                          p_data = N(0, 1), p_g = N(1, 1.5^2)
    gankit theory --mean 0 --std 1         p_g = p_data: the global optimum, C(G) = -log 4
    gankit theory --json

Each line says PASS or FAIL, what was checked and the numbers; the status is 0 when all pass.
`gankit viz theory` draws the same densities, D* and C(G).
"""

from __future__ import annotations

import argparse
import dataclasses
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory",
        help="check the paper's Proposition 1 and Theorem 1 numerically",
        description="Check Goodfellow et al. (2014), section 4, on p_data = N(0, 1) and "
        "p_g = N(MEAN, STD^2) by integration on a 1-D grid: D* = p_data / (p_data + p_g) "
        "maximises V(D, G), and C(G) = -log 4 + 2 JSD(p_data || p_g) with its minimum -log 4 "
        "only at p_g = p_data.",
    )
    add_gaussian_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_gaussian_arguments(p: argparse.ArgumentParser) -> None:
    """p_g = N(MEAN, STD^2) and the integration grid: shared with `gankit viz theory`."""
    p.add_argument("--mean", type=float, default=1.0, help="mean of p_g (default 1)")
    p.add_argument("--std", type=float, default=1.5, help="standard deviation of p_g (1.5)")
    p.add_argument("--points", type=int,
                   help="grid points (default 20,001, or more for a narrow p_g)")


def run(args: argparse.Namespace) -> int:
    from gankit.theory import check_propositions, gaussian_grid

    x = gaussian_grid(args.mean, args.std, args.points)
    checks = check_propositions(args.mean, args.std, len(x))
    passed = sum(c.passed for c in checks)
    if args.json:
        print(json.dumps({"mean": args.mean, "std": args.std, "points": len(x),
                          "checks": [dataclasses.asdict(c) for c in checks],
                          "passed": passed == len(checks)}))
        return 0 if passed == len(checks) else 1
    print(f"Goodfellow et al. (2014), section 4, on p_data = N(0, 1) and "
          f"p_g = N({args.mean:g}, {args.std:g}^2), integrated on {len(x):,} points of "
          f"[{x[0]:g}, {x[-1]:g}] (logs natural, so nats):")
    for c in checks:
        print(f"  {'PASS' if c.passed else 'FAIL'}  {c.name}: {c.claim}")
        print(f"        {c.numbers}")
    print(f"{passed} of {len(checks)} checks passed")
    return 0 if passed == len(checks) else 1
