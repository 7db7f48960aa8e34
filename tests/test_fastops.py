"""The speed options of train/fastops.py and train.joint_d_pass.

gemm_image_convs and joint_d_pass (without dropout) change results by float rounding only, and
are compared with the default like the options of test_speedups.py. fast_dropout draws other
masks from the same stream, so its results differ from the default's by design: its tests check
what holds instead (the mask's distribution and scaling, one mask for forward and backward, a
reproducible run from a seed, and an exact resume).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from conftest import tiny_config
from gankit.errors import GankitError
from gankit.train import fastops
from gankit.train.loop import Trainer
from test_speedups import _compare, _dcgan, _images, _train


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_fast_dropout_keeps_1_minus_p_scaled_by_its_inverse(p):
    drop = nn.Dropout(p)
    fastops.install(drop, dropout=True, gemm_convs=False)
    x = torch.ones(500, 1000, requires_grad=True)
    torch.manual_seed(0)
    out = drop(x)
    keep = 1 - p
    kept = out != 0
    assert torch.equal(out[kept], torch.full_like(out[kept], 1 / keep))  # inverted dropout
    # 500,000 draws: the kept share's standard error is about 7e-4; allow 5 of them.
    assert abs(kept.float().mean().item() - keep) < 5 * (keep * p / x.numel()) ** 0.5
    out.backward(torch.ones_like(out))
    assert torch.equal(x.grad, out.detach())  # the backward pass uses the forward's mask
    torch.manual_seed(0)
    assert torch.equal(drop(x), out)  # the global seeded stream: the same masks again
    assert drop.eval()(x) is x


def _dropout_run(root, steps: int, resume: bool = False) -> Trainer:
    cfg = tiny_config(f"train.max_steps={steps}", "discriminator.dropout_input=0.2",
                      "discriminator.dropout_hidden=0.5", "train.fast_dropout=true")
    trainer = Trainer(cfg, root, resume=resume)
    trainer.run()
    return trainer


def test_fast_dropout_run_is_reproducible_and_resumes_bit_for_bit(tmp_path):
    straight = _dropout_run(tmp_path / "a", 8)
    again = _dropout_run(tmp_path / "b", 8)
    _dropout_run(tmp_path / "c", 4)
    resumed = _dropout_run(tmp_path / "c", 8, resume=True)
    drops = [m for m in straight.D.modules() if isinstance(m, nn.Dropout)]
    assert drops and all(m.forward.func is fastops.fast_dropout for m in drops)
    for other in (again, resumed):
        for a, b in zip(straight.D.parameters(), other.D.parameters(), strict=True):
            assert torch.equal(a, b)
        for a, b in zip(straight.G.parameters(), other.G.parameters(), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("transposed", [False, True])
def test_gemm_convs_equal_onednn_to_second_order_in_float64(transposed):
    torch.manual_seed(0)
    conv = (nn.ConvTranspose2d(8, 1, 4, 2, 1) if transposed else nn.Conv2d(3, 8, 4, 2, 1)).double()
    fast = copy.deepcopy(conv)
    fastops.install(fast, dropout=False, gemm_convs=True)
    assert isinstance(fast.forward, __import__("functools").partial)
    x = torch.randn(4, 8 if transposed else 3, 14, 14, dtype=torch.float64)
    xs = [x.clone().requires_grad_(True) for _ in range(2)]
    for net, xx in zip((conv, fast), xs, strict=True):
        out = net(xx)
        gx, = torch.autograd.grad(out.square().sum(), xx, create_graph=True)  # as WGAN-GP does
        (gx.square().sum() + out.sum()).backward()
    torch.testing.assert_close(fast(x), conv(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(xs[1].grad, xs[0].grad, rtol=0, atol=1e-12)
    for a, b in zip(conv.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("conditional", [False, True])
def test_gemm_image_convs_match_within_float_tolerance(tmp_path, conditional):
    data = _images()
    # SGD: a weight moves by lr times its gradient, so rounding stays rounding. Adam moves each
    # weight by about lr whatever its gradient's size, so a gradient near zero whose rounding
    # differs moves by a fraction of lr (2e-4): measured 4e-5 on the conditional G's projection.
    for optim, atol in ((["optim.name=sgd", "optim.lr=0.01"], 1e-5), ([], 1e-4)):
        plain = _train(_dcgan(*optim, conditional=conditional), tmp_path / f"a{len(optim)}", data)
        for i, extra in enumerate([[], ["train.channels_last=true"]]):
            cfg = _dcgan("train.gemm_image_convs=true", *optim, *extra, conditional=conditional)
            _compare(plain, _train(cfg, tmp_path / f"b{i}{len(optim)}", data), atol=atol)


def test_gemm_image_convs_under_bf16_autocast_stay_within_bf16_tolerance(tmp_path):
    data = _images()
    plain = _train(_dcgan(), tmp_path / "a", data)
    both = _train(_dcgan("train.amp=bf16", "train.gemm_image_convs=true"), tmp_path / "b", data)
    _compare(plain, both, atol=4e-3)  # as test_speedups' bf16 test: a few Adam steps of lr


def test_joint_d_pass_matches_two_passes_within_float_tolerance(tmp_path):
    # ring8: a maxout D without dropout. Without G's batch norm: the biases before it have a
    # true gradient of zero, so theirs is rounding noise, which Adam scales up to steps of lr.
    no_bn = "generator.batch_norm=false"
    plain = _train(tiny_config(no_bn), tmp_path / "a")
    joint = _train(tiny_config(no_bn, "train.joint_d_pass=true"), tmp_path / "b")
    _compare(plain, joint, atol=1e-6)
    packed = (no_bn, "discriminator.pack=2")
    _compare(_train(tiny_config(*packed), tmp_path / "c"),
             _train(tiny_config(*packed, "train.joint_d_pass=true"), tmp_path / "d"), atol=1e-6)


@pytest.mark.parametrize("setting", ["discriminator.minibatch_std=true",
                                     "discriminator.spectral_norm=true"])
def test_joint_d_pass_refuses_a_d_that_mixes_samples_or_passes(setting):
    with pytest.raises(GankitError, match="train.joint_d_pass"):
        tiny_config("train.joint_d_pass=true", setting)
    with pytest.raises(GankitError, match="MLP D"):
        _dcgan("train.joint_d_pass=true")
