"""Configs shipped with gankit: found by name from any directory, installed as package data."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gankit
from conftest import REPO
from gankit.cli import main
from gankit.config import load_config, shipped_configs
from gankit.errors import GankitError


def test_configs_are_found_by_name_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("mnist-paper", "mnist-paper.yaml", "configs/mnist-paper.yaml"):
        assert load_config(name).name == "mnist-paper"
    assert main(["train", "mnist-paper", "--dry-run"]) == 0
    assert "name: mnist-paper" in capsys.readouterr().out


def test_a_file_that_exists_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (REPO / "configs/ring8.yaml").read_text().replace("name: ring8", "name: mine")
    (tmp_path / "ring8.yaml").write_text(text)
    assert load_config("ring8.yaml").name == "mine"
    assert load_config("ring8").name == "ring8"


def test_an_unknown_config_lists_the_shipped_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GankitError, match=r"not found; .*\(.*grid25, .*mnist-paper, .*\)"):
        load_config("mnist-papr")


def test_every_shipped_config_loads():
    shipped = shipped_configs()
    assert set(shipped) == {p.stem for p in (REPO / "configs").glob("*.yaml")}
    for name in shipped:
        assert load_config(name).name == name


def test_pyproject_ships_every_package_and_the_configs():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    src = REPO / "src"
    packages = {".".join(p.parent.relative_to(src).parts) for p in src.glob("gankit/**/__init__.py")}
    assert set(tool["packages"]) == packages | {"gankit.configs"}
    assert tool["package-dir"] == {"": "src", "gankit.configs": "configs"}
    assert tool["package-data"]["gankit.configs"] == ["*.yaml"]
    assert tool["package-data"]["gankit.metrics"] == ["weights/*.pt", "weights/*.json"]


def test_an_installed_gankit_finds_its_configs_by_name(tmp_path):
    """A non-editable install, used from a directory with no configs/ in sight."""
    pytest.importorskip("setuptools")
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    for folder in ("src", "configs"):
        shutil.copytree(REPO / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(source)],
        capture_output=True, text=True,
    )
    if install.returncode != 0 and "No module named pip" in install.stderr:
        pytest.skip("pip is not available")
    assert install.returncode == 0, install.stderr
    assert (site / "gankit" / "configs" / "mnist-paper.yaml").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", "import gankit, sys; print(gankit.__file__); "
         "sys.argv = ['gankit', 'train', 'mnist-paper', '--dry-run']; "
         "from gankit.cli import main; sys.exit(main())"],
        cwd=elsewhere, env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith(str(site)) and "name: mnist-paper" in out.stdout
    assert Path(gankit.__file__).resolve() != (site / "gankit" / "__init__.py").resolve()
