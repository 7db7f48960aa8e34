"""Training on your own images: the shipped config, the MNIST trap, and eval's refusal."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from gankit.cli import main
from gankit.data import mnist as mnist_module
from gankit.errors import GankitError
from gankit.train.run import load_run

# The image-folder config made small enough for a test (width unit 4, batch 16).
TINY_FOLDER = [
    "generator.base=4",
    "discriminator.base=4",
    "train.batch_size=16",
    "train.max_steps=2",
    "train.progress=false",
    "train.threads=1",
    "train.n_sample_grid=16",
]


def write_images(folder: Path, n: int = 32, size: int = 20, seed: int = 0) -> Path:
    """n small RGB PNGs of random blobs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:03d}.png")
    return folder


def _sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def train_folder_run(tmp_path: Path, *extra: str, images: Path | None = None) -> Path:
    images = images or write_images(tmp_path / "images")
    run = tmp_path / "run"
    argv = ["train", "image-folder", "--data-dir", str(images), "--run-dir", str(run)]
    assert main(argv + _sets(*TINY_FOLDER, *extra)) == 0
    return run


@pytest.fixture
def no_download(monkeypatch):
    def refuse(url, dest, timeout=30.0):
        raise AssertionError(f"tried to download {url} into {dest.parent}")

    monkeypatch.setattr(mnist_module, "download_url", refuse)


# --------------------------------------------------------------------- the MNIST trap


def test_data_dir_of_images_with_an_mnist_config_names_the_fix(tmp_path, capsys, no_download):
    images = write_images(tmp_path / "mine", n=3)
    before = _snapshot(images)
    run = tmp_path / "run"
    argv = ["train", str(REPO / "configs/mnist-paper.yaml"), "--data-dir", str(images),
            "--run-dir", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and err.count("\n") == 1
    assert "holds images" in err and "--set data.dataset=image-folder" in err
    assert "gankit train image-folder" in err
    assert _snapshot(images) == before and not run.exists()


def test_images_in_class_folders_are_recognised_too(tmp_path, no_download):
    write_images(tmp_path / "mine" / "cats", n=2)
    with pytest.raises(GankitError, match="holds images"):
        mnist_module.load_mnist("train", tmp_path / "mine")


def test_nothing_is_downloaded_into_a_folder_that_holds_other_files(tmp_path, no_download):
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(GankitError) as info:
        mnist_module.load_mnist("train", folder)
    message = str(info.value)
    assert "\n" not in message and "holds other files (notes.txt" in message
    assert "nothing was downloaded" in message
    assert _snapshot(folder) == {"notes.txt": b"mine"}


def test_a_partial_mnist_folder_is_still_completed_by_download(tmp_path, monkeypatch):
    """An MNIST cache that lacks a file (an interrupted first download) may be completed."""
    folder = tmp_path / "cache"
    folder.mkdir()
    names = list(mnist_module.SHA256)
    (folder / names[0]).write_bytes(b"first")
    (folder / f"{names[1]}.abc123.part").write_bytes(b"left by a killed download")
    sums = {name: mnist_module.hashlib.sha256(name.encode()).hexdigest() for name in names}
    sums[names[0]] = mnist_module.hashlib.sha256(b"first").hexdigest()
    monkeypatch.setattr(mnist_module, "SHA256", sums)
    fetched = []

    def fake_download(url, dest, timeout=30.0):
        fetched.append(dest.name)
        dest.write_bytes(dest.name.encode())

    monkeypatch.setattr(mnist_module, "download_url", fake_download)
    mnist_module.ensure_mnist_files(folder)
    assert fetched == names[1:]


# --------------------------------------------------------------------- the shipped config


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3)])
def test_image_folder_config_trains_at_28_32_64_grey_and_rgb(tmp_path, size, channels):
    run = train_folder_run(tmp_path, f"data.size={size}", f"data.channels={channels}")
    assert (run / "samples" / "final.png").exists()
    samples = load_run(run).sample(3)
    assert tuple(samples.shape) == (3, channels, size, size)
    assert 0.0 <= float(samples.min()) and float(samples.max()) <= 1.0


def test_image_folder_config_without_a_folder_says_which_flag(tmp_path, capsys):
    assert main(["train", "image-folder", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--data-dir PATH" in err and not (tmp_path / "run").exists()


# --------------------------------------------------------------------- gankit eval


def test_eval_on_an_image_folder_run_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    run = train_folder_run(tmp_path)

    def no_mnist(*args, **kwargs):
        raise AssertionError("gankit eval reached for MNIST")

    monkeypatch.setattr(mnist_module, "load_mnist", no_mnist)
    capsys.readouterr()
    for argv in (["eval", str(run)], ["eval", str(run), "--metrics", "fid", "--json"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("gankit: error: gankit eval on an image-folder run: MNIST metrics "
                              "do not apply;") and err.count("\n") == 1
        assert f"gankit viz neighbours {run}" in err
    assert not (run / "eval.json").exists()
