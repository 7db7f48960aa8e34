"""The HTML run report, its rendering in headless Chromium, and TensorBoard event files."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY_DCGAN
from gankit.cli import main
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.report import build_report, sample_grids, write_report
from gankit.train import run as runs
from gankit.viz.grid import save_grid

REPO = Path(__file__).resolve().parents[1]
WARNING = "D(G(z)) stuck near 0 for 500 steps <possible collapse> & more"


def make_run_folder(root: Path, n_epochs: int = 3, with_eval: bool = True) -> Path:
    """A run folder written by hand, as the trainer and `gankit eval` would leave it."""
    cfg = load_config(REPO / "configs/mnist-dcgan.yaml", ["name=report-test"])
    run_dir = root / "run"
    runs.write_run_dir(run_dir, cfg)
    for step in range(0, 600, 100):
        record = {
            "step": step + 100,
            "d_steps": step + 100,
            "epoch": 1 + step // 300,
            "d_loss": 1.3 - step / 1000,
            "g_loss": 0.7 + step / 1000,
            "d_x": 0.6,
            "d_gz": 0.4,
            "g_grad_norm": 1.5,
            "d_grad_norm": 0.8,
            "lr_g": 2e-4,
            "lr_d": 2e-4,
            "step_time": 0.05,
            "images_per_s": 1200.0,
        }
        if step == 300:
            record["warnings"] = [WARNING]
        runs.append_metrics(run_dir, record)
    g = torch.Generator().manual_seed(0)
    for epoch in range(1, n_epochs + 1):
        save_grid(
            torch.rand(16, 1, 28, 28, generator=g), run_dir / "samples" / f"epoch-{epoch:04d}.png"
        )
    save_grid(torch.rand(16, 1, 28, 28, generator=g), run_dir / "samples" / "final.png")
    runs.write_status(run_dir, {"step": 600, "epoch": 2, "finished": True, "time": "now"})
    if with_eval:
        result = {
            "metrics": {
                "fid": 12.345678,
                "precision": 0.71,
                "classes_covered": 10,
                "class_histogram": list(range(10)),
            },
            "protocol": {"n": 10000, "reference_split": "test", "seed": 0},
        }
        (run_dir / "eval.json").write_text(json.dumps(result))
    return run_dir


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_report_holds_config_curves_grids_metrics_and_warnings(tmp_path: Path) -> None:
    run_dir = make_run_folder(tmp_path)
    text = build_report(run_dir)
    assert text.startswith("<!DOCTYPE html>")
    assert "report-test" in text and "kind: dcgan" in text  # the config
    images = _images(text)
    assert len(images) == 1 + 4  # curves + 3 epoch grids + final
    for data in images:
        assert data.startswith(b"\x89PNG")
    assert text.index("epoch-0001") < text.index("epoch-0003") < text.index(">final<")
    assert "fid" in text and "12.35" in text and "reference_split" in text and "test" in text
    assert "(10 values)" not in text and "0, 1, 2" in text  # short lists shown whole
    # The warning is shown, with its markup escaped.
    assert "possible collapse" in text and "<possible collapse>" not in text
    assert "&lt;possible collapse&gt; &amp; more" in text
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', text)


def test_report_without_eval_or_logs_says_what_to_do(tmp_path: Path) -> None:
    run_dir = make_run_folder(tmp_path, with_eval=False)
    (run_dir / runs.METRICS_FILE).unlink()
    text = build_report(run_dir)
    assert f"gankit eval {run_dir}" in text
    assert "No training curves" in text and "No health warnings" in text


def test_long_runs_show_an_even_selection_of_grids(tmp_path: Path) -> None:
    run_dir = make_run_folder(tmp_path, n_epochs=30)
    picked = [p.stem for p in sample_grids(run_dir, limit=5)]
    assert len(picked) == 5
    assert picked[0] == "epoch-0001" and picked[-1] == "final"


def test_not_a_run_folder_and_bad_eval_json(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match="not a gankit run folder"):
        build_report(tmp_path)
    run_dir = make_run_folder(tmp_path)
    (run_dir / "eval.json").write_text("{oops")
    with pytest.raises(GankitError, match="eval.json is not valid JSON"):
        build_report(run_dir)


def test_cli_report(tmp_path: Path) -> None:
    run_dir = make_run_folder(tmp_path)
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    assert out.exists()


def _chromium() -> str | None:
    return next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    page = write_report(make_run_folder(tmp_path))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2400, 1200)
    # Not blank: plenty of non-white pixels and real contrast (text, curves, sample grids).
    assert (pixels < 200).mean() > 0.02
    assert pixels.std() > 20


def test_tensorboard_event_files_hold_scalars_and_d_histograms(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gankit.data.dataset import TrainingData
    from gankit.train.loop import Trainer

    cfg = load_config(
        REPO / "configs/mnist-dcgan.yaml",
        [*TINY_DCGAN, "train.tensorboard=true", "train.n_sample_grid=16"],
    )
    x = torch.rand(48, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    run_dir = Trainer(cfg, tmp_path / "run", data=TrainingData(x, None, 0)).run()
    events = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"d_loss", "g_loss"} <= set(tags["scalars"])
    assert {"d_x_histogram", "d_gz_histogram"} <= set(tags["histograms"])
    assert len(acc.Histograms("d_x_histogram")) == 3  # one per logged record (3 G steps)
    assert "samples" in tags["images"]
