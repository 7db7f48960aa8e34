"""A new user's papercuts: the config as the nets read it, run.json's epoch, the GIF's size,
high_quality's unit and --labels."""

import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from conftest import tiny_config
from gankit.cli import build_parser, main
from gankit.report import build_report
from gankit.train.loop import train
from test_image_folder import train_folder_run


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_folder_run(tmp_path_factory.mktemp("dcgan"), "data.size=28", "data.channels=1")


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 2,000 points in batches of 50: 40 steps an epoch, so 40 steps end exactly one epoch.
    return train(tiny_config("train.max_steps=40"), tmp_path_factory.mktemp("ring") / "run")


# --------------------------------------------------------------------- the config as read


def _info(run: Path, capsys, *flags: str) -> str:
    capsys.readouterr()
    assert main(["info", str(run), *flags]) == 0
    return capsys.readouterr().out


def _config_text(text: str) -> dict:
    return yaml.safe_load(text.split("config (", 1)[1].split("\n", 1)[1])


def test_info_lists_only_the_keys_a_dcgan_reads(dcgan_run, capsys):
    shown = _config_text(_info(dcgan_run, capsys))
    assert set(shown["generator"]) == {"kind", "z_dim", "base", "attention", "spectral_norm",
                                       "output", "extra_layers"}  # no z_dist: uniform, no hidden
    assert "dropout_input" not in shown["discriminator"] and "pieces" not in shown["discriminator"]
    assert shown["train"]["max_steps"] == 2 and shown["data"]["dataset"] == "image-folder"
    # --json keeps every key: it is a contract.
    full = json.loads(_info(dcgan_run, capsys, "--json"))["config"]
    assert full["generator"]["z_dist"] == "uniform" and "hidden" in full["generator"]


def test_info_of_an_mlp_run_has_no_dcgan_keys(ring_run, capsys):
    shown = _config_text(_info(ring_run, capsys))
    assert "base" not in shown["generator"] and "extra_layers" not in shown["discriminator"]
    assert shown["generator"]["z_dist"] == "normal" and shown["discriminator"]["pieces"] == 2


def test_report_config_lists_only_the_keys_the_nets_read(dcgan_run):
    page = build_report(dcgan_run)
    config = page.split("<h2>Config</h2>", 1)[1].split("</pre>", 1)[0]
    assert "z_dim: 100" in config and "z_dist" not in config and "hidden" not in config
    assert "dropout_hidden" not in config


# --------------------------------------------------------------------- run.json's epoch


def test_run_json_epoch_is_the_epoch_of_the_last_step(ring_run, tmp_path):
    status = json.loads((ring_run / "run.json").read_text())
    assert status["epoch"] == 1 and status["epochs_done"] == 1.0  # was "epoch": 2
    assert torch.load(ring_run / "checkpoint.pt", weights_only=False)["epoch"] == 1
    records = [json.loads(line) for line in (ring_run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 40 and records[-1]["epoch"] == status["epoch"]
    half = train(tiny_config("train.max_steps=60"), tmp_path / "half")
    assert json.loads((half / "run.json").read_text())["epoch"] == 2


# --------------------------------------------------------------------- the interpolation GIF


def test_interpolation_gif_is_at_least_400_px_wide(dcgan_run, tmp_path):
    out = tmp_path / "walk.gif"
    assert main(["viz", "interpolate", str(dcgan_run), "--gif", "--steps", "3",
                 "--out", str(out)]) == 0
    width, height = Image.open(out).size
    assert width >= 400 and height >= 400  # 8 paths of 28 px were 184 px


# --------------------------------------------------------------------- high_quality's unit


def test_high_quality_says_its_unit(ring_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(ring_run), "--metrics", "modes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["protocol"]["high_quality_unit"] == "percent"
    assert 0.0 <= result["metrics"]["high_quality"] <= 100.0  # the key itself is unchanged
    assert main(["eval", str(ring_run), "--metrics", "modes"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "high_quality:" in x)
    assert re.fullmatch(r"\s*high_quality: \d+\.\d{4} %", line), line


def test_eval_truncation_is_in_the_protocol_and_zero_collapses_to_one_point(ring_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(ring_run), "--metrics", "modes", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "truncation" not in plain["protocol"]
    assert main(["eval", str(ring_run), "--metrics", "modes", "--json", "--truncation", "0"]) == 0
    collapsed = json.loads(capsys.readouterr().out)
    assert collapsed["protocol"]["truncation"] == 0.0
    assert collapsed["metrics"]["modes"] <= 1  # z = 0 for every sample: one point
    assert json.loads((ring_run / "eval.json").read_text()) == collapsed


# --------------------------------------------------------------------- --labels


@pytest.mark.parametrize("flag", ["--labels", "--label"])
def test_sample_takes_labels_as_the_python_keyword_and_label_as_before(flag):
    args = build_parser().parse_args(["sample", "RUN", "--out", "x.png", flag, "7"])
    assert args.labels == 7


def test_sample_help_documents_labels(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "--labels LABEL, --label LABEL" in capsys.readouterr().out
