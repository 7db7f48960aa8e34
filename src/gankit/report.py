"""A self-contained HTML report of one run folder: `gankit report RUN [--out FILE]`.

One file with everything inline (no network, no external files), so it can be mailed or
attached: the config, training curves (matplotlib PNGs as base64), the sample grids the run
wrote over time (samples/*.png), the metrics of the last `gankit eval` with their protocol
(RUN/eval.json) and the training-health warnings logged in metrics.jsonl.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import yaml

from gankit.config import config_as_read, config_to_dict
from gankit.errors import GankitError
from gankit.train import run as runs

EVAL_FILE = "eval.json"
REPORT_FILE = "report.html"
MAX_GRIDS = 12  # sample grids shown; long runs are thinned evenly (the last is always kept)

# (title, [(record key, legend)], log scale) for each training-curve panel.
PANELS = (
    ("Losses", [("d_loss", "D loss"), ("g_loss", "G loss")], False),
    ("Discriminator outputs", [("d_x", "D(x), real"), ("d_gz", "D(G(z)), generated")], False),
    ("Gradient norms", [("d_grad_norm", "D"), ("g_grad_norm", "G")], True),
    ("Learning rates", [("lr_d", "D"), ("lr_g", "G")], True),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.meta { color: #555; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }
th { background: #f0f0f0; }
.grids { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
figure img { max-width: 320px; image-rendering: pixelated; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; text-align: center; }
.curves img { max-width: 100%; }
.warn { background: #fff4e5; }
.warnline { background: #fff4e5; border-left: 4px solid #d9534f; padding: 4px 8px; }
.none { color: #777; font-style: italic; }
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, list) and len(value) > 12:
        return f"[{', '.join(map(str, value[:12]))}, ... ({len(value)} values)]"
    return str(value)


def curves_png(records: list[dict[str, Any]], title: str = "") -> bytes | None:
    """Training curves from metrics.jsonl records as one PNG; None when there are no records.

    Records that carry health warnings are marked with a red dashed line on every panel.
    """
    records = [r for r in records if "step" in r]
    if not records:
        return None
    from matplotlib.figure import Figure

    steps = [r["step"] for r in records]
    warned = [r["step"] for r in records if r.get("warnings")]
    fig = Figure(figsize=(11, 6.5), dpi=90)
    axes = fig.subplots(2, 2).ravel()
    for ax, (panel, series, log) in zip(axes, PANELS, strict=True):
        drawn = False
        for key, legend in series:
            points = [
                (s, r[key])
                for s, r in zip(steps, records, strict=True)
                if isinstance(r.get(key), int | float) and math.isfinite(r[key])
            ]
            if log:
                points = [(s, v) for s, v in points if v > 0]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, label=legend, marker="." if len(xs) < 30 else None)
                drawn = True
        for s in warned:
            ax.axvline(s, color="red", linestyle="--", linewidth=0.8, alpha=0.6)
        if log and drawn:
            ax.set_yscale("log")
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("generator step", fontsize=8)
        ax.tick_params(labelsize=8)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def sample_grids(run_dir: Path, limit: int = MAX_GRIDS) -> list[Path]:
    """The run's samples/*.png in training order (epochs, then final), thinned to `limit`."""
    files = sorted(
        (Path(run_dir) / "samples").glob("*.png"), key=lambda p: (p.stem == "final", p.stem)
    )
    if len(files) <= limit:
        return files
    # Evenly spaced, always keeping the first and the last.
    picks = {round(i * (len(files) - 1) / (limit - 1)) for i in range(limit)}
    return [f for i, f in enumerate(files) if i in picks]


def read_eval(run_dir: Path) -> dict[str, Any] | None:
    """RUN/eval.json as written by `gankit eval` ({"metrics": ..., "protocol": ...}), or None."""
    file = Path(run_dir) / EVAL_FILE
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise GankitError(f"{file} is not valid JSON ({exc.msg}); run gankit eval again") from None
    if not isinstance(data, dict):
        raise GankitError(f"{file} should hold an object with metrics and protocol")
    return data


def _table(rows: list[tuple[Any, Any]], head: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(_format_value(v))}</td></tr>" for k, v in rows)
    return f"<table><tr><th>{_esc(head[0])}</th><th>{_esc(head[1])}</th></tr>{body}</table>"


def _section_metrics(evaluation: dict[str, Any] | None, run_dir: Path) -> str:
    if evaluation is None:
        return (
            f'<p class="none">No evaluation yet: run <code>gankit eval {_esc(run_dir)}</code>'
            " to add metrics (they are read from eval.json).</p>"
        )
    metrics = evaluation.get("metrics") or {}
    protocol = evaluation.get("protocol") or {}
    parts = ["<h3>Values (from eval.json)</h3>", _table(list(metrics.items()), ("metric", "value"))]
    parts += [
        "<h3>Protocol: how they were measured</h3>",
        _table(list(protocol.items()), ("setting", "value")),
    ]
    return "\n".join(parts)


