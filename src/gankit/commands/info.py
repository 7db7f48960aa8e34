"""`gankit info`: a run's progress, last logged values, last evaluation and config.

Both forms print `gankit.train.run.run_summary`, which the HTML report's header renders too;
the run's files are read, its networks are not built.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

# The logged values worth a line; the rest (gradient norms, learning rates...) are in --json.
SHOWN = ("d_loss", "g_loss", "d_x", "d_gz", "images_per_s")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show a run's config and progress")
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as the lines `gankit info` prints without --json."""
    import yaml

    from gankit.config import config_as_read
    from gankit.train.run import progress_text, warnings_text

    lines = [f"run: {summary['run']}", f"progress: {progress_text(summary['status'])}",
             f"warnings: {warnings_text(summary['warnings'])}"]
    last, last_eval = summary["last_metrics"], summary["last_eval"]
    if last:
        shown = ", ".join(
            f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float) and k in SHOWN
        )
        lines.append(f"last log (step {last.get('step')}): {shown}")
    if last_eval:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last_eval["eval"].items())
        lines.append(
            f"last evaluation (epoch {last_eval['epoch']}, step {last_eval['step']}): {shown}"
        )
    lines.append("config (the keys the network kinds read; --json has every key):")
    # The YAML of config_to_yaml, from the summary's plain dict, without ignored network keys.
    config = yaml.safe_dump(config_as_read(summary["config"]), sort_keys=False)
    lines += [f"  {line}" for line in config.splitlines()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from gankit.train.run import run_summary

    summary = run_summary(args.run)
    print(json.dumps(summary) if args.json else summary_text(summary))
    return 0
