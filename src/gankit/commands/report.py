"""`gankit report`: one self-contained HTML page about a run (config, curves, samples, metrics)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a run",
        description="Write one HTML file with the run's config, training curves, sample grids "
        "over time, metrics from the last `gankit eval` (with their protocol) and training "
        "health warnings. Everything is inline, so the file can be sent on its own.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--out", help="output file (default: RUN/report.html)")


def run(args: argparse.Namespace) -> int:
    from gankit.report import write_report

    path = write_report(args.run, args.out)
    print(f"wrote {path}")
    return 0
