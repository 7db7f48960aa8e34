"""Bad inputs across every verb and the Python API, as a table.

Every case runs against a fresh copy of one tiny trained ring run (trained once per module) and
must be refused: a non-zero exit, a first stderr line `gankit: error: ...` that names the input
and the fix (each case's pattern), no traceback, and nothing on disk changed: the whole case
folder, the run copy included, is compared byte for byte before and after. The CLI cases run
`gankit.cli.main` in-process; a few run `python -m gankit` to check the real exit path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import REPO, tiny_config
from gankit import GankitError, load_config, load_run, train
from gankit.cli import main
from gankit.data.dataset import TrainingData
from gankit.train.lock import RunLock
from gankit.train.loop import Trainer
from runfolders import damage_tensor_bytes, ring_command, snapshot


@dataclass
class Case:
    id: str
    argv: list[str]  # {run}: the run copy, {tmp}: the case folder, {file}: a regular file
    pattern: str  # searched in the first stderr line, after "gankit: error: "
    setup: Callable[[Path, Path, dict], Any] | None = None  # (run, tmp, templates)


# --- setups: each damages the copy (or writes an input) before the snapshot ----------------------
def write(name: str, text: str | bytes) -> Callable:
    def setup(run: Path, tmp: Path, templates: dict) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def in_run(name: str, text: str | bytes) -> Callable:
    def setup(run: Path, tmp: Path, templates: dict) -> None:
        (run / name).write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def damaged(run: Path, tmp: Path, templates: dict) -> None:
    damage_tensor_bytes(run / "checkpoint.pt")


def truncated(run: Path, tmp: Path, templates: dict) -> None:
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[: len(data) // 2])


def foreign(run: Path, tmp: Path, templates: dict) -> None:
    shutil.copy(templates["other"] / "checkpoint.pt", run / "checkpoint.pt")


def old_other_shapes(run: Path, tmp: Path, templates: dict) -> None:
    """A checkpoint from before checksums and fingerprints, of networks with other widths."""
    state = torch.load(templates["wide"] / "checkpoint.pt", weights_only=False)
    for key in ("checksum", "config", "config_fingerprint"):
        state.pop(key)
    torch.save(state, run / "checkpoint.pt")


def no_checkpoint(run: Path, tmp: Path, templates: dict) -> None:
    (run / "checkpoint.pt").unlink()


def locked(run: Path, tmp: Path, templates: dict) -> RunLock:
    lock = RunLock(run)
    lock.acquire(create=False)
    return lock  # kept alive (locked) until the case ends


def empty_samples(run: Path, tmp: Path, templates: dict) -> None:
    np.save(tmp / "empty.npy", np.zeros((0, 784), dtype=np.float32))


def notes_folder(run: Path, tmp: Path, templates: dict) -> None:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("mine")


NEW = "{tmp}/new"
RING = ring_command(Path(NEW))


def ring(*overrides: str) -> list[str]:
    return [*RING, *(a for o in overrides for a in ("--set", o))]


def config_case(id: str, text: str | bytes, pattern: str) -> Case:
    return Case(id, ["train", "{tmp}/c.yaml", "--run-dir", NEW], pattern, write("c.yaml", text))


SAMPLE = ["sample", "{run}"]
EVAL = ["eval", "{run}"]
DAMAGED_CONFIG = "train:\n  k: [1, 2\n"

CASES = [
    # --- train: the config file -----------------------------------------------------------------
    config_case("empty-config", "", r"c\.yaml is empty \(no keys\); start from one in configs/"),
    config_case("comments-only-config", "# to do\n", r"c\.yaml is empty"),
    config_case("empty-mapping-config", "{}\n", r"c\.yaml is empty"),
    config_case("duplicate-section", "name: a\ntrain:\n  k: 1\nseed: 0\ntrain:\n  k: 2\n",
                r"c\.yaml is not valid YAML at line 5, column 1: key 'train' appears twice "
                r"\(first on line 2\); keep one of them"),
    config_case("duplicate-key", "train:\n  k: 1\n  k: 2\n",
                r"line 3, column 3: key 'k' appears twice"),
    config_case("unclosed-list", "train:\n  k: [1, 2\n", r"not valid YAML at line \d+, column \d+"),
    config_case("bad-indent", "train:\n  k: 1\n bad: 2\n", r"not valid YAML at line 3, column 2"),
    config_case("tab-indent", "train:\n\tk: 1\n", r"not valid YAML at line 2, column 1"),
    config_case("not-a-mapping", "- 1\n- 2\n", r"c\.yaml must hold a mapping"),
    config_case("not-text", b"\xff\xfe\x00\x81", r"c\.yaml is not a text file"),
    config_case("unknown-key", "trian:\n  k: 1\n", r"unknown config key trian; valid keys"),
    config_case("wrong-type", "train:\n  k: two\n", r"train\.k: expected an integer, got 'two'"),
    Case("missing-config", ["train", "{tmp}/nope.yaml"], r"nope\.yaml not found; give a YAML file or a shipped config"),
    Case("config-is-a-folder", ["train", "{tmp}"], r"config file .* is a folder, not a YAML file"),
    Case("no-config", ["train"], r"needs a CONFIG file \(or --resume --run-dir RUN\)"),
    # --- train: --set overrides ------------------------------------------------------------------
    Case("set-without-equals", [*RING, "--set", "train.k"], r"--set 'train\.k': expected key=value"),
    Case("set-bad-yaml", ring("train.k=[1,"), r"--set 'train\.k=\[1,': the value is not valid YAML at line 1"),
    Case("set-unknown-key", ring("train.kk=1"), r"unknown config key train\.kk"),
    Case("z-dim-zero", ring("generator.z_dim=0"), r"generator\.z_dim = 0 must be at least 1"),
    Case("log-every-negative", ring("train.log_every=-5"), r"train\.log_every = -5 must be at least 1"),
    Case("name-outside-runs", ring("name=../../x"), r"name = '\.\./\.\./x' must be a plain folder name"),
    Case("name-with-slash", ring("name=a/b"), r"name = 'a/b' must be a plain folder name"),
    Case("huge-n-train", ring("data.n_train=1000000000"), r"data\.n_train = 1000000000 must be in 1\.\.10,000,000"),
    Case("lr-negative", ring("optim.lr=-1"), r"g_optim\.lr = -1\.0 must be a positive number"),
    Case("lr-nan", ring("optim.lr=.nan"), r"g_optim\.lr = nan must be a positive number"),
    Case("lr-zero-for-d", ring("d_optim={lr: 0}"), r"d_optim\.lr = 0\.0 must be a positive number"),
    Case("betas-out-of-range", ring("optim.betas=[0.5, 1.5]"), r"betas = \[0\.5, 1\.5\] must be two numbers in \[0, 1\)"),
    Case("betas-one-number", ring("optim.betas=[0.5]"), r"betas = \[0\.5\] must be two numbers"),
    Case("lr-decay-zero", ring("optim.lr_decay=0"), r"lr_decay = 0\.0 must be positive \(1\.0: no decay\)"),
    Case("momentum-above-one", ring("optim.momentum_end=2"), r"momentum_end must be in \[0, 1\]"),
    Case("weight-decay-nan", ring("optim.weight_decay=.nan"), r"weight_decay and .*lr_min must be numbers >= 0"),
    Case("seed-negative", ring("seed=-1"), r"seed = -1 must be >= 0"),
    Case("threads-negative", ring("train.threads=-1"), r"train\.threads = -1 must be >= 0"),
    Case("device-unknown", ring("train.device=gpu"), r"train\.device = 'gpu' is not a device; use cpu, cuda"),
    Case("width-negative", ring("generator.hidden=[-3]"), r"generator\.hidden = \[-3\] must list positive layer widths"),
    Case("widths-empty", ring("discriminator.hidden=[]"), r"discriminator\.hidden = \[\] must list positive"),
    Case("pieces-zero", ring("discriminator.pieces=0"), r"discriminator\.pieces = 0 must be at least 1"),
    Case("init-range-negative", ring("generator.init_range=-1"), r"generator\.init_range = -1\.0 must be a number >= 0"),
    Case("k-zero", ring("train.k=0"), r"train\.k = 0 must be at least 1"),
    Case("batch-size-zero", ring("train.batch_size=0"), r"train\.batch_size = 0 must be at least 1"),
    Case("batch-larger-than-data", ring("train.batch_size=5000"), r"2000 examples, fewer than train\.batch_size = 5000; lower the batch size"),
    Case("no-length", ring("train.max_steps=0"), r"set train\.epochs or train\.max_steps to a positive number"),
    Case("ema-one-and-a-half", ring("train.ema=1.5"), r"train\.ema = 1\.5 must be in \[0, 1\)"),
    Case("topk-zero", ring("train.topk=0"), r"train\.topk = 0\.0 .* must be in \(0, 1\]"),
    Case("dropout-one", ring("discriminator.dropout_input=1.0"), r"discriminator\.dropout_input = 1\.0 must be in \[0, 1\)"),
    Case("std-negative", ring("data.std=-1"), r"data\.std = -1\.0 must be a number >= 0"),
    Case("radius-nan", ring("data.radius=.nan"), r"data\.radius = nan must be a finite number"),
    Case("modes-zero", ring("data.modes=0"), r"data\.modes, data\.side and data\.size must be at least 1"),
    Case("huge-sample-grid", ring("train.n_sample_grid=1000000"), r"train\.n_sample_grid = 1000000 must be in 1\.\.10,000"),
    Case("unknown-loss", ring("loss=foo"), r"loss = 'foo' is not known; choose one of"),
    Case("unknown-optimizer", ring("optim.name=adagrad"), r"optim\.name = 'adagrad' is not known"),
    Case("eval-metric-for-2d", ring("train.eval_every=1", "train.eval_metrics=[fid]"), r"fid"),
    Case("pack-does-not-divide", ring("discriminator.pack=3"), r"discriminator\.pack = 3 must be >= 1 and divide train\.batch_size = 50"),
    Case("missing-image-folder", ring("data.dataset=image-folder", "data.dir={tmp}/no-images"), r"no-images"),
    # --- train: run folders ----------------------------------------------------------------------
    Case("force-without-resume", [*RING, "--force"], r"--force only applies to --resume"),
    Case("train-over-a-run", ring_command(Path("{run}")), r"already holds a run; continue it with --resume"),
    Case("run-dir-is-a-file", ring_command(Path("{file}")), r"is a file, not a folder; choose another --run-dir"),
    Case("run-dir-under-a-file", ring_command(Path("{file}/run")), r"cannot write the run folder"),
    Case("run-dir-not-empty", ring_command(Path("{tmp}/mine")), r"mine exists and is not an empty folder", notes_folder),
    Case("resume-nothing", ["train", "--resume", "--run-dir", "{tmp}/nowhere"], r"nowhere is not a gankit run folder"),
    Case("resume-changed-config", ["train", "--resume", "--run-dir", "{run}", "--set", "optim.lr=0.5"],
         r"refusing to resume with a changed config \(use --force to resume anyway\)"),
    Case("resume-other-shapes", ["train", "--resume", "--force", "--run-dir", "{run}", "--set", "generator.hidden=[16, 16, 16]"],
         r"does not fit this config \((Missing key|size mismatch).*\); resume without the override"),
    Case("resume-foreign-checkpoint", ["train", "--resume", "--run-dir", "{run}"],
         r"was written by another run \(seed: 1 in the checkpoint, 0 in the config\); put back", foreign),
    Case("resume-damaged-checkpoint", ["train", "--resume", "--run-dir", "{run}"],
         r"checkpoint\.pt is damaged: its contents do not match the checksum", damaged),
    Case("resume-truncated-checkpoint", ["train", "--resume", "--run-dir", "{run}"],
         r"checkpoint\.pt is corrupt or unreadable .*; restore it from a backup", truncated),
    Case("resume-damaged-config", ["train", "--resume", "--run-dir", "{run}"],
         r"the run's .*config\.yaml is not valid YAML at line 3, column 1: expected ',' or ']'", in_run("config.yaml", DAMAGED_CONFIG)),
    Case("resume-no-checkpoint", ["train", "--resume", "--run-dir", "{run}"],
         r"has no checkpoint\.pt yet; start it again without --resume", no_checkpoint),
    Case("resume-in-use", ["train", "--resume", "--run-dir", "{run}"],
         r"run folder .* is in use by process \d+.*; wait for it to finish", locked),
    # --- sample ---------------------------------------------------------------------------------
    Case("sample-n-zero", [*SAMPLE, "--out", "{tmp}/s.png", "--n", "0"], r"--n 0: ask for 1 to 100,000 samples"),
    Case("sample-n-negative", [*SAMPLE, "--out", "{tmp}/s.png", "--n", "-5"], r"--n -5: ask for 1 to"),
    Case("sample-n-huge", [*SAMPLE, "--out", "{tmp}/s.png", "--n", "1000000000"], r"--n 1000000000: ask for 1 to 100,000"),
    Case("sample-out-txt", [*SAMPLE, "--out", "{tmp}/x.txt"], r"--out .*x\.txt: name a \.png file .* or a \.npy file"),
    Case("sample-out-no-suffix", [*SAMPLE, "--out", "{tmp}/samples"], r"--out .*samples: name a \.png file"),
    Case("sample-npy-to-png", [*SAMPLE, "--format", "npy", "--out", "{tmp}/x.png"], r"--format npy but --out .*x\.png ends in \.png; name the file x\.npy or drop --format"),
    Case("sample-png-to-npy", [*SAMPLE, "--format", "png", "--out", "{tmp}/x.npy"], r"--format png but --out .*x\.npy ends in \.npy; name the file x\.png"),
    Case("sample-out-under-a-file", [*SAMPLE, "--out", "{file}/x.png"], r"file is a file, not a folder; choose another path"),
    Case("sample-nrow-negative", [*SAMPLE, "--out", "{tmp}/s.png", "--nrow", "-3"], r"--nrow -3: give at least 1 image per row"),
    Case("sample-nrow-zero", [*SAMPLE, "--out", "{tmp}/s.png", "--nrow", "0"], r"--nrow 0"),
    Case("sample-truncation-above-one", [*SAMPLE, "--out", "{tmp}/s.png", "--truncation", "2.5"], r"--truncation 2\.5: give a number from 0 to 2 "),
    Case("sample-truncation-negative", [*SAMPLE, "--out", "{tmp}/s.png", "--truncation", "-0.5"], r"--truncation -0\.5: give a number from 0 to 2"),
    Case("sample-truncation-nan", [*SAMPLE, "--out", "{tmp}/s.png", "--truncation", "nan"], r"--truncation nan: give a number from 0 to 2"),
    Case("sample-label-unconditional", [*SAMPLE, "--out", "{tmp}/s.png", "--label", "3"], r"not conditional: --labels needs a run trained with data\.conditional=true"),
    Case("sample-not-a-run", ["sample", "{tmp}", "--out", "{tmp}/s.png"], r"is not a gankit run folder \(no config\.yaml\)"),
    Case("sample-no-such-run", ["sample", "{tmp}/nowhere", "--out", "{tmp}/s.png"], r"nowhere is not a gankit run folder"),
    Case("sample-no-checkpoint", [*SAMPLE, "--out", "{tmp}/s.png"], r"no checkpoint at .*; train the run first", no_checkpoint),
    Case("sample-damaged-checkpoint", [*SAMPLE, "--out", "{tmp}/s.png"], r"is damaged: its contents do not match the checksum", damaged),
    Case("sample-foreign-checkpoint", [*SAMPLE, "--out", "{tmp}/s.png"], r"was written by another run \(seed: 1 in the checkpoint", foreign),
    Case("sample-truncated-checkpoint", [*SAMPLE, "--out", "{tmp}/s.png"], r"is corrupt or unreadable", truncated),
    Case("sample-old-checkpoint-other-shapes", [*SAMPLE, "--out", "{tmp}/s.png"],
         r"checkpoint .* does not fit the run's config\.yaml \(size mismatch for .*\); put back", old_other_shapes),
    Case("sample-damaged-config", [*SAMPLE, "--out", "{tmp}/s.png"], r"config\.yaml is not valid YAML at line 3, column 1", in_run("config.yaml", DAMAGED_CONFIG)),
    Case("sample-config-duplicate-key", [*SAMPLE, "--out", "{tmp}/s.png"], r"config\.yaml is not valid YAML at line 2, column 1: key 'seed' appears twice",
         in_run("config.yaml", "seed: 0\nseed: 1\n")),
    Case("sample-config-list", [*SAMPLE, "--out", "{tmp}/s.png"], r"config\.yaml is damaged \(not a mapping", in_run("config.yaml", "- 1\n")),
    Case("sample-config-bad-value", [*SAMPLE, "--out", "{tmp}/s.png"], r"config\.yaml is damaged \(train\.k = 0 must be at least 1 .*\); restore it", in_run("config.yaml", "train:\n  k: 0\n")),
    Case("sample-config-binary", [*SAMPLE, "--out", "{tmp}/s.png"], r"config\.yaml is not a text file", in_run("config.yaml", b"\xff\xfe\x81")),
    Case("sample-damaged-status", [*SAMPLE, "--out", "{tmp}/s.png"], r"run\.json is damaged .*; delete it", in_run("run.json", "{\"step\": 2")),
    # --- eval -----------------------------------------------------------------------------------
    Case("eval-n-one", [*EVAL, "--n", "1"], r"--n 1: evaluate 50 to 100,000 samples"),
    Case("eval-n-zero", [*EVAL, "--n", "0"], r"--n 0: evaluate 50 to"),
    Case("eval-n-negative", [*EVAL, "--n", "-5"], r"--n -5: evaluate 50 to"),
    Case("eval-n-huge", [*EVAL, "--n", "1000000000"], r"--n 1000000000: evaluate 50 to 100,000 samples"),
    Case("eval-image-metric-on-2d", [*EVAL, "--metrics", "fid"], r"'fid' is not a metric for ring; choose from modes"),
    Case("eval-no-metrics", [*EVAL, "--metrics", ","], r"--metrics is empty; name at least one"),
    Case("eval-truncation-above-one", [*EVAL, "--truncation", "3"], r"--truncation 3\.0: give a number from 0 to 2"),
    Case("eval-truncation-on-samples", ["eval", "--samples", "{tmp}/empty.npy", "--truncation", "0.5"], r"--truncation changes how a run's noise is drawn; it has no meaning for --samples", empty_samples),
    Case("eval-nothing", ["eval"], r"give a run folder or --samples FILE\.npy"),
    Case("eval-both", [*EVAL, "--samples", "{tmp}/empty.npy"], r"give a run folder or --samples FILE\.npy \(exactly one", empty_samples),
    Case("eval-samples-missing", ["eval", "--samples", "{tmp}/none.npy"], r"samples file .*none\.npy not found; give a \.npy file"),
    Case("eval-samples-garbage", ["eval", "--samples", "{tmp}/g.npy"], r"cannot read .*g\.npy as a \.npy array", write("g.npy", "not numpy")),
    Case("eval-samples-empty", ["eval", "--samples", "{tmp}/empty.npy"], r"empty\.npy holds no samples \(shape \(0, 784\)\)", empty_samples),
    Case("eval-damaged-checkpoint", EVAL, r"is damaged: its contents do not match the checksum", damaged),
    Case("eval-foreign-checkpoint", EVAL, r"was written by another run", foreign),
    Case("eval-damaged-status", EVAL, r"run\.json is damaged", in_run("run.json", "[1, 2]")),
    Case("eval-not-a-run", ["eval", "{tmp}"], r"is not a gankit run folder"),
    # --- info -----------------------------------------------------------------------------------
    Case("info-no-such-run", ["info", "{tmp}/nowhere"], r"nowhere is not a gankit run folder \(no config\.yaml\); give the folder"),
    Case("info-a-file", ["info", "{file}"], r"file is not a gankit run folder"),
    Case("info-damaged-status", ["info", "{run}"], r"run\.json is damaged \(Expecting .*\); delete it", in_run("run.json", "{\"step\": ")),
    Case("info-damaged-config", ["info", "{run}"], r"config\.yaml is not valid YAML", in_run("config.yaml", DAMAGED_CONFIG)),
    Case("info-json-damaged-config", ["info", "{run}", "--json"], r"config\.yaml is damaged \(unknown config key", in_run("config.yaml", "nope: 1\n")),
    # --- report ---------------------------------------------------------------------------------
    Case("report-not-a-run", ["report", "{tmp}"], r"is not a gankit run folder"),
    Case("report-damaged-eval", ["report", "{run}"], r"eval\.json is not valid JSON .*; run gankit eval again", in_run("eval.json", "{oops")),
    Case("report-out-under-a-file", ["report", "{run}", "--out", "{file}/r.html"], r"cannot write the report to .*; pass --out FILE"),
    Case("report-damaged-status", ["report", "{run}"], r"run\.json is damaged", in_run("run.json", "nope")),
    Case("report-damaged-config", ["report", "{run}"], r"config\.yaml is not valid YAML", in_run("config.yaml", DAMAGED_CONFIG)),
    # --- viz ------------------------------------------------------------------------------------
    Case("viz-interpolate-2d-run", ["viz", "interpolate", "{run}", "--out", "{tmp}/i.png"], r"image"),
    Case("viz-interpolate-n-zero", ["viz", "interpolate", "{run}", "--n", "0"], r"--n must be >= 1, --points >= 2 and --steps >= 2"),
    Case("viz-interpolate-one-point", ["viz", "interpolate", "{run}", "--points", "1"], r"--points >= 2"),
    Case("viz-interpolate-not-a-run", ["viz", "interpolate", "{tmp}"], r"is not a gankit run folder"),
    Case("viz-neighbours-rows-zero", ["viz", "neighbours", "{run}", "--rows", "0"], r"--rows must be >= 1 and --cols >= 2"),
    Case("viz-neighbours-damaged", ["viz", "neighbours", "{run}", "--out", "{tmp}/n.png"], r"is damaged", damaged),
    Case("viz-arithmetic-k-zero", ["viz", "arithmetic", "{run}", "--k", "0"], r"--k must be >= 1 and --pool at least 3 \* k"),
    Case("viz-arithmetic-2d-run", ["viz", "arithmetic", "{run}", "--out", "{tmp}/a.png"], r"image"),
    Case("viz-figure1-steps-zero", ["viz", "figure1", "--out", "{tmp}/f", "--steps", "0"], r"--steps, --frames and --k must be positive"),
    Case("viz-figure1-frames-negative", ["viz", "figure1", "--out", "{tmp}/f", "--frames", "-1"], r"--frames"),
]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny ring run (with an eval.json), the same config with seed 1, and one with other
    widths: trained once for the whole table."""
    root = tmp_path_factory.mktemp("bad-inputs")
    run = train(tiny_config(), root / "run")
    assert main(["eval", str(run), "--metrics", "modes", "--n", "200"]) == 0
    return {
        "run": run,
        "other": train(tiny_config("seed=1"), root / "other"),
        "wide": train(tiny_config("generator.hidden=[16, 16]"), root / "wide"),
    }


