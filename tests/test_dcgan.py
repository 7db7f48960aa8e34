"""Tests for the DCGAN networks and the shared conv-GAN layers (small widths, CPU, fast)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator, resolve_size
from gankit.nets.layers import (
    ConditionalBatchNorm2d,
    MinibatchStdDev,
    SelfAttention2d,
    maybe_spectral_norm,
    pack_samples,
)

BASE = 8  # narrow nets keep the whole file fast on a shared CPU


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _largest_singular_value(weight: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2))


# --- sizes and shapes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (8, (4, 1)),
        (14, (7, 1)),
        (28, (7, 2)),
        (32, (4, 3)),
        (56, (7, 3)),
        (64, (4, 4)),
        (128, (4, 5)),
    ],
)
def test_resolve_size_splits_into_base_and_doublings(size: int, expected: tuple[int, int]):
    assert resolve_size(size) == expected


@pytest.mark.parametrize("size", [0, 4, 7, 27, 30, 48, 100, -28, 28.0])
def test_unsupported_size_raises_with_supported_list(size):
    with pytest.raises(GankitError, match="unsupported image size") as info:
        DCGANGenerator(size=size, base=BASE)
    assert "28" in str(info.value) and "32" in str(info.value)
    with pytest.raises(GankitError, match="unsupported image size"):
        DCGANDiscriminator(size=size, base=BASE)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_output_shape_and_range(size: int, channels: int):
    g = DCGANGenerator(z_dim=16, channels=channels, size=size, base=BASE)
    with torch.no_grad():
        x = g(g.sample_z(4))
    assert x.shape == (4, channels, size, size)
    assert x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_generator_tanh_output_is_mapped_to_unit_interval():
    g = DCGANGenerator(z_dim=8, size=28, base=BASE, output="tanh")
    with torch.no_grad():
        x = g(g.sample_z(4) * 50)  # large z saturates the output layer
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    with pytest.raises(GankitError, match="output"):
        DCGANGenerator(output="relu")


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_output_shape(size: int, channels: int):
    d = DCGANDiscriminator(channels=channels, size=size, base=BASE)
    logits = d(torch.rand(5, channels, size, size))
    assert logits.shape == (5,)


def test_discriminator_rejects_wrong_input_shape():
    d = DCGANDiscriminator(channels=1, size=28, base=BASE)
    with pytest.raises(GankitError, match=r"\(N, 1, 28, 28\)"):
        d(torch.rand(2, 3, 28, 28))


def test_generator_rejects_wrong_z_shape():
    g = DCGANGenerator(z_dim=16, base=BASE)
    with pytest.raises(GankitError, match="z of shape"):
        g(torch.randn(2, 15))


def test_sample_z_is_standard_normal_and_reproducible():
    g = DCGANGenerator(z_dim=32, base=BASE)
    z1 = g.sample_z(2000, generator=torch.Generator().manual_seed(3))
    z2 = g.sample_z(2000, generator=torch.Generator().manual_seed(3))
    assert z1.shape == (2000, 32) and torch.equal(z1, z2)
    assert abs(float(z1.mean())) < 0.02 and abs(float(z1.std()) - 1) < 0.02
    assert g.z_dim == 32


# --- conditioning -------------------------------------------------------------------------


def test_conditioning_changes_generator_output():
    g = DCGANGenerator(z_dim=16, size=28, base=BASE, n_classes=10)
    z = g.sample_z(6)
    x0 = g(z, torch.zeros(6, dtype=torch.long))
    x1 = g(z, torch.ones(6, dtype=torch.long))
    assert x0.shape == (6, 1, 28, 28)
    assert (x0 - x1).abs().max() > 1e-4
    assert torch.allclose(x0, g(z, torch.zeros(6, dtype=torch.long)))  # deterministic given y


def test_conditional_batch_norm_uses_class_specific_params():
    cbn = ConditionalBatchNorm2d(3, n_classes=2)
    assert torch.equal(cbn.gamma.weight, torch.ones(2, 3))
    assert torch.equal(cbn.beta.weight, torch.zeros(2, 3))
    with torch.no_grad():
        cbn.gamma.weight[1] = torch.tensor([2.0, 3.0, 4.0])
        cbn.beta.weight[1] = torch.tensor([0.5, -1.0, 0.0])
    x = torch.randn(8, 3, 4, 4)
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    out = cbn(x, y)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    normalised = (x - mean) / torch.sqrt(var + cbn.bn.eps)
    assert torch.allclose(out[y == 0], normalised[y == 0], atol=1e-5)
    gamma = torch.tensor([2.0, 3.0, 4.0]).view(1, 3, 1, 1)
    beta = torch.tensor([0.5, -1.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(out[y == 1], gamma * normalised[y == 1] + beta, atol=1e-5)


def test_conditional_batch_norm_without_classes_is_plain_batch_norm():
    cbn = ConditionalBatchNorm2d(3, n_classes=0)
    assert cbn.bn.affine and not hasattr(cbn, "gamma")
    reference = nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 5)
    assert torch.allclose(cbn(x), reference(x), atol=1e-6)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (None, "conditional"),
        (torch.tensor([0, 10]), r"\[0, 9\]"),
        (torch.tensor([-1, 0]), r"\[0, 9\]"),
        (torch.tensor([0.0, 1.0]), "integer"),
        (torch.tensor([0, 1, 2]), "shape"),
    ],
)
def test_bad_labels_raise(labels, message):
    g = DCGANGenerator(z_dim=8, base=BASE, n_classes=10)
    d = DCGANDiscriminator(base=BASE, n_classes=10)
    with pytest.raises(GankitError, match=message):
        g(g.sample_z(2), labels)
    with pytest.raises(GankitError, match=message):
        d(torch.rand(2, 1, 28, 28), labels)


def test_conditional_nets_compile_as_one_graph():
    # Reading the labels' range (int(y.min())) splits a compiled graph, and on a GPU waits for
    # the device in every layer that takes labels: check_labels skips it when compiling.
    g = DCGANGenerator(z_dim=8, base=BASE, n_classes=10)
    d = DCGANDiscriminator(base=BASE, n_classes=10)
    y = torch.tensor([3, 7])
    fake = torch.compile(g, fullgraph=True, backend="eager")(g.sample_z(2), y)
    assert fake.shape == (2, 1, 28, 28)
    assert torch.compile(d, fullgraph=True, backend="eager")(fake, y).shape == (2,)


def test_unconditional_nets_reject_labels():
    g = DCGANGenerator(z_dim=8, base=BASE)
    with pytest.raises(GankitError, match="unconditional"):
        g(g.sample_z(2), torch.tensor([0, 1]))


def test_projection_discriminator_adds_embedding_inner_product():
    d = DCGANDiscriminator(channels=3, size=32, base=BASE, n_classes=5).eval()
    x = torch.rand(4, 3, 32, 32)
    features = {}
    d.to_logit.register_forward_hook(lambda m, inputs, out: features.update(h=inputs[0]))
    y_a, y_b = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 4, 0, 1])
    logit_a = d(x, y_a)
    h = features["h"]
    logit_b = d(x, y_b)
    assert logit_a.shape == (4,)
    expected = ((d.embed.weight[y_a] - d.embed.weight[y_b]) * h).sum(dim=1)
    assert torch.allclose(logit_a - logit_b, expected, atol=1e-5)
    assert (logit_a - logit_b).abs().max() > 0


def test_conditional_discriminator_refuses_packing():
    with pytest.raises(GankitError, match="pack"):
        DCGANDiscriminator(base=BASE, n_classes=10, pack=2)


# --- spectral norm ----------------------------------------------------------------------


def test_spectral_norm_makes_largest_singular_value_one():
    d = DCGANDiscriminator(size=28, base=BASE, spectral_norm=True, batch_norm=False)
    g = DCGANGenerator(z_dim=16, size=28, base=BASE, spectral_norm=True)
    x = torch.rand(4, 1, 28, 28)
    for _ in range(20):  # each training-mode forward pass runs one power iteration
        d(x)
        g(g.sample_z(4))
    layers = [*d.convs, d.to_logit, g.project]
    for layer in layers:
        assert _largest_singular_value(layer.weight) == pytest.approx(1.0, abs=0.05)
        # The unnormalised weight is far from norm 1, so the check above is meaningful.
        raw = layer.parametrizations.weight.original
        assert abs(_largest_singular_value(raw) - 1.0) > 0.2
    for up in [*g.ups, g.to_image]:  # transposed convs normalise along their output dim
        weight = up.weight.transpose(0, 1)
        assert _largest_singular_value(weight) == pytest.approx(1.0, abs=0.05)


def test_maybe_spectral_norm_disabled_returns_module_unchanged():
    conv = nn.Conv2d(2, 4, 3)
    assert maybe_spectral_norm(conv, False) is conv
    assert not hasattr(conv, "parametrizations")


# --- self-attention --------------------------------------------------------------------


def test_self_attention_shape_and_identity_at_zero_gamma():
    attention = SelfAttention2d(16)
    x = torch.randn(2, 16, 7, 5)
    out = attention(x)
    assert out.shape == x.shape
    assert float(attention.gamma.detach()) == 0.0
    assert torch.equal(out, x)


def test_self_attention_matches_softmax_over_positions():
    attention = SelfAttention2d(16)
    with torch.no_grad():
        attention.gamma.fill_(0.7)
    x = torch.randn(2, 16, 3, 4)
    q = attention.query(x).flatten(2)
    k = attention.key(x).flatten(2)
    v = attention.value(x).flatten(2)
    assert q.shape[1] == 2  # C/8 query/key channels
    weights = torch.softmax(torch.einsum("nci,ncj->nij", q, k), dim=2)
    expected = 0.7 * torch.einsum("nij,ncj->nci", weights, v).reshape(x.shape) + x
    assert torch.allclose(attention(x), expected, atol=1e-5)


@pytest.mark.parametrize(("size", "resolution"), [(28, 14), (32, 16), (64, 16)])
def test_attention_sits_at_14_or_16_resolution(size: int, resolution: int):
    g = DCGANGenerator(z_dim=8, size=size, base=BASE, attention=True)
    d = DCGANDiscriminator(size=size, base=BASE, attention=True)
    seen = []
    for net in (g, d):
        modules = [m for m in net.modules() if isinstance(m, SelfAttention2d)]
        assert len(modules) == 1
        modules[0].register_forward_hook(lambda m, inputs, out: seen.append(out.shape[-1]))
    g(g.sample_z(2))
    d(torch.rand(2, 1, size, size))
    assert seen == [resolution, resolution]


# --- PacGAN packing and minibatch std ------------------------------------------------------


def test_pack_samples_images_and_flat():
    x = torch.randn(6, 1, 28, 28)
    packed = pack_samples(x, 3)
    assert packed.shape == (2, 3, 28, 28)
    assert torch.equal(packed[0, 1], x[1, 0]) and torch.equal(packed[1, 0], x[3, 0])
    flat = torch.randn(6, 2)
    packed_flat = pack_samples(flat, 2)
    assert packed_flat.shape == (3, 4)
    assert torch.equal(packed_flat[1], torch.cat([flat[2], flat[3]]))
    assert torch.equal(pack_samples(flat, 1), flat)


@pytest.mark.parametrize("m", [0, -2, 2.0])
def test_pack_samples_rejects_bad_pack_size(m):
    with pytest.raises(GankitError, match="pack size"):
        pack_samples(torch.randn(4, 2), m)


def test_pack_samples_rejects_indivisible_batch():
    with pytest.raises(GankitError, match="not divisible"):
        pack_samples(torch.randn(5, 1, 28, 28), 2)


def test_packed_discriminator_takes_packed_batch():
    d = DCGANDiscriminator(channels=3, size=32, base=BASE, pack=2)
    x = torch.rand(8, 3, 32, 32)
    d.eval()
    packed = d(pack_samples(x, 2))
    assert packed.shape == (4,)
    # An unpacked batch is packed inside D (as the MLP D does), giving the same logits.
    assert torch.equal(d(x), packed)
    with pytest.raises(GankitError, match="pack_samples"):
        d(torch.rand(8, 5, 32, 32))


def test_minibatch_std_adds_one_channel_or_feature():
    layer = MinibatchStdDev(group_size=8)
    x = torch.randn(8, 3, 4, 4)
    out = layer(x)
    assert out.shape == (8, 4, 4, 4)
    assert torch.equal(out[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[:, 3], expected.expand(8, 4, 4), atol=1e-5)
    flat = torch.randn(8, 5)
    assert layer(flat).shape == (8, 6)


def test_minibatch_std_groups_samples():
    x = torch.randn(8, 5)
    out = MinibatchStdDev(group_size=4)(x)
    # Groups are strided: with 8 samples and groups of 4, sample 0 shares with 2, 4, 6.
    expected = x[[0, 2, 4, 6]].std(dim=0, unbiased=False).mean()
    assert float(out[0, 5]) == pytest.approx(float(expected), rel=1e-5)
    assert float(out[1, 5]) != pytest.approx(float(expected), rel=1e-3)
    # A batch of 6 with group_size 4 falls back to groups of 3.
    assert MinibatchStdDev(group_size=4)(torch.randn(6, 1, 2, 2)).shape == (6, 2, 2, 2)
    with pytest.raises(GankitError, match="group_size"):
        MinibatchStdDev(group_size=0)


def test_discriminator_with_minibatch_std_runs():
    d = DCGANDiscriminator(size=28, base=BASE, minibatch_std=True, std_group_size=2)
    assert d.to_logit.in_features == (2 * BASE + 1) * 7 * 7
    assert d(torch.rand(6, 1, 28, 28)).shape == (6,)


# --- batch-norm-free mode and initialisation ------------------------------------------------


def test_batch_norm_free_nets_have_no_batch_norm():
    d = DCGANDiscriminator(size=32, base=BASE, batch_norm=False, attention=True)
    g = DCGANGenerator(z_dim=8, size=32, base=BASE, batch_norm=False)
    for net in (d, g):
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert d(torch.rand(3, 1, 32, 32)).shape == (3,)
    assert g(g.sample_z(3)).shape == (3, 1, 32, 32)
    # The default D uses batch norm everywhere but on its input layer (DCGAN).
    default = DCGANDiscriminator(size=32, base=BASE)
    assert isinstance(default.norms[0], nn.Identity)
    assert all(isinstance(norm, nn.BatchNorm2d) for norm in default.norms[1:])
    with pytest.raises(GankitError, match="batch_norm=True"):
        DCGANGenerator(batch_norm=False, n_classes=10)


@pytest.mark.parametrize("size", [28, 32])
def test_extra_layers_add_stride_one_convs_at_every_hidden_resolution(size: int):
    g0, g2 = (DCGANGenerator(z_dim=8, size=size, base=BASE, extra_layers=m) for m in (0, 2))
    d0, d2 = (DCGANDiscriminator(size=size, base=BASE, extra_layers=m) for m in (0, 2))
    # G: at the s0 map and at each hidden up-sampled map (7, 14 for 28; 4, 8, 16 for 32);
    # D: after each stride-2 conv (14, 7; 16, 8, 4).
    n = resolve_size(size)[1]
    assert [len(e) for e in g2.extras] == [2] * n and [len(e) for e in g0.extras] == [0] * n
    assert [len(e) for e in d2.extras] == [2] * n and [len(e) for e in d0.extras] == [0] * n

    def convs_3x3(net: nn.Module) -> list[nn.Conv2d]:
        return [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]

    assert len(convs_3x3(g2)) == 2 * n and len(convs_3x3(d2)) == 2 * n and not convs_3x3(g0)
    assert all(c.stride == (1, 1) and c.in_channels == c.out_channels for c in convs_3x3(g2))
    z = g2.sample_z(3)
    with torch.no_grad():
        x = g2(z)
    assert x.shape == (3, 1, size, size) and d2(x).shape == (3,)
    # Extra layers change the function, not just the parameter count.
    assert sum(p.numel() for p in g2.parameters()) > sum(p.numel() for p in g0.parameters())


def test_extra_layers_with_conditioning_and_without_batch_norm():
    g = DCGANGenerator(z_dim=8, size=28, base=BASE, n_classes=10, extra_layers=1)
    y = torch.tensor([0, 3, 9])
    # Conditional G: the extra layers' norms are class-conditional too.
    assert all(isinstance(norm, ConditionalBatchNorm2d) for ext in g.extras for _, norm in ext)
    assert g(g.sample_z(3), y).shape == (3, 1, 28, 28)
    critic = DCGANDiscriminator(size=28, base=BASE, batch_norm=False, extra_layers=1)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    assert critic(torch.rand(3, 1, 28, 28)).shape == (3,)
    for bad in (-1, 1.5, True):
        with pytest.raises(GankitError, match="extra_layers"):
            DCGANDiscriminator(size=28, base=BASE, extra_layers=bad)


def test_dcgan_init_statistics():
    g = DCGANGenerator(z_dim=100, size=28, base=64, n_classes=10)
    d = DCGANDiscriminator(size=28, base=64)
    for net in (g, d):
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                weight = module.weight.detach()
                if weight.numel() >= 1000:
                    assert float(weight.std()) == pytest.approx(0.02, rel=0.1)
                    assert abs(float(weight.mean())) < 0.005
        gammas = [m.weight for m in net.modules() if isinstance(m, nn.BatchNorm2d) and m.affine]
        gammas += [
            m.gamma.weight
            for m in net.modules()
            if isinstance(m, ConditionalBatchNorm2d) and m.n_classes > 0
        ]
        all_gammas = torch.cat([gamma.detach().flatten() for gamma in gammas])
        assert all_gammas.numel() >= 100
        assert float(all_gammas.mean()) == pytest.approx(1.0, abs=0.01)
        assert float(all_gammas.std()) == pytest.approx(0.02, rel=0.25)


# --- training smoke test ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"n_classes": 3, "attention": True, "spectral_norm": True}],
    ids=["plain", "conditional-attention-sn"],
)
def test_one_adam_step_changes_weights(options: dict):
    g = DCGANGenerator(z_dim=8, size=28, base=BASE, **options)
    d = DCGANDiscriminator(size=28, base=BASE, **options)
    y = torch.tensor([0, 1, 2, 0]) if options.get("n_classes") else None
    real = torch.rand(4, 1, 28, 28)
    bce = nn.functional.binary_cross_entropy_with_logits
    for net, loss_fn in (
        (
            d,
            lambda: (
                bce(d(real, y), torch.ones(4))
                + bce(d(g(g.sample_z(4), y).detach(), y), torch.zeros(4))
            ),
        ),
        (g, lambda: bce(d(g(g.sample_z(4), y), y), torch.ones(4))),
    ):
        weights = {
            name: p.detach().clone()
            for name, p in net.named_parameters()
            if "weight" in name and "norm" not in name
        }
        optimiser = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        optimiser.zero_grad()
        loss = loss_fn()
        assert torch.isfinite(loss)
        loss.backward()
        optimiser.step()
        changed = {
            name
            for name, p in net.named_parameters()
            if name in weights and not torch.equal(p, weights[name])
        }
        main = {name for name in weights if "attentions" not in name}
        assert main <= changed, f"unchanged: {sorted(main - changed)}"


@pytest.mark.parametrize("options", [{"n_classes": 5}, {"minibatch_std": True}])
def test_channels_last_discriminator_reads_its_map_in_its_own_order(options):
    # train.channels_last: the last map is read in (H, W, C) order against reordered weights
    # (layers.flat_features); the logits and input gradients are the NCHW net's.
    torch.manual_seed(0)
    d = DCGANDiscriminator(base=BASE, **options)
    d_cl = DCGANDiscriminator(base=BASE, **options)
    d_cl.load_state_dict(d.state_dict())
    d_cl.to(memory_format=torch.channels_last)
    y = torch.tensor([0, 1, 2, 3]) if "n_classes" in options else None
    x = torch.rand(4, 1, 28, 28, requires_grad=True)
    logits, logits_cl = d(x, y), d_cl(x, y)
    torch.testing.assert_close(logits_cl, logits, atol=1e-5, rtol=1e-4)
    (grad,) = torch.autograd.grad(logits.sum(), x)
    (grad_cl,) = torch.autograd.grad(logits_cl.sum(), x)
    torch.testing.assert_close(grad_cl, grad, atol=1e-6, rtol=1e-4)
    assert d_cl.state_dict().keys() == d.state_dict().keys()
