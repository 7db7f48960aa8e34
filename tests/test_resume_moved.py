"""Resuming a run whose data moved: data.dir may change without --force when the data is the same."""

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import REPO, SHARED_MNIST
from gankit.cli import main
from gankit.data import mnist as mnist_module
from test_image_folder import TINY_FOLDER, write_images


def _sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def _step(run: Path) -> int:
    return torch.load(run / "checkpoint.pt", weights_only=False)["g_steps"]


def _resume(run: Path, data_dir: Path, steps: int, *extra: str) -> int:
    argv = ["train", "--resume", "--run-dir", str(run), "--data-dir", str(data_dir)]
    return main([*argv, *_sets(f"train.max_steps={steps}"), *extra])


@pytest.mark.skipif(not all((SHARED_MNIST / n).is_file() for n in mnist_module.SHA256),
                    reason="shared MNIST files not present")
def test_mnist_run_resumes_from_moved_files_without_force(tmp_path):
    old = tmp_path / "old-machine" / "mnist"
    old.mkdir(parents=True)
    for name in mnist_module.SHA256:
        shutil.copy(SHARED_MNIST / name, old / name)
    run = tmp_path / "run"
    small = ["generator.hidden=[16]", "discriminator.hidden=[16]", "discriminator.pieces=2",
             "train.batch_size=50", "train.max_steps=2", "train.progress=false",
             "train.threads=1"]
    argv = ["train", str(REPO / "configs/mnist-paper.yaml"), "--run-dir", str(run),
            "--data-dir", str(old)]
    assert main([*argv, *_sets(*small)]) == 0
    new = tmp_path / "new-machine" / "mnist"
    shutil.move(old, new)
    assert _resume(run, new, 4) == 0  # checked by the files' SHA-256, not by their path
    assert _step(run) == 4
    assert f"dir: {new}" in (run / "config.yaml").read_text()


def test_image_folder_run_resumes_from_the_same_images_in_a_new_place(tmp_path, capsys):
    images = write_images(tmp_path / "old" / "images")
    run = tmp_path / "run"
    argv = ["train", "image-folder", "--data-dir", str(images), "--run-dir", str(run)]
    assert main([*argv, *_sets(*TINY_FOLDER)]) == 0
    assert len(torch.load(run / "checkpoint.pt", weights_only=False)["data_sha256"]) == 64
    moved = tmp_path / "new" / "images"
    moved.parent.mkdir()
    shutil.move(images, moved)
    assert _resume(run, moved, 4) == 0
    assert _step(run) == 4


def _trained_folder_run(tmp_path):
    """A tiny image-folder run, trained; returns (its images folder, its run folder)."""
    images = write_images(tmp_path / "images")
    run = tmp_path / "run"
    argv = ["train", "image-folder", "--data-dir", str(images), "--run-dir", str(run)]
    assert main([*argv, *_sets(*TINY_FOLDER)]) == 0
    return images, run


def test_image_folder_run_refuses_other_images_unless_forced(tmp_path, capsys):
    images, run = _trained_folder_run(tmp_path)
    other = write_images(tmp_path / "other", seed=1)
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    capsys.readouterr()
    assert _resume(run, other, 4) == 2
    err = capsys.readouterr().err
    assert "are not the ones this run was trained on" in err and "--force" in err
    assert err.count("\n") == 1
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
    # Images changed in place are caught the same way.
    Image.new("RGB", (20, 20)).save(images / "img000.png")
    assert _resume(run, images, 4) == 2
    assert "fingerprint differs" in capsys.readouterr().err
    assert _resume(run, other, 4, "--force") == 0
    assert _step(run) == 4


def test_other_config_changes_still_need_force(tmp_path, capsys):
    images, run = _trained_folder_run(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(images, moved)
    capsys.readouterr()
    assert _resume(run, moved, 4, "--set", "optim.lr=0.001") == 2
    err = capsys.readouterr().err
    assert "optim.lr" in err and "data.dir" not in err


def _strip_fingerprint(run: Path) -> None:
    """Make the checkpoint look as written before checkpoints kept the images' fingerprint."""
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    del state["data_sha256"]
    state.pop("checksum", None)  # such a checkpoint had no checksum either (loaded unchecked)
    torch.save(state, run / "checkpoint.pt")


def test_a_checkpoint_without_a_fingerprint_needs_force_to_move(tmp_path, capsys):
    images, run = _trained_folder_run(tmp_path)
    _strip_fingerprint(run)
    assert _resume(run, images, 3) == 0  # not moved: resumes as it always did, and keeps one
    assert "data_sha256" in torch.load(run / "checkpoint.pt", weights_only=False)
    _strip_fingerprint(run)
    moved = tmp_path / "moved"
    shutil.move(images, moved)
    capsys.readouterr()
    assert _resume(run, moved, 4) == 2
    assert "has no fingerprint of its images" in capsys.readouterr().err
    assert _resume(run, moved, 4, "--force") == 0
