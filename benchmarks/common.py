"""What every benchmark document shares: the machine it ran on, the header block it starts
with, markdown tables, and the goal check against the strongest comparable row.

The scripts in benchmarks/ import this as `common` (running `python benchmarks/X.py` puts this
folder on sys.path). Documents are rendered from saved results, so everything that describes a
run (its date, its machine) is measured when the results are made and saved with them.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

# --- recipe configs --------------------------------------------------------------------------


def config_differences(config: str | Path, base: str | Path, overrides: Sequence[str],
                       ignore: Sequence[str] = ()) -> list[str]:
    """How the shipped `config` differs from `base` with `overrides` (the probe that measured
    it), as 'key: probe -> shipped' lines; none means they are one config. Its name and the
    dotted keys in `ignore` (a budget the script sets itself, say) are not compared."""
    from gankit.config import config_diff, config_to_dict, load_config

    shipped, probe = (config_to_dict(load_config(config)),
                      config_to_dict(load_config(base, list(overrides))))
    for key in ("name", *ignore):
        *path, leaf = key.split(".")
        for d in (shipped, probe):
            for part in path:
                d = d[part]
            d.pop(leaf, None)
    return config_diff(probe, shipped)


# --- the machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name and the vector instructions PyTorch's kernels use on it, e.g.
    "AMD EPYC (AVX2)": cloud CPUs may report only a family name, and one name has covered CPUs
    twice as fast as each other."""
    from gankit.bench.speed import machine_info

    m = machine_info()
    return f"{m['cpu']} ({m['cpu_capability']})"


def machine(threads: int | None = None, per: str = "") -> str:
    """CPU model, cores, OS, torch version and torch threads: what a timing depends on.

    `threads` defaults to this process's torch threads; `per` qualifies them (" per run") when
    the work ran in other processes.
    """
    threads = torch.get_num_threads() if threads is None else threads
    return (f"{cpu_model()}, {os.cpu_count()} CPU cores, {platform.platform()}, torch "
            f"{torch.__version__} with {threads} thread(s){per}")


EARLIER_MACHINES = " — earlier rows also ran on: "


def machines(old: str | None, new: str) -> str:
    """The machine line of a doc whose rows accumulate over runs: `new`, followed by each other
    CPU model that `old` (the line saved before) names, so rows measured on another CPU are not
    credited to this one."""
    if not old:
        return new
    last, _, before = old.partition(EARLIER_MACHINES)
    cpu = new.split(",", 1)[0]
    others: dict[str, str] = {}
    for m in [last, *before.split(" | ")]:
        model = m.split(",", 1)[0]
        if m and model != cpu:
            others.setdefault(model, m.split(";", 1)[0])
    return new + (EARLIER_MACHINES + " | ".join(others.values()) if others else "")


def load_average(note: str = "") -> str:
    """'2.0 / 2.2 / 2.3 (1, 5, 15 min)': on a shared machine, how busy the cores were (a load
    well above the threads used means other jobs slowed the run down)."""
    if not hasattr(os, "getloadavg"):
        return "not available on this system"
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} (1, 5, 15 min{'; ' + note if note else ''})"


def write_doc(path: str | Path, text: str) -> Path:
    """Write a generated doc, creating its folder, and say where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}", flush=True)
    return path


def now() -> str:
    """The Date of a document: when its results were made, to the second."""
    return datetime.datetime.now().isoformat(timespec="seconds")


# --- the header block --------------------------------------------------------------------------

# How the header's fields are laid out. Each existing doc keeps the layout it was published with,
# so that re-rendering it from its saved results changes no byte: plain lines, lines ending in
# two spaces (markdown line breaks), or a bulleted list.
STYLES = ("lines", "breaks", "bullets")


def command_field(command: str | Sequence[str]) -> str:
    """'Command: `...`', or 'Commands: `a`, then `b`' for a result built by several runs."""
    commands = [command] if isinstance(command, str) else list(command)
    label = "Commands" if len(commands) > 1 else "Command"
    return f"{label}: `" + "`, then `".join(commands) + "`"


def header(title: str, command: str | Sequence[str], date: str, machine: str,
           more: Sequence[str] = (), *, rendered_by: str | None = None, intro: str = "",
           style: str = "lines") -> list[str]:
    """The block every generated doc starts with: its title, then Command, Date and Machine
    (and the doc's own `more` lines), laid out in `style` (see STYLES). `rendered_by` names the
    command that re-rendered the doc from saved results, right after the command that made them.
    Returns the lines, without a trailing blank line."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    fields = [command_field(command)]
    if rendered_by:
        fields.append(f"Doc re-rendered from the saved results by `{rendered_by}`")
    fields += [f"Date: {date}", f"Machine: {machine}", *more]
    if style == "bullets":
        fields = [f"- {f}" for f in fields]
    elif style == "breaks":
        fields = [f + "  " for f in fields[:-1]] + fields[-1:]
    return [f"# {title}", "", *([intro, ""] if intro else []), *fields]


# --- tables ------------------------------------------------------------------------------------


def table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A markdown table: the header row, the separator, one line per row. Cells are written
    as str(cell); an empty cell is a single space ('| a | | b |')."""
    def line(cells: Sequence[object]) -> str:
        return "|" + "|".join(f" {c} " if str(c) else " " for c in cells) + "|"

    return [line(columns), "|" + "---|" * len(columns), *(line(r) for r in rows)]


# --- the goal check ----------------------------------------------------------------------------

MARGIN_SE = 2.0  # a goal is met only when the lead exceeds this many standard errors


@dataclass(frozen=True)
class Row:
    """A result to compare with: a published number or a measured one, with its standard error
    (0 when none was given)."""

    name: str
    value: float
    se: float = 0.0


@dataclass(frozen=True)
class GoalCheck:
    met: bool
    value: float
    se: float
    best: Row  # the strongest comparable row
    lead: float  # how far the value is ahead of it (negative: behind), in the better direction
    margin: float  # the lead needed: MARGIN_SE standard errors of the difference
    digits: int = 1

    @property
    def text(self) -> str:
        d, b = self.digits, self.best
        return (f"{'met' if self.met else 'not met'}: {self.value:.{d}f} ± {self.se:.{d}f} "
                f"against the strongest comparable row, {b.name} {b.value:.{d}f} ± {b.se:.{d}f}; "
                f"lead {self.lead:+.{d}f}, needed more than {self.margin:.{d}f} "
                f"({MARGIN_SE:g} standard errors of the difference)")


def strongest(rows: Sequence[Row], higher_is_better: bool = True) -> Row:
    """The row with the best value (the first of equals)."""
    if not rows:
        raise ValueError("no rows to compare with")
    pick = max if higher_is_better else min
    return pick(rows, key=lambda r: r.value)


def goal_check(value: float, se: float, rows: Sequence[Row], higher_is_better: bool = True,
               digits: int = 1) -> GoalCheck:
    """Did `value` (± `se`) beat the strongest of `rows`? Only when its lead exceeds two
    standard errors of the difference, sqrt(se² + row.se²): a lead within that could be noise
    of the evaluation, and a goal is not claimed on noise."""
    best = strongest(rows, higher_is_better)
    lead = value - best.value if higher_is_better else best.value - value
    margin = MARGIN_SE * math.hypot(se, best.se)
    return GoalCheck(lead > margin, value, se, best, lead, margin, digits)
