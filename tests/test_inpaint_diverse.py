"""objective inpaint's extra G terms: mode seeking (Mao et al. 2019), hidden L1, z at every
decoder layer: values by hand, validation, exact resume, and hidden pixels still hidden."""

from __future__ import annotations

import pytest
import torch

from conftest import straight_and_resumed
from gankit.data.masks import sample_masks
from gankit.errors import GankitError
from gankit.nets.inpaint import InpaintGenerator
from gankit.train.inpaint import MS_EPS, hidden_l1, mode_seeking
from gankit.train.loop import Trainer
from test_inpaint import SIZE, tiny_cfg, tiny_data

RECIPE = ("inpaint.mode_seeking=1", "inpaint.reconstruction=2", "inpaint.z_every_layer=true")


def test_mode_seeking_by_hand():
    a = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    b = torch.tensor([[1.0, 1.0], [0.0, 0.5]])  # |a - b| = 1, 0, 0.5, 0: mean 0.375
    z1, z2 = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])  # |z1 - z2| mean 1.5
    ratio = 0.375 / 1.5
    assert mode_seeking(a, b, z1, z2).item() == pytest.approx(1 / (ratio + MS_EPS))
    # equal completions: large but finite, and smaller when the completions differ more
    assert mode_seeking(a, a, z1, z2).item() == pytest.approx(1 / MS_EPS)
    assert mode_seeking(a, 1 - a, z1, z2) < mode_seeking(a, b, z1, z2)


def test_mode_seeking_gradient_pushes_completions_apart():
    a = torch.tensor([0.2, 0.4], requires_grad=True)
    b = torch.tensor([0.3, 0.1])
    mode_seeking(a, b, torch.zeros(1, 2), torch.ones(1, 2)).backward()
    # a[0] < b[0]: lowering a[0] widens the gap, so the gradient is positive; a[1] > b[1]: negative
    assert a.grad[0] > 0 > a.grad[1]


def test_hidden_l1_by_hand():
    real = torch.zeros(1, 1, 2, 2)
    completed = torch.tensor([[[[1.0, -2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert hidden_l1(completed, real, mask).item() == pytest.approx((2 + 3) / 2)


def test_z_every_layer_keeps_hidden_pixels_hidden_and_uses_z():
    torch.manual_seed(0)
    G = InpaintGenerator(z_dim=8, channels=1, size=SIZE, base=4, z_every_layer=True)
    x = torch.rand(5, 1, 28, 28)
    mask = sample_masks(5, SIZE, ["half", "quarter", "box"], [8, 16])
    poisoned = torch.where(mask > 0, torch.full_like(x, float("nan")), x)
    z = G.sample_z(5)
    out = G.complete(z, x, mask)
    assert torch.equal(out, G.complete(z, poisoned, mask))
    assert torch.equal(out[mask.expand_as(x) == 0], x[mask.expand_as(x) == 0])
    # z reaches the output through the decoder's z maps too, not only the bottleneck
    G.expand.weight.data[:, -8:] = 0
    assert not torch.equal(G.complete(z, x, mask), G.complete(G.sample_z(5), x, mask))


def test_the_regularised_step_completes_each_input_twice_with_different_z(tmp_path):
    t = Trainer(tiny_cfg(*RECIPE), tmp_path / "run", data=tiny_data())
    seen = []
    complete = t.objective.G.complete
    t.objective.G.complete = lambda z, x, m: seen.append((z, x, m)) or complete(z, x, m)
    stats = t.objective.g_update(t.clock(), t.real_batch(0))
    (z, x, m), = seen
    assert len(x) == 16 and torch.equal(x[:8], x[8:]) and torch.equal(m[:8], m[8:])
    assert not torch.equal(z[:8], z[8:])
    assert {"g_ms_loss", "g_l1_loss", "g_adv_loss"} <= set(stats)
    total = stats["g_adv_loss"] + stats["g_ms_loss"] + 2 * stats["g_l1_loss"]
    assert stats["g_loss"].item() == pytest.approx(total.item(), rel=1e-5)


def test_the_l2_baseline_ignores_the_gan_terms(tmp_path):
    cfg = tiny_cfg("inpaint.adversarial=false", "inpaint.mode_seeking=1",
                   "inpaint.reconstruction=10")  # the GAN's terms, as a GAN config carries them
    t = Trainer(cfg, tmp_path / "run", data=tiny_data())
    assert t.objective.D is None
    stats = t.objective.g_update(t.clock(), t.real_batch(0))
    assert set(stats) == {"g_loss"}  # the L2 step alone


def test_exact_resume_with_the_extra_terms(tmp_path):
    data = tiny_data()
    straight, resumed = straight_and_resumed(lambda *o: tiny_cfg(*RECIPE, *o), tmp_path,
                                             data=data)
    a, b = straight.objective.state_dict(), resumed.objective.state_dict()
    for net in ("generator", "discriminator"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), (net, key)


@pytest.mark.parametrize("override,message", [
    ("inpaint.mode_seeking=-1", r"inpaint.mode_seeking = -1.0 must be a number >= 0"),
    ("inpaint.mode_seeking=nan", r"inpaint.mode_seeking = nan must be a number >= 0"),
    ("inpaint.reconstruction=-0.5", r"inpaint.reconstruction = -0.5 must be a number >= 0"),
    ("inpaint.adversarial=false inpaint.reconstruction=-3",
     r"inpaint.reconstruction = -3.0 must be a number >= 0"),
])
def test_bad_extra_term_settings_are_one_line_errors(override, message):
    with pytest.raises(GankitError, match=message) as info:
        tiny_cfg(*override.split(" "))
    assert "\n" not in str(info.value)