def _prepare(case_setup: Callable | None, templates: dict, tmp_path: Path) -> tuple[Path, Any]:
    run = tmp_path / "run"
    shutil.copytree(templates["run"], run)
    (tmp_path / "file").write_text("a regular file\n")
    kept = case_setup(run, tmp_path, templates) if case_setup else None
    return run, kept


def _fill(argv: list[str], run: Path, tmp: Path) -> list[str]:
    return [a.replace("{run}", str(run)).replace("{tmp}", str(tmp))
             .replace("{file}", str(tmp / "file")) for a in argv]


def test_the_table_is_large_and_its_names_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(case, templates, tmp_path, capsys):
    if case.id == "device-unknown" and torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    run, kept = _prepare(case.setup, templates, tmp_path)
    before = snapshot(tmp_path)
    capsys.readouterr()
    status = main(_fill(case.argv, run, tmp_path))
    out, err = capsys.readouterr()
    del kept  # a lock held for the case is released here
    assert status != 0, f"accepted: {out}"
    assert "Traceback" not in err + out
    first = err.splitlines()[0] if err else ""
    assert first.startswith("gankit: error: "), err
    assert re.search(case.pattern, first), f"{first!r} does not match {case.pattern!r}"
    assert snapshot(tmp_path) == before


# --- the Python API -----------------------------------------------------------------------------
def _changed_after_loading(**changes: Any) -> Any:
    cfg = tiny_config()
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    return cfg


