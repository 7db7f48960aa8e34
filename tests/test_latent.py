"""Latent-space pictures: interpolation paths, style measures, vector arithmetic, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.nets.dcgan import DCGANGenerator
from gankit.train.loop import Trainer
from gankit.viz.arithmetic import ink, latent_arithmetic, slant, style_groups
from gankit.viz.latent import class_grid, interpolate, lerp, slerp

REPO = Path(__file__).resolve().parents[1]
Z_DIM = 16


def _points(p: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(p, Z_DIM, generator=torch.Generator().manual_seed(seed))


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spherical", [False, True])
@pytest.mark.parametrize("p", [2, 4])
def test_path_passes_exactly_through_the_given_points(spherical: bool, p: int) -> None:
    points = _points(p)
    steps = 7
    path = interpolate(points, steps, spherical=spherical)
    assert path.shape == ((p - 1) * (steps - 1) + 1, Z_DIM)
    for i in range(p):
        assert torch.equal(path[i * (steps - 1)], points[i])  # exactly, not approximately


def test_slerp_keeps_the_norm_of_equal_norm_ends_and_lerp_does_not() -> None:
    z0, z1 = _points(2)
    z1 = z1 * (z0.norm() / z1.norm())
    t = torch.linspace(0, 1, 21)
    spherical = slerp(z0, z1, t).norm(dim=1)
    linear = lerp(z0, z1, t).norm(dim=1)
    assert torch.allclose(spherical, z0.norm().expand(21), rtol=1e-5)
    assert linear[10] < 0.9 * z0.norm()  # the straight path cuts inside the shell


def test_slerp_moves_along_the_great_circle_at_constant_speed() -> None:
    z0, z1 = _points(2, seed=1)
    z1 = z1 * (z0.norm() / z1.norm())
    path = slerp(z0, z1, torch.linspace(0, 1, 11))
    unit = path / path.norm(dim=1, keepdim=True)
    angles = torch.arccos((unit[:-1] * unit[1:]).sum(dim=1).clamp(-1, 1))
    assert torch.allclose(angles, angles.mean().expand(10), rtol=1e-3)


def test_slerp_of_parallel_vectors_is_finite() -> None:
    z0 = _points(1)[0]
    path = slerp(z0, 2 * z0, torch.linspace(0, 1, 5))
    assert torch.isfinite(path).all()
    assert torch.allclose(path[2], 1.5 * z0)


# --- style measures --------------------------------------------------------------------------


def _bar(width: int, shear: float = 0.0) -> torch.Tensor:
    """A vertical bar of `width` pixels on 28x28, sheared: x moves `shear` px per row upwards."""
    img = torch.zeros(1, 28, 28)
    for row in range(4, 24):
        centre = 14 + shear * (14 - row)
        left = round(centre - width / 2)
        img[0, row, max(left, 0) : min(left + width, 28)] = 1.0
    return img


def test_ink_grows_with_stroke_width() -> None:
    values = ink(torch.stack([_bar(2), _bar(4), _bar(6)]))
    assert values[0] < values[1] < values[2]


def test_slant_sign_and_order() -> None:
    values = slant(torch.stack([_bar(3, -0.4), _bar(3), _bar(3, 0.2), _bar(3, 0.4)]))
    assert values[0] < -0.2 and abs(values[1]) < 0.05 and 0.1 < values[2] < values[3]
    assert values[3] == pytest.approx(0.4, abs=0.05)  # the shear itself, in px per row


def test_style_groups_pick_the_extremes() -> None:
    images = torch.stack([_bar(6), _bar(2), _bar(3, 0.5), _bar(4), _bar(4, 0.1), _bar(3)])
    groups = style_groups(images, k=1)
    assert groups["thick"].tolist() == [0]
    assert groups["thin"].tolist() == [1]
    assert groups["slanted"].tolist() == [2]


# --- arithmetic and class grids ---------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [0, 10])
def test_arithmetic_shapes(n_classes: int) -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(z_dim=Z_DIM, base=4, n_classes=n_classes).eval()
    result = latent_arithmetic(g, k=3, pool=60, n_classes=n_classes, variations=4)
    assert result.names == ("thick", "thin", "slanted")
    for name in result.names:
        assert result.z[name].shape == (3, Z_DIM)
        assert result.images[name].shape == (3, 1, 28, 28)
        assert result.mean_images[name].shape == (1, 28, 28)
    expected = n_classes if n_classes else 5
    assert result.result_images.shape == (expected, 1, 28, 28)
    assert result.result_z.shape == (Z_DIM,)
    assert set(result.measured) == {"thick", "thin", "slanted", "result"}
    # The thick group was chosen for its ink, so it must measure more than the thin one.
    assert result.measured["thick"]["ink"] > result.measured["thin"]["ink"]


def test_class_grid_decodes_one_z_per_row_with_every_label() -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(z_dim=Z_DIM, base=4, n_classes=10).eval()
    grid = class_grid(g, n=3, n_classes=10, seed=5)
    assert grid.shape == (30, 1, 28, 28)
    z = g.sample_z(3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        row1 = g(z[1:2].expand(10, -1), torch.arange(10))
    assert torch.allclose(grid[10:20], row1, atol=1e-6)


# --- CLI on tiny runs ---------------------------------------------------------------------------


def _tiny_run(root: Path, config: str) -> Path:
    cfg = load_config(
        REPO / "configs" / config,
        [
            "generator.base=4",
            "discriminator.base=4",
            # Two steps leave extra layers' weights at N(0, 0.02): under eval-mode batch norm
            # they wash out z, every sample comes out alike and GIF frames would merge.
            "generator.extra_layers=0",
            "discriminator.extra_layers=0",
            "train.batch_size=16",
            "train.epochs=0",
            "train.max_steps=2",
            "train.progress=false",
            "train.threads=1",
            "train.n_sample_grid=10",
        ],
    )
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    return Trainer(cfg, root / "run", data=TrainingData(x, torch.arange(32) % 10, 10)).run()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_run(tmp_path_factory.mktemp("dcgan"), "mnist-dcgan.yaml")


@pytest.fixture(scope="module")
def tiny_conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_run(tmp_path_factory.mktemp("cdcgan"), "mnist-cdcgan.yaml")


@pytest.mark.parametrize("extra", [[], ["--slerp"], ["--points", "3"]])
def test_cli_interpolate_png(tiny_run: Path, tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "walk.png"
    code = main(
        ["viz", "interpolate", str(tiny_run), "--n", "2", "--steps", "4", "--out", str(out), *extra]
    )
    assert code == 0
    length = 4 if "--points" not in extra else 7
    scale, cell = 2, 28 + 2
    assert Image.open(out).size == (scale * (length * cell + 2), scale * (2 * cell + 2))


def test_cli_interpolate_gif_plays_there_and_back(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "walk.gif"
    assert (
        main(
            [
                "viz",
                "interpolate",
                str(tiny_run),
                "--n",
                "4",
                "--steps",
                "5",
                "--gif",
                "--slerp",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    gif = Image.open(out)
    assert gif.n_frames == 2 * 5 - 2


def test_cli_interpolate_default_output_in_run(tiny_conditional_run: Path) -> None:
    assert (
        main(
            [
                "viz",
                "interpolate",
                str(tiny_conditional_run),
                "--n",
                "2",
                "--steps",
                "3",
                "--label",
                "3",
            ]
        )
        == 0
    )
    assert (tiny_conditional_run / "interpolation.png").exists()


def test_cli_bad_label_and_bad_counts(
    tiny_conditional_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = str(tmp_path / "x.png")
    assert (
        main(["viz", "interpolate", str(tiny_conditional_run), "--label", "12", "--out", out]) == 2
    )
    assert "out of range" in capsys.readouterr().err
    assert (
        main(["viz", "interpolate", str(tiny_conditional_run), "--points", "1", "--out", out]) == 2
    )
    assert "--points" in capsys.readouterr().err


def test_cli_arithmetic(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "sum.png"
    assert (
        main(["viz", "arithmetic", str(tiny_run), "--out", str(out), "--pool", "60", "--k", "3"])
        == 0
    )
    assert Image.open(out).size[0] > 200
    assert "thick - thin + slanted" in capsys.readouterr().out
    assert main(["viz", "arithmetic", str(tiny_run), "--classes", "--out", str(out)]) == 2
    assert "conditional" in capsys.readouterr().err


def test_cli_arithmetic_conditional_with_class_grid(
    tiny_conditional_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sum.png"
    assert (
        main(
            [
                "viz",
                "arithmetic",
                str(tiny_conditional_run),
                "--out",
                str(out),
                "--pool",
                "60",
                "--k",
                "3",
                "--classes",
            ]
        )
        == 0
    )
    grid = Image.open(tmp_path / "sum-classes.png")
    assert grid.size == (2 * (10 * 30 + 2), 2 * (8 * 30 + 2))  # 8 rows of z, 10 classes
