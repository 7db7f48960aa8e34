"""pix2pix's per-epoch grids show each example's input | output | truth side by side."""

import io

import numpy as np
import torch
from PIL import Image

from conftest import REPO
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.train.loop import Trainer
from gankit.train.pix2pix import side_by_side


def test_side_by_side_interleaves_and_widens_grey_to_rgb():
    a, b = torch.rand(2, 3, 4, 4), torch.rand(2, 1, 4, 4)
    tiles = side_by_side(a, b)
    assert tiles.shape == (4, 3, 4, 4)
    assert torch.equal(tiles[2], a[1]) and torch.equal(tiles[3], b[1].expand(3, -1, -1))


def test_training_grid_is_input_output_truth(tmp_path):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(24, 3, 12, 12, generator=g)  # RGB inputs, grey targets
    b = torch.rand(24, 1, 12, 12, generator=g)
    cfg = load_config(REPO / "configs" / "mnist-sketch2digit.yaml", [
        "data.dataset=paired", "data.dir_a=a", "data.dir_b=b", "data.size=12",
        "pix2pix.g_base=4", "pix2pix.d_base=4", "train.batch_size=8", "train.epochs=0",
        "train.max_steps=3", "train.log_every=1", "train.progress=false", "train.threads=1",
        "train.n_sample_grid=30", "train.tensorboard=true"])
    trainer = Trainer(cfg, tmp_path / "run", data=TrainingData(b, None, 0, extras={"input": a}))
    trainer.run()
    objective = trainer.objective
    tiles, nrow = objective.preview_grid(30)
    assert nrow == 12 and tiles.shape == (24, 3, 12, 12)  # 10 pairs -> 2 whole rows of 4
    for i in range(8):
        assert torch.equal(tiles[3 * i], a[i])
        assert torch.equal(tiles[3 * i + 1], objective.preview(8)[i].expand(3, -1, -1))
        assert torch.equal(tiles[3 * i + 2], b[i].expand(3, -1, -1))
    assert not torch.equal(tiles[1], tiles[0]) and not torch.equal(tiles[1], tiles[2])
    # The written grid (2-pixel padding, enlarged twice): tile r, c at rows/columns
    # 2 * (2 + 14 r) ...; its first three tiles are input 0, output 0 and truth 0.
    png = np.asarray(Image.open(tmp_path / "run" / "samples" / "final.png")) / 255
    assert png.shape == (2 * (2 + 14 * 2), 2 * (2 + 14 * 12), 3)

    def tile(c: int) -> np.ndarray:
        top, left = 2 * 2, 2 * (2 + 14 * c)
        return png[top:top + 24:2, left:left + 24:2]

    for c, want in enumerate((a[0], tiles[1], b[0].expand(3, -1, -1))):
        assert np.abs(tile(c) - want.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    # TensorBoard's epoch picture (3 steps = one epoch of 24 pairs) is the same layout: input | output | truth, 12 tiles a row
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()
    tb = np.asarray(Image.open(io.BytesIO(acc.Images("samples")[-1].encoded_image_string)))
    assert tb.shape[1] == 2 + 14 * 12


def test_translate_grid_puts_each_input_beside_its_output(tmp_path, capsys):
    from gankit.cli import main
    from gankit.data.paired import load_images
    from test_pix2pix import _config

    Trainer(_config(tmp_path, "train.max_steps=1"), tmp_path / "run").run()
    images = tmp_path / "mine"
    images.mkdir()
    for name, value in (("dark", 30), ("light", 220)):
        Image.fromarray(np.full((12, 12), value, np.uint8)).save(images / f"{name}.png")
    grid, out = tmp_path / "grid.png", tmp_path / "out"
    assert main(["translate", str(tmp_path / "run"), "--images", str(images), "--out", str(out),
                 "--grid", str(grid)]) == 0
    png = np.asarray(Image.open(grid)) / 255  # grey: H x W
    assert png.shape == (2 * (2 + 14 * 2), 2 * (2 + 14 * 2))
    a = load_images(sorted(images.iterdir()), 12, 1)
    for row, name in enumerate(("dark", "light")):
        top = 2 * (2 + 14 * row)
        given = png[top:top + 24:2, 4:28:2]
        made = png[top:top + 24:2, 32:56:2]
        assert np.abs(given - a[row, 0].numpy()).max() < 1e-6
        written = np.asarray(Image.open(out / f"{name}.png")) / 255
        assert np.abs(made - written).max() < 1e-6
    assert main(["translate", str(tmp_path / "run"), "--images", str(images), "--out",
                 str(tmp_path / "o2"), "--grid", str(tmp_path / "g.jpg")]) == 2
    assert "name a .png file" in capsys.readouterr().err and not (tmp_path / "o2").exists()