def _nan_data() -> TrainingData:
    x = torch.randn(200, 2)
    x[7, 1] = float("nan")
    return TrainingData(x, None, 0)


def _hold_and_train(run: Path, tmp: Path) -> None:
    lock = RunLock(run)
    lock.acquire(create=False)
    try:
        train(tiny_config(), run, resume=True)
    finally:
        lock.release()


API_CASES = [
    ("load-config-empty", lambda run, tmp: load_config(tmp / "c.yaml"), r"c\.yaml is empty",
     write("c.yaml", "")),
    ("load-config-duplicate", lambda run, tmp: load_config(tmp / "c.yaml"),
     r"line 3, column 1: key 'seed' appears twice", write("c.yaml", "seed: 1\nname: a\nseed: 2\n")),
    ("load-config-name", lambda run, tmp: load_config(REPO / "configs/ring8.yaml", ["name=../../x"]),
     r"must be a plain folder name", None),
    ("train-k-changed-to-zero", lambda run, tmp: train(_changed_after_loading(train__k=0), tmp / "new"),
     r"train\.k = 0 must be at least 1", None),
    ("train-z-dim-changed-to-zero",
     lambda run, tmp: train(_changed_after_loading(generator__z_dim=0), tmp / "new"),
     r"generator\.z_dim = 0 must be at least 1", None),
    ("train-lr-changed-to-nan",
     lambda run, tmp: train(_changed_after_loading(optim__lr=float("nan")), tmp / "new"),
     r"lr = nan must be a positive number", None),
    ("train-nan-in-the-data",
     lambda run, tmp: Trainer(tiny_config("train.batch_size=50"), tmp / "new", data=_nan_data()),
     r"the training data \(ring\) holds 1 NaN or infinite values; fix the data", None),
    ("train-over-a-run", lambda run, tmp: train(tiny_config(), run), r"already holds a run", None),
    ("train-resume-in-use", _hold_and_train, r"is in use by process \d+", None),
    ("load-run-nowhere", lambda run, tmp: load_run(tmp / "nowhere"), r"not a gankit run folder", None),
    ("load-run-damaged", lambda run, tmp: load_run(run), r"is damaged", damaged),
    ("load-run-foreign", lambda run, tmp: load_run(run), r"written by another run", foreign),
    ("sample-label-unconditional", lambda run, tmp: load_run(run).sample(4, labels=3),
     r"this run is not conditional", None),
]


