"""x4 super-resolution (objective srgan): sub-pixel ordering, shapes, PSNR/SSIM, content loss,
exact resume, the upscale verb, RGB folders at 32 and 64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO
from gankit.cli import main
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.metrics.ssim import K1, gaussian_window, psnr, ssim
from gankit.nets.srgan import SRGenerator, low_res
from gankit.train.loop import Trainer
from gankit.train.run import load_run

TINY_SR = ["srgan.g_base=4", "srgan.g_blocks=1", "srgan.d_base=4", "train.batch_size=8",
           "train.epochs=0", "train.max_steps=4", "train.log_every=1", "train.progress=false",
           "train.threads=1", "train.n_sample_grid=8"]


def write_pngs(folder, n: int, size: int, channels: int, seed: int = 0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = (size, size) if channels == 1 else (size, size, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def folder_config(folder, size: int, channels: int, *extra: str):
    return load_config(REPO / "configs/mnist-sr4.yaml", [
        "data.dataset=image-folder", f"data.dir={folder}", f"data.size={size}",
        f"data.channels={channels}", "srgan.feature_weight=0", *TINY_SR, *extra])


def test_pixel_shuffle_moves_channels_into_2x2_blocks_in_order():
    # Channel c = 2 * i + j of an input pixel becomes output pixel (2h + i, 2w + j).
    x = torch.arange(8.0).reshape(1, 4, 1, 2)  # channels 0-3, two pixels: values c*2 + w
    out = torch.nn.PixelShuffle(2)(x)
    expected = torch.tensor([[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]])
    assert out.shape == (1, 1, 2, 4)
    assert torch.equal(out[0, 0], expected)
    # and the generator's upsampling uses exactly that layer, twice
    g = SRGenerator(1, base=4, blocks=1)
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in g.modules()) == 2


@pytest.mark.parametrize(("side", "channels"), [(28, 1), (32, 3), (64, 3)])
def test_generator_output_is_4x_its_input(side, channels):
    g = SRGenerator(channels, base=4, blocks=1).eval()
    lr = low_res(torch.rand(2, channels, side, side))
    assert lr.shape[-1] == side // 4
    out = g(lr)
    assert out.shape == (2, channels, side, side)
    assert 0 <= out.min() and out.max() <= 1


def test_low_res_is_4x4_average_pooling():
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    assert torch.equal(low_res(x)[0, 0], torch.tensor([[13.5, 17.5], [45.5, 49.5]]))
    with pytest.raises(GankitError, match="divisible by 4"):
        low_res(torch.rand(1, 1, 30, 30))


def test_ssim_of_identical_images_is_one_and_of_constants_is_the_luminance_term():
    x = torch.rand(3, 1, 20, 20)
    assert torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64))
    # Two flat images a and b: no variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b = 0.3, 0.5
    got = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)).item()
    c1 = K1**2
    assert got == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)
    assert abs(gaussian_window().sum().item() - 1) < 1e-12


def test_ssim_of_a_shifted_ramp_is_the_mean_luminance_term():
    # A horizontal ramp: a symmetric window's mean is its centre pixel; a constant shift keeps
    # variance and covariance equal, so only the luminance term is left at each position.
    cols = torch.linspace(0.1, 0.6, 24, dtype=torch.float64)
    x = cols.expand(1, 1, 24, 24).clone()
    shift = 0.2
    mu = cols[5:-5]  # window centres of the valid positions (11 x 11 window)
    c1 = K1**2
    expected = ((2 * mu * (mu + shift) + c1) / (mu**2 + (mu + shift) ** 2 + c1)).mean()
    assert ssim(x, x + shift).item() == pytest.approx(expected.item(), rel=1e-9)


def test_psnr_of_a_known_error():
    x = torch.zeros(2, 1, 8, 8)
    assert torch.allclose(psnr(x, x + 0.1), torch.full((2,), 20.0, dtype=torch.float64))
    assert math.isinf(psnr(x, x)[0].item())
    with pytest.raises(GankitError, match="one shape"):
        psnr(x, torch.zeros(2, 1, 4, 4))


def test_content_loss_is_zero_for_identical_images():
    cfg = load_config(REPO / "configs/mnist-sr4.yaml", TINY_SR)
    from gankit.train.srgan import SRGANObjective

    class Data:
        x, shape = torch.rand(8, 1, 28, 28), (1, 28, 28)

    objective = SRGANObjective(cfg, Data(), torch.device("cpu"))
    assert objective.phi is not None  # the MNIST config uses the classifier's features
    hr = Data.x
    assert objective.content_loss(hr, hr).item() == 0.0
    assert objective.content_loss(hr.flip(0), hr).item() > 0.0


def test_srgan_resumes_exactly_and_upscales_files(tmp_path, capsys):
    folder = write_pngs(tmp_path / "imgs", 16, 32, 3)
    Trainer(folder_config(folder, 32, 3), tmp_path / "straight").run()
    Trainer(folder_config(folder, 32, 3, "train.max_steps=2"), tmp_path / "resumed").run()
    resumed = Trainer(folder_config(folder, 32, 3), tmp_path / "resumed", resume=True)
    assert resumed.progress.g_steps == 2
    resumed.run()
    a, b = load_run(tmp_path / "straight"), load_run(tmp_path / "resumed")
    assert set(a.nets) == {"generator", "discriminator"}
    for name in a.nets:
        for (k, p), q in zip(a.nets[name].state_dict().items(),
                             b.nets[name].state_dict().values(), strict=True):
            assert torch.equal(p, q), (name, k)
    # z-only sampling does not apply: one clear line
    assert main(["sample", str(tmp_path / "straight"), "--out", str(tmp_path / "s.png")]) == 2
    assert "gankit upscale" in capsys.readouterr().err
    small = write_pngs(tmp_path / "small", 2, 8, 3, seed=1)
    assert main(["upscale", str(tmp_path / "straight"), "--images", str(small),
                 "--out", str(tmp_path / "up")]) == 0
    outs = sorted(p.name for p in (tmp_path / "up").iterdir())
    assert outs == ["000.png", "001.png"]
    with Image.open(tmp_path / "up" / "000.png") as img:
        assert img.size == (32, 32) and img.mode == "RGB"
    assert main(["upscale", str(tmp_path / "straight"), "--images", str(small / "001.png"),
                 "--out", str(tmp_path / "one")]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["001.png"]
    assert main(["upscale", str(tmp_path / "straight"), "--images", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "up2")]) == 2
    assert not (tmp_path / "up2").exists()


def test_srresnet_has_no_discriminator_and_trains_at_64(tmp_path):
    folder = write_pngs(tmp_path / "imgs", 8, 64, 3)
    cfg = folder_config(folder, 64, 3, "srgan.adversarial_weight=0", "train.max_steps=1")
    t = Trainer(cfg, tmp_path / "run")
    assert t.objective.D is None and not t.objective.adversarial
    t.run()
    assert set(load_run(tmp_path / "run").nets) == {"generator"}
    assert (tmp_path / "run" / "samples" / "final.png").exists()


def test_srgan_config_errors_are_one_line(tmp_path):
    folder = write_pngs(tmp_path / "imgs", 8, 32, 3)
    cfg = folder_config(folder, 32, 3, "srgan.feature_weight=0.01")
    with pytest.raises(GankitError, match="srgan.feature_weight=0"):
        Trainer(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    for bad, match in (("srgan.adversarial_weight=-1", ">= 0"),
                       ("generator.kind=dcgan", "remove the generator"),
                       ("data.size=30", "divisible by 4"),
                       ("train.update=simultaneous", "alternating"),
                       ("loss=wgan-gp", "batch norm")):
        with pytest.raises(GankitError, match=match):
            folder_config(folder, 32, 3, bad)
    with pytest.raises(GankitError, match="only objective srgan reads"):
        load_config(REPO / "configs/mnist-dcgan.yaml", ["srgan.g_blocks=2"])


def _bench():
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("srgan")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_benchmark_doc_renders_from_its_saved_results_and_its_verdicts_can_flip():
    import json

    bench = _bench()
    results = json.loads((REPO / "docs/results/srgan.json").read_text())
    doc = bench.render(results, rendered_by="python benchmarks/srgan.py --render-only")
    assert doc == (REPO / "docs/results/srgan.md").read_text()
    assert "pattern (SRGAN lower in PSNR, better on the perceptual measure) is shown" in doc
    # SRGAN ahead in PSNR, or behind on FD: the same code says the pattern is not shown.
    results["paired"]["psnr"] = [0.5, 0.01]
    assert "is not shown" in "\n".join(bench.pattern(results))
    results["paired"]["psnr"] = [-0.5, 0.01]
    results["rows"]["SRGAN"]["fd"] = results["rows"]["SRResNet"]["fd"] + 1
    assert "is not shown" in "\n".join(bench.pattern(results))
