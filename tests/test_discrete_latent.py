"""generator.z_categories: a one-hot code of a uniformly drawn category appended to z."""

from __future__ import annotations

import pytest
import torch

from gankit.config import load_config
from gankit.errors import GankitError
from gankit.nets import build_generator
from gankit.nets.mlp import MLPGenerator
from gankit.train.loop import Trainer


def test_the_code_is_one_hot_after_the_continuous_coordinates():
    G = MLPGenerator(z_dim=2, out_shape=(2,), hidden=[8], z_dist="normal", z_categories=5)
    assert G.z_dim == 7 and G.hidden[0].in_features == 7  # z_dim counts both parts
    z = G.sample_z(4000, generator=torch.Generator().manual_seed(0))
    code = z[:, 2:]
    assert z.shape == (4000, 7)
    assert torch.equal(code.sum(1), torch.ones(4000)) and set(code.unique().tolist()) == {0.0, 1.0}
    # equally likely categories: each near 800 of 4,000 (binomial s.d. ~25)
    counts = code.sum(0)
    assert (counts - 800).abs().max() < 125, counts
    # the continuous part is still N(0, 1), drawn first from the same generator
    ref = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z[:, :2], ref)
    assert G(z).shape == (4000, 2)


def test_without_categories_z_is_drawn_as_before():
    """K = 0 draws exactly the old z, so every earlier run reproduces."""
    G = MLPGenerator(z_dim=3, out_shape=(2,), hidden=[8], z_dist="uniform")
    z = G.sample_z(10, generator=torch.Generator().manual_seed(5))
    u = torch.rand(10, 3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(z, (2 * u - 1) * 3**0.5)


def test_the_config_key_reaches_the_generator_and_a_seed_fixes_the_run(tmp_path):
    sets = ["generator.z_categories=10", "train.max_steps=30", "train.epochs=0",
            "train.progress=false", "train.log_every=10", "data.n_train=2000", "seed=3"]
    cfg = load_config("configs/grid25-pacgan-level.yaml", sets)
    G = build_generator(cfg, (2,))
    assert G.z_categories == 10 and G.z_dim == 12
    a = Trainer(cfg, tmp_path / "a")
    a.run()
    b = Trainer(cfg, tmp_path / "b")
    b.run()
    for p, q in zip(a.G.parameters(), b.G.parameters(), strict=True):
        assert torch.equal(p, q)
    # the code matters: G maps two categories at the same continuous z to different points
    z = a.G.sample_z(2, generator=torch.Generator().manual_seed(0))
    z[1, :2] = z[0, :2]
    z[:, 2:] = torch.eye(10)[:2]
    a.G.eval()
    with torch.no_grad():
        x = a.G(z)
    assert not torch.allclose(x[0], x[1])


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["generator.z_categories=-1"], "generator.z_categories = -1 must be >= 0"),
        (["objective=bigan", "generator.z_categories=5"], "works with objectives gan and infogan only"),
    ],
)
def test_bad_categories_are_refused(sets, message):
    with pytest.raises(GankitError, match=message):
        load_config("configs/grid25-pacgan-level.yaml", sets)


def test_a_dcgan_refuses_the_key():
    with pytest.raises(GankitError, match="z_categories"):
        load_config("configs/mnist-dcgan.yaml", ["generator.z_categories=4"])
