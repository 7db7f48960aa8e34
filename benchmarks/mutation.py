"""Mutation testing: which one-line changes to the metric protocols and the training loop does
the test suite catch?

    python benchmarks/mutation.py                       # all; writes docs/results/mutation.md
    python benchmarks/mutation.py --only pr-k,kid-replacement-real --out /tmp/mutation.md
    python benchmarks/mutation.py --list

Each mutation is data: a file under src/, an old text, a new text and the test files that could
catch it. The script copies src/ to a temporary folder, checks that the unmutated copy passes
every listed test file, then for each mutation replaces the old text in the copy (it must occur
exactly once), runs `pytest -x -q` on the mutation's test files with PYTHONPATH pointing at the
copy, and puts the file back. KILLED names the first failing test; SURVIVED means every test
passed with the change in place; NOT APPLICABLE means the old text (or a test file) is gone,
because the code moved: fix the entry, the script does not guess.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # relative to src/gankit
    old: str
    new: str
    tests: tuple[str, ...]  # test files that could catch it, the likeliest first (-x stops early)
    breaks: str  # what the change does to the protocol


METRIC_TESTS = ("tests/test_protocols.py", "tests/test_registry.py", "tests/test_metrics.py")
LOOP_TESTS = ("tests/test_train.py", "tests/test_losses.py", "tests/test_toy_training.py")

MUTATIONS: tuple[Mutation, ...] = (
    Mutation("pr-k", "metrics/registry.py", 'params={"k": 3}', 'params={"k": 5}', METRIC_TESTS,
             "precision/recall with k = 5 instead of 3"),
    Mutation("dc-k", "metrics/registry.py", 'params={"k": 5}', 'params={"k": 3}', METRIC_TESTS,
             "density/coverage with k = 3 instead of 5"),
    Mutation("pr-k-call", "metrics/compute.py",
             "result = inputs.prdc(k)\n"
             '    return ({"precision"',
             "result = inputs.prdc(5)\n"
             '    return ({"precision"', METRIC_TESTS,
             "precision/recall computed with k = 5 while the protocol records 3"),
    Mutation("parzen-valid-evaluate", "metrics/compute.py", "valid[:valid_points], test)",
             "test[:valid_points], test)", METRIC_TESTS,
             "evaluate: Parzen sigma chosen on test images instead of the validation split"),
    Mutation("parzen-valid-parzen", "metrics/parzen.py",
             "_best_sigma(centres, valid_x, sigmas, batch_size)",
             "_best_sigma(centres, test_x, sigmas, batch_size)", METRIC_TESTS,
             "parzen_evaluate: sigma chosen on the test points instead of the validation ones"),
    Mutation("parzen-valid-split", "metrics/registry.py", '"valid_split": "valid"',
             '"valid_split": "test"', METRIC_TESTS, "Parzen sigma chosen on the test split"),
    Mutation("parzen-valid-points", "metrics/registry.py", '"valid_points": 1000',
             '"valid_points": 100', METRIC_TESTS, "Parzen sigma chosen on 100 validation images"),
    Mutation("parzen-valid-literal", "metrics/compute.py",
             "f\"{valid_split}[:{result['n_valid']}]\"", '"valid[:1000]"', METRIC_TESTS,
             "parzen_valid written as a literal instead of the split and count used"),
    Mutation("parzen-stderr", "metrics/parzen.py", "ll.std() / math.sqrt(len(ll))", "ll.std()",
             METRIC_TESTS, "Parzen reports the std instead of the standard error"),
    Mutation("parzen-exp-floor", "metrics/parzen.py", "_EXP_FLOOR = -708.0",
             "_EXP_FLOOR = -30.0", METRIC_TESTS,
             "Parzen kernel terms below exp(-30) raised to exp(-30): the sums move"),
    Mutation("kid-replacement-real", "metrics/kid.py",
             "real[rng.choice(len(real), m, replace=False)]",
             "real[rng.choice(len(real), m, replace=True)]", METRIC_TESTS,
             "KID draws real subsets with replacement"),
    Mutation("kid-replacement-fake", "metrics/kid.py",
             "fake[rng.choice(len(fake), m, replace=False)]",
             "fake[rng.choice(len(fake), m, replace=True)]", METRIC_TESTS,
             "KID draws fake subsets with replacement"),
    Mutation("kid-subset-size", "metrics/registry.py", '"subset_size": 1000',
             '"subset_size": 100', METRIC_TESTS, "KID subsets of 100 instead of 1,000"),
    Mutation("kid-biased", "metrics/kid.py", "(m * (m - 1))", "(m * m)", METRIC_TESTS,
             "KID's MMD^2 estimate biased (diagonal divided in)"),
    Mutation("fd-trace-sign", "metrics/frechet.py", "- 2.0 * np.trace(covmean)",
             "+ 2.0 * np.trace(covmean)", METRIC_TESTS, "Fréchet distance's trace term sign"),
    Mutation("prdc-strict", "metrics/prdc.py", "torch.lt(d, real_radii[None, :, i], out=inside)",
             "torch.le(d, real_radii[None, :, i], out=inside)", METRIC_TESTS,
             "precision/density ball membership not strict (the reference code uses <)"),
    Mutation("prdc-recall-strict", "metrics/prdc.py", "torch.lt(d, fake_radii[rows, i, None], out=inside)",
             "torch.le(d, fake_radii[rows, i, None], out=inside)", METRIC_TESTS,
             "recall's ball membership not strict"),
    Mutation("prdc-coverage-strict", "metrics/prdc.py", "(nearest_fake < real_radii[:, i])",
             "(nearest_fake <= real_radii[:, i])", METRIC_TESTS, "coverage's ball membership not strict"),
    Mutation("prdc-centring", "metrics/prdc.py", "real, fake = real - centre, fake - centre",
             "real, fake = real, fake", METRIC_TESTS,
             "PRDC distances of uncentred features (float32 cancellation far from the origin)"),
    Mutation("prdc-self-neighbour", "metrics/prdc.py", ".values[:, 1:]", ".values[:, :-1]",
             METRIC_TESTS, "k-NN radius counts the point itself as a neighbour"),
    Mutation("reference-split", "metrics/compute.py", 'REFERENCE_SPLIT = "test"',
             'REFERENCE_SPLIT = "valid"', METRIC_TESTS, "FD/KID/PRDC against the validation split"),
    # The training loop and its update steps.
    Mutation("simultaneous-g-ascent", "train/steps.py",
             "g_grads = torch.autograd.grad(g_loss, g_params)",
             "g_grads = torch.autograd.grad(-g_loss, g_params)", LOOP_TESTS,
             "simultaneous update: G ascends its own loss"),
    Mutation("simultaneous-d-ascent", "train/steps.py",
             "d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)",
             "d_grads = torch.autograd.grad(-d_loss, d_params, retain_graph=True)", LOOP_TESTS,
             "simultaneous update: D ascends its own loss"),
    Mutation("d-ascent", "train/steps.py", "opt_d.zero_grad(set_to_none=True)\n    total.backward()",
             "opt_d.zero_grad(set_to_none=True)\n    (-total).backward()", LOOP_TESTS,
             "D ascends its loss (discriminator_step; the joint pass has its own backward)"),
    Mutation("g-ascent", "train/steps.py", "g_loss.backward()", "(-g_loss).backward()",
             LOOP_TESTS, "G ascends its loss"),
    Mutation("k-off-by-one", "train/loop.py",
             "for _ in range(objective.critic_steps(self.cfg.train.k, p.g_steps)):",
             "for _ in range(objective.critic_steps(self.cfg.train.k, p.g_steps) + 1):",
             LOOP_TESTS, "Algorithm 1 runs k + 1 discriminator steps per G step"),
    Mutation("ns-sign", "losses.py", "return F.softplus(-fake).mean()",
             "return -F.softplus(-fake).mean()", LOOP_TESTS,
             "non-saturating G loss with the sign flipped"),
    Mutation("gp-target", "losses.py", "- 1.0) ** 2).mean()", "- 0.0) ** 2).mean()", LOOP_TESTS,
             "gradient penalty pulls the gradient norm to 0 instead of 1"),
)


def run_pytest(tests: list[str], src: Path, timeout: float) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    return done.returncode, done.stdout + done.stderr


def first_failure(output: str) -> str:
    for line in output.splitlines():
        match = re.match(r"(FAILED|ERROR) (\S+)", line)
        if match:
            return match.group(2)
    return ""


def outcome(code: int, output: str) -> str:
    if code == 0:
        return "SURVIVED"
    if code == -1:
        return "KILLED (timeout)"
    failed = first_failure(output)
    if failed:
        return f"KILLED by `{failed}`"
    last = output.strip().splitlines()[-1] if output.strip() else ""
    return f"KILLED (pytest exit {code}: {last})"


def mutate(mutation: Mutation, src: Path, timeout: float) -> tuple[str, float]:
    path = src / "gankit" / mutation.file
    missing = [t for t in mutation.tests if not (ROOT / t).is_file()]
    if missing:
        return f"NOT APPLICABLE (test file {missing[0]} not found)", 0.0
    if not path.is_file():
        return "NOT APPLICABLE (file not found)", 0.0
    original = path.read_text()
    count = original.count(mutation.old)
    if count != 1:
        why = "text not found" if count == 0 else f"text found {count} times"
        return f"NOT APPLICABLE ({why})", 0.0
    start = time.perf_counter()
    try:
        path.write_text(original.replace(mutation.old, mutation.new))
        code, output = run_pytest(list(mutation.tests), src, timeout)
    finally:
        path.write_text(original)
    return outcome(code, output), time.perf_counter() - start


def code_span(text: str) -> str:
    one_line = " ⏎ ".join(part.strip() for part in text.splitlines())
    return "`" + one_line.replace("|", "\\|") + "`"


def write_report(out: Path, rows: list[tuple[Mutation, str, float]], argv: list[str],
                 commit: str, total_s: float) -> None:
    import torch

    killed = sum(r.startswith("KILLED") for _, r, _ in rows)
    survived = sum(r == "SURVIVED" for _, r, _ in rows)
    skipped = len(rows) - killed - survived
    lines = [
        "# Mutation testing: does the test suite notice a changed protocol?",
        "",
        f"Command: `python benchmarks/mutation.py{' ' + ' '.join(argv) if argv else ''}`",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}",
        f"Source: {commit}",
        "",
        f"**{killed} of {len(rows)} mutations killed, {survived} survived, {skipped} not "
        f"applicable** ({total_s:.0f} s in all).",
        "",
        "Each row is one text replacement in a temporary copy of `src/`, tested with "
        "`pytest -x -q` on the test files listed in `benchmarks/mutation.py` for it, with "
        "PYTHONPATH pointing at the copy. KILLED names the first failing test; SURVIVED means "
        "no test failed with the change in place: a gap in the suite, to close with a test that "
        "fails on that change. NOT APPLICABLE means the old text is no longer in the source "
        "(the code moved): the entry needs updating.",
        "",
        "| mutation | file | change | what it breaks | result | s |",
        "|---|---|---|---|---|---|",
    ]
    for m, result, seconds in rows:
        lines.append(f"| {m.name} | `src/gankit/{m.file}` | {code_span(m.old)} → "
                     f"{code_span(m.new)} | {m.breaks} | {result} | {seconds:.0f} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def source_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown commit"
    dirty = git("status", "--porcelain", "--", "src", "tests").strip()
    return f"commit {head}" + (" with uncommitted changes under src/ or tests/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated mutation names")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--out", default=str(ROOT / "docs/results/mutation.md"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds per pytest run")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    mutations = list(MUTATIONS)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.name for m in mutations}
        if unknown:
            parser.error(f"unknown mutation(s) {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.name in wanted]
    if args.list:
        for m in mutations:
            print(f"{m.name:24} src/gankit/{m.file}: {m.breaks}")
        return 0

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gankit-mutation-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
        where = subprocess.run([sys.executable, "-c", "import gankit; print(gankit.__file__)"],
                               env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True,
                               text=True).stdout.strip()
        if not where.startswith(str(src)):
            print(f"gankit imports from {where}, not from the copy {src}", file=sys.stderr)
            return 2
        # Killing means nothing unless the unmutated copy passes the same tests.
        tests = sorted({t for m in mutations for t in m.tests if (ROOT / t).is_file()})
        code, output = run_pytest(tests, src, args.timeout)
        if code != 0:
            print(f"the unmutated source fails its tests:\n{output[-3000:]}", file=sys.stderr)
            return 1
        rows = []
        for m in mutations:
            result, seconds = mutate(m, src, args.timeout)
            print(f"{m.name:24} {result} ({seconds:.0f} s)", flush=True)
            rows.append((m, result, seconds))
    write_report(Path(args.out), rows, argv, source_commit(), time.perf_counter() - start)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