@pytest.mark.parametrize(("name", "call", "pattern", "setup"), API_CASES,
                         ids=[c[0] for c in API_CASES])
def test_bad_input_through_the_api_is_one_gankit_error(name, call, pattern, setup, templates,
                                                        tmp_path):
    run, _ = _prepare(setup, templates, tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(GankitError) as err:
        call(run, tmp_path)
    message = str(err.value)
    assert "\n" not in message and re.search(pattern, message), message
    assert snapshot(tmp_path) == before


# --- the real exit path -------------------------------------------------------------------------
SUBPROCESS_CASES = ["empty-config", "resume-damaged-checkpoint", "sample-npy-to-png",
                    "eval-n-one"]


def test_bad_inputs_through_python_dash_m(templates, tmp_path):
    """A handful of cases as a user runs them: exit status 2, one line, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = []
    for case in (c for c in CASES if c.id in SUBPROCESS_CASES):
        folder = tmp_path / case.id
        folder.mkdir()
        run, _ = _prepare(case.setup, templates, folder)
        before = snapshot(folder)
        argv = [sys.executable, "-m", "gankit", *_fill(case.argv, run, folder)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)  # all at once: most of each is importing torch
        started.append((case, folder, before, proc))
    for case, folder, before, proc in started:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 2, (case.id, err)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("gankit: error: "), err
        assert re.search(case.pattern, lines[0]) and "Traceback" not in out
        assert snapshot(folder) == before
