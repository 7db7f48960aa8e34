"""Figure 2 neighbours: nearest-neighbour search, the grid layout, and `gankit viz neighbours`."""

import pytest
import torch
from PIL import Image

from conftest import REPO, SHARED_MNIST
from gankit.errors import GankitError
from gankit.viz.neighbours import NEIGHBOUR_COLOUR, nearest_neighbours, neighbour_grid


def _brute_force(queries, references):
    q = queries.reshape(len(queries), 1, -1).double()
    r = references.reshape(1, len(references), -1).double()
    d = ((q - r) ** 2).sum(dim=2).sqrt()
    return d.min(dim=1)


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_nearest_neighbours_match_brute_force(chunk_size):
    g = torch.Generator().manual_seed(0)
    references = torch.rand(53, 1, 5, 4, generator=g)
    queries = torch.rand(9, 1, 5, 4, generator=g)
    index, dist = nearest_neighbours(queries, references, chunk_size=chunk_size)
    expected = _brute_force(queries, references)
    assert torch.equal(index, expected.indices)
    assert torch.allclose(dist, expected.values, atol=1e-9)


def test_nearest_neighbour_of_a_training_image_is_itself():
    g = torch.Generator().manual_seed(1)
    references = torch.rand(40, 1, 6, 6, generator=g)
    picks = torch.tensor([3, 17, 39])
    index, dist = nearest_neighbours(references[picks] + 1e-4, references, chunk_size=16)
    assert torch.equal(index, picks)
    assert torch.all(dist < 1e-2)


def test_nearest_neighbours_reject_mismatched_shapes():
    with pytest.raises(GankitError, match="same shape"):
        nearest_neighbours(torch.rand(2, 1, 4, 4), torch.rand(5, 1, 3, 3))


def test_grid_shape_and_neighbour_column():
    g = torch.Generator().manual_seed(2)
    train = torch.rand(30, 1, 8, 8, generator=g)
    # Each row's last sample is a slightly perturbed copy of a known training image.
    rows, cols = 3, 4
    samples = torch.rand(rows * (cols - 1), 1, 8, 8, generator=g)
    targets = [5, 12, 29]
    for r, t in enumerate(targets):
        samples[r * (cols - 1) + cols - 2] = train[t] * 0.98
    grid = neighbour_grid(samples, train, rows=rows, cols=cols, padding=2, gap=6, border=1)
    h = w = 8
    assert grid.shape == (3, rows * (h + 2) + 2, cols * (w + 2) + 2 + 6)
    for r, t in enumerate(targets):
        top, left = 2 + r * (h + 2), 2 + (cols - 1) * (w + 2) + 6
        shown = grid[:, top : top + h, left : left + w]
        assert torch.allclose(shown, train[t].expand(3, -1, -1))
        # The outline is the neighbour colour, and the first sample column is unchanged.
        assert torch.allclose(grid[:, top - 1, left], torch.tensor(NEIGHBOUR_COLOUR))
        first = grid[:, top : top + h, 2 : 2 + w]
        assert torch.allclose(first, samples[r * (cols - 1)].expand(3, -1, -1))


def test_grid_rejects_too_few_samples():
    with pytest.raises(GankitError, match="need 10 samples"):
        neighbour_grid(torch.rand(4, 1, 8, 8), torch.rand(5, 1, 8, 8), rows=2, cols=6)


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="shared MNIST not available")
def test_cli_draws_neighbours_for_a_tiny_mnist_run(tmp_path):
    from gankit.cli import main

    run = tmp_path / "run"
    sets = [
        "data.dataset=mnist",
        f"data.dir={SHARED_MNIST}",
        "generator.hidden=[16]",
        "discriminator.hidden=[16]",
        "discriminator.pieces=2",
        "train.epochs=0",
        "train.max_steps=2",
        "train.progress=false",
        "train.threads=1",
        "train.n_sample_grid=4",
    ]
    args = ["train", str(REPO / "configs/mnist-paper.yaml"), "--run-dir", str(run)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    out = tmp_path / "fig2.png"
    assert main(["viz", "neighbours", str(run), "--out", str(out), "--rows", "2", "--cols", "3"]) == 0
    picture = Image.open(out)
    assert picture.mode == "RGB"
    # 2 rows x 3 columns of 28-pixel digits with 2-pixel padding and a 6-pixel gap, scaled 3x.
    assert picture.size == (3 * (3 * 30 + 2 + 6), 3 * (2 * 30 + 2))
