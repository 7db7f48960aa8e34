"""Text to image on a user's captioned folder (data.dataset captioned-folder): pairing, every
refusal, RGB training at 32 and 64 px, the vocabulary kept with the run, exact resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, straight_and_resumed
from gankit.cli import main
from gankit.config import load_config
from gankit.data.captioned import Vocabulary, draw_captions, load_captioned_folder
from gankit.data.dataset import load_training_data
from gankit.errors import GankitError
from gankit.train.loop import Trainer
from gankit.train.run import load_run

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}
TINY = ["generator.z_dim=8", "generator.hidden=[16]", "discriminator.hidden=[16]",
        "text2image.word_dim=8", "text2image.embed_dim=4", "train.batch_size=8",
        "train.max_steps=6", "train.checkpoint_every=0", "train.log_every=2",
        "train.progress=false", "train.threads=1", "train.n_sample_grid=12"]


def write_folder(folder: Path, n: int = 12, size: int = 10) -> Path:
    """n flat-colour images, each with a caption file of two phrasings of its colour."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(COLOURS)
    for i in range(n):
        colour = names[i % 3]
        Image.new("RGB", (size, size), COLOURS[colour]).save(folder / f"im{i:02d}.png")
        (folder / f"im{i:02d}.txt").write_text(f"a {colour} square\n\nall {colour}\n")
    return folder


def tiny(folder: Path, *overrides: str):
    return load_config(REPO / "configs/text2image-folder.yaml",
                       [*TINY, f"data.dir={folder}", *overrides])


def test_captions_are_paired_with_their_images(tmp_path):
    folder = write_folder(tmp_path / "f", n=6)
    (folder / "sub").mkdir()  # a class sub-folder is read too
    Image.new("RGB", (10, 10), COLOURS["blue"]).save(folder / "sub" / "x.png")
    (folder / "sub" / "x.txt").write_text("one blue square\n")
    x, tokens, counts, vocab = load_captioned_folder(folder, 8, 3)
    assert x.shape == (7, 3, 8, 8) and tokens.shape[:2] == (7, 2)
    assert counts.tolist() == [2] * 6 + [1]  # blank lines are not captions
    assert vocab == ["<pad>", "a", "all", "blue", "green", "one", "red", "square"]
    for image, rows, count in zip(x, tokens, counts, strict=True):
        said = {vocab[i] for i in rows[:count].flatten().tolist() if i}
        colour = max(COLOURS, key=lambda c: -np.abs(np.array(COLOURS[c]) / 255
                                                     - image.mean(dim=(1, 2)).numpy()).sum())
        assert colour in said and not (said & set(COLOURS)) - {colour}
    assert tokens[6, 1].eq(0).all()  # the one-caption image's second row is padding


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "im00.txt").unlink(), "have no caption file: im00.png"),
    (lambda f: (f / "im01.txt").write_text("\n  \n"), "im01.txt is empty"),
    (lambda f: (f / "im02.png").unlink(), "have no image beside them: im02.txt"),
    (lambda f: [p.unlink() for p in f.glob("*.png")], "holds no images"),
    (lambda f: (f / "im03.txt").write_text("-- !\n"), "has no words"),
])
def test_folder_errors_are_one_line_and_write_nothing(tmp_path, capsys, damage, message):
    folder = write_folder(tmp_path / "f")
    damage(folder)
    with pytest.raises(GankitError, match=message):
        load_training_data(tiny(folder).data)
    code = main(["train", "text2image-folder", "--data-dir", str(folder), "--run-dir",
                 str(tmp_path / "run")])
    first = capsys.readouterr().err.strip().splitlines()[0]
    assert code != 0 and message in first
    assert not (tmp_path / "run").exists()