def _section_training_evals(records: list[dict[str, Any]]) -> str:
    evals = [r for r in records if isinstance(r.get("eval"), dict)]
    if not evals:
        return ('<p class="none">None: set <code>train.eval_every</code> to score the generator '
                "during training.</p>")
    names = list(dict.fromkeys(k for r in evals for k in r["eval"]))
    head = "".join(f"<th>{_esc(n)}</th>" for n in ("epoch", "step", *names))
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in
                         (r.get("epoch"), r.get("step"), *(r["eval"].get(n) for n in names)))
        + "</tr>"
        for r in evals
    )
    protocol = ", ".join(f"{k}={v}" for k, v in (evals[-1].get("eval_protocol") or {}).items())
    return f"<table><tr>{head}</tr>{body}</table><p>Protocol: {_esc(protocol)}</p>"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _section_warnings(records: list[dict[str, Any]]) -> str:
    rows = [(r.get("step"), r.get("epoch"), w) for r in records for w in r.get("warnings") or []]
    if not rows:
        return '<p class="none">No health warnings were logged.</p>'
    body = "".join(
        f'<tr class="warn"><td>{_esc(s)}</td><td>{_esc(e)}</td><td>{_esc(w)}</td></tr>'
        for s, e, w in rows
    )
    return (
        f"<p>{len(rows)} warning(s); red dashed lines mark them on the curves.</p>"
        f"<table><tr><th>step</th><th>epoch</th><th>warning</th></tr>{body}</table>"
    )


def _section_last_record(records: list[dict[str, Any]]) -> str:
    records = [r for r in records if "eval" not in r]
    if not records:
        return '<p class="none">metrics.jsonl is empty: nothing was logged yet.</p>'
    last = {k: v for k, v in records[-1].items() if k != "warnings"}
    return _table(list(last.items()), ("last logged value", ""))


def _header(summary: dict[str, Any]) -> str:
    """Title and progress line, from the same summary `gankit info` prints."""
    made = datetime.datetime.now().isoformat(timespec="seconds")
    progress = runs.progress_text(summary["status"])
    warned = summary["warnings"]
    css = "warnline" if warned else "meta"
    return (
        f"<h1>gankit run report: {_esc(summary['config']['name'])}</h1>\n"
        f'<p class="meta">{_esc(summary["run"])} &middot; {_esc(progress)} &middot; '
        f"report made {_esc(made)}</p>\n"
        f'<p class="{css}">Health: {_esc(runs.warnings_text(warned))}</p>'
    )


def build_report(run_dir: str | Path) -> str:
    """The report of `run_dir` as one HTML string (images inline as base64 data URIs)."""
    run_dir = Path(run_dir)
    summary = runs.run_summary(run_dir)  # raises a clear GankitError for a non-run folder
    cfg = runs.read_config(run_dir)
    config_text = yaml.safe_dump(config_as_read(config_to_dict(cfg)), sort_keys=False)
    records = runs.read_metrics(run_dir)
    evaluation = read_eval(run_dir)

    curves = curves_png(records, title=f"{cfg.name}: {cfg.loss}")
    curves_html = (
        f'<div class="curves"><img alt="training curves" src="{_png_data_uri(curves)}"></div>'
        if curves
        else '<p class="none">No training curves: nothing logged yet.</p>'
    )
    grids = sample_grids(run_dir)
    if grids:
        figures = "".join(
            f'<figure><img alt="samples {_esc(p.stem)}" src="{_png_data_uri(p.read_bytes())}">'
            f"<figcaption>{_esc(p.stem)}</figcaption></figure>"
            for p in grids
        )
        total = len(list((run_dir / "samples").glob("*.png")))
        note = f" ({len(grids)} of {total} shown)" if total > len(grids) else ""
        grids_html = (
            f"<p>Fixed noise, so the same cells can be compared over time{note}.</p>"
            f'<div class="grids">{figures}</div>'
        )
    else:
        grids_html = '<p class="none">No sample grids yet (they are written at each epoch end).</p>'

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gankit report: {_esc(cfg.name)}</title>
<style>{STYLE}</style>
</head>
<body>
{_header(summary)}
<h2>Metrics</h2>
{_section_metrics(evaluation, run_dir)}
<h3>During training</h3>
{_section_training_evals(records)}
<h2>Health warnings</h2>
{_section_warnings(records)}
<h2>Training curves</h2>
{curves_html}
<h2>Samples over time</h2>
{grids_html}
<h2>Last log record</h2>
{_section_last_record(records)}
<h2>Config</h2>
<p class="meta">The keys the network kinds read (config.yaml in the run folder has every key).</p>
<pre>{_esc(config_text)}</pre>
</body>
</html>
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report (default RUN/report.html) and return its path."""
    run_dir = Path(run_dir)
    text = build_report(run_dir)
    path = Path(out) if out else run_dir / REPORT_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GankitError(
            f"cannot write the report to {path} ({exc.strerror}); pass --out FILE"
        ) from None
    return path
