"""Render what benchmarks/gpu.sh collected into docs/results/gpu.md.

    python benchmarks/gpu_report.py --work SCRATCH --out docs/results/gpu.md --command "..."

SCRATCH holds bench.jsonl (one `gankit bench speed --json` object per line, or
{"failed": true, ...} for a bench that failed or ran out of time), train.json (the short DCGAN
run) and ddp.json (the two-GPU run, or why it was skipped). Kept apart from the shell script so
that it can be tested on a CPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any


def _variant(r: dict[str, Any]) -> str:
    shown = [o for o in r.get("overrides", []) if not o.startswith(("train.device", "data.dir"))]
    text = r["overrides"] if isinstance(r.get("overrides"), str) else ", ".join(shown)
    return text or "as shipped"


def _bench_rows(benches: list[dict[str, Any]]) -> list[str]:
    rows = ["| config | variant | images/s | ms/iteration | GFLOP/s | of fp32 peak | "
            "of GEMM limit | x reference |", "|" + "---|" * 8]
    for r in benches:
        if r.get("skipped"):
            rows.append(f"| {r['config']} | {_variant(r)} | skipped: the script's time budget "
                        "was spent | | | | | |")
            continue
        if r.get("failed"):
            rows.append(f"| {r['config']} | {_variant(r)} | failed or timed out | | | | | |")
            continue
        rows.append(
            f"| {r['config']} | {_variant(r)} | {r['images_per_s']:,.0f} | "
            f"{r['iteration_s'] * 1e3:.2f} | {r['gflops_per_s']:,.0f} | {r['peak_ratio']:.0%} | "
            f"{r['gemm_limit_ratio']:.0%} | {r['speedup_vs_reference']:.2f}x |")
    return rows


def _run_line(name: str, facts: dict[str, Any]) -> str:
    if facts.get("status") == "skipped":
        return f"- {name}: skipped ({facts.get('reason', '')})"
    line = f"- {name}: {facts.get('status')} in {facts.get('wall_s')} s"
    if facts.get("limit_s"):
        line += f" (limit {facts['limit_s']} s)"
    run = facts.get("run")
    if run and Path(run, "metrics.jsonl").exists():
        from gankit.train.run import run_summary

        last = run_summary(run)["last_metrics"]
        if last.get("images_per_s"):
            line += f", {last['images_per_s']:,.0f} images/s at step {last.get('step')}"
    return line


def render(work: Path, command: str, seconds: float, device: str = "cuda") -> str:
    benches = [json.loads(line) for line in (work / "bench.jsonl").read_text().splitlines()
               if line.strip()]
    measured = [r for r in benches if not r.get("failed")]
    first = measured[0] if measured else {}
    machine = first.get("machine", {})
    train = json.loads((work / "train.json").read_text())
    ddp = json.loads((work / "ddp.json").read_text())
    dry = ([f"**A dry run on the {device}** (`--device {device}`): it checks that the script "
            "runs; no number here measures a GPU.", ""] if device != "cuda" else [])
    return "\n".join([
        "# gankit on a GPU",
        "",
        *dry,
        f"Command: `{command.strip()}`  ",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}, {seconds / 60:.1f} "
        "minutes  ",
        f"Machine: {machine.get('gpu', '?')}; {machine.get('cpu', '?')}, "
        f"{machine.get('cpu_count', '?')} CPU cores; torch {first.get('torch', '?')}",
        "",
        "`gankit bench speed --set train.device=cuda` per config (3 rounds; see the README for",
        "the columns). The peak is the fp32 matrix-product rate of this GPU, so bf16 rows can",
        "exceed 100 %.",
        "",
        *_bench_rows(benches),
        "",
        "## Training runs",
        "",
        _run_line("DCGAN, 1 epoch, bf16 (`gankit train`)", train),
        _run_line("DCGAN, 1 epoch on 2 GPUs (`torchrun --nproc-per-node 2 -m gankit train`, "
                  "DistributedDataParallel over NCCL)", ddp),
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--out", default="docs/results/gpu.md", type=Path)
    parser.add_argument("--command", default="bash benchmarks/gpu.sh")
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--device", default="cuda", help="cpu: gpu.sh's dry run")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.work, args.command, args.seconds, args.device))


if __name__ == "__main__":
    main()