def test_sentence_errors_name_the_word_and_the_vocabulary():
    vocab = Vocabulary(["<pad>", "a", "red", "square"])
    assert vocab.encode(["A red square!", "red"]).tolist() == [[1, 2, 3], [2, 0, 0]]
    with pytest.raises(GankitError, match=r"unknown word 'purple'.*vocabulary.txt.*a, red, square"):
        vocab.encode(["a purple square"])
    with pytest.raises(GankitError, match="has no words"):
        vocab.encode(["?!"])


def test_mismatched_captions_come_from_another_image():
    tokens = torch.tensor([[[1, 0], [2, 0]], [[3, 0], [0, 0]], [[4, 5], [0, 0]]])
    counts = torch.tensor([2, 1, 1])
    for seed in range(20):
        right, wrong = draw_captions(tokens, counts, str(seed))
        for i in range(3):
            own = [tokens[i, k].tolist() for k in range(int(counts[i]))]
            assert right[i].tolist() in own and wrong[i].tolist() not in own
    assert torch.equal(draw_captions(tokens, counts, "s")[1], draw_captions(tokens, counts, "s")[1])


@pytest.mark.parametrize("size", [32, 64])
def test_rgb_training_at_32_and_64(tmp_path, size):
    folder = write_folder(tmp_path / "f", size=size + 3)  # resized and centre-cropped
    run = tmp_path / "run"
    trainer = Trainer(tiny(folder, f"data.size={size}"), run)
    trainer.run()
    assert (run / "samples" / "final.png").exists()
    assert (run / "vocabulary.txt").read_text().split() == ["a", "all", "blue", "green", "red",
                                                            "square"]
    assert load_run(run).sample(4).shape == (4, 3, size, size)
    rows = (run / "grid-sentences.txt").read_text().splitlines()
    assert rows == ["a red square", "a green square", "a blue square"]  # the files' first lines
    grid = Image.open(run / "samples" / "final.png")
    assert grid.size[0] == 2 * (2 + (size + 2) * 4)  # 12 images, 4 per row: one row a sentence


def test_vocabulary_is_kept_with_the_run(tmp_path, capsys):
    folder = write_folder(tmp_path / "f")
    run = tmp_path / "run"
    Trainer(tiny(folder), run).run()
    import shutil

    shutil.rmtree(folder)  # another machine: the run alone
    loaded = load_run(run)
    assert loaded.generator.tokenizer.words[1:] == ["a", "all", "blue", "green", "red", "square"]
    out = tmp_path / "red.png"
    assert main(["sample", str(run), "--text", "a red square", "--n", "4", "--out",
                 str(out)]) == 0 and out.exists()
    capsys.readouterr()
    assert main(["sample", str(run), "--text", "a purple square", "--n", "4", "--out",
                 str(tmp_path / "p.png")]) != 0
    err = capsys.readouterr().err.strip().splitlines()[0]
    assert "unknown word 'purple'" in err and "red, square" in err
    assert not (tmp_path / "p.png").exists()
    assert main(["report", str(run)]) == 0
    assert main(["eval", str(run)]) != 0
    assert "gankit eval on an captioned-folder run" in capsys.readouterr().err


def test_exact_resume_equals_straight_run(tmp_path):
    folder = write_folder(tmp_path / "f", n=16)
    straight, resumed = straight_and_resumed(lambda *o: tiny(folder, *o), tmp_path)
    for name in ("generator", "discriminator", "encoder"):
        a, b = straight.state()[name], resumed.state()[name]
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert straight.state()["vocabulary"] == resumed.state()["vocabulary"]


def test_config_refusals(tmp_path):
    with pytest.raises(GankitError, match="only objective text2image reads them"):
        load_config(REPO / "configs/image-folder.yaml", ["data.dataset=captioned-folder"])
    with pytest.raises(GankitError, match="text2image.drop changes MNIST"):
        tiny(tmp_path, "text2image.drop=0.5")
    with pytest.raises(GankitError, match="needs a folder of images with captions"):
        load_training_data(load_config(REPO / "configs/text2image-folder.yaml").data)
