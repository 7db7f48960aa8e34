"""Every speed option of `train:` changes no result beyond float tolerance.

Each test trains the same few iterations with and without one option, from the same seed, and
compares the networks' weights and the losses. Fused SGD is bit-identical; the others differ by
rounding (channels-last and fused Adam: other summation orders; compile: other kernels) or, for
bf16 autocast, by bfloat16's 8-bit mantissa, so that one has a bf16-sized tolerance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from conftest import REPO, tiny_config
from gankit.config import load_config
from gankit.data.dataset import TrainingData
from gankit.errors import GankitError
from gankit.nets.layers import channels_last_only
from gankit.train import speedups
from gankit.train.loop import Trainer

STEPS = 3
TINY_DCGAN = ["generator.base=4", "discriminator.base=4", "generator.extra_layers=1",
              "discriminator.extra_layers=1", "train.batch_size=16", "train.epochs=0",
              "train.max_steps=3", "train.progress=false", "train.threads=1"]


def _images(n: int = 64) -> TrainingData:
    """Random 28x28 'digits' with labels: the options do not care what the pixels mean."""
    g = torch.Generator().manual_seed(0)
    return TrainingData(torch.rand(n, 1, 28, 28, generator=g), torch.randint(10, (n,), generator=g), 10)


def _train(cfg, root: Path, data: TrainingData | None = None) -> tuple[dict, list[dict]]:
    trainer = Trainer(cfg, root / "run", data=data)
    trainer.objective.train_mode()
    stats = [trainer.algorithm1_iteration() for _ in range(STEPS)]
    state = {f"{name}.{k}": v.detach().float().contiguous()
             for name, net in (("G", trainer.G), ("D", trainer.D))
             for k, v in net.state_dict().items() if v.is_floating_point()}
    return state, stats


def _compare(a: tuple, b: tuple, atol: float, exact: bool = False) -> None:
    (wa, sa), (wb, sb) = a, b
    assert wa.keys() == wb.keys()
    for key in wa:
        if exact:
            assert torch.equal(wa[key], wb[key]), key
        else:
            torch.testing.assert_close(wb[key], wa[key], atol=atol, rtol=1e-3, msg=key)
    for x, y in zip(sa, sb, strict=True):
        for key in ("d_loss", "g_loss"):
            torch.testing.assert_close(y[key].float(), x[key].float(), atol=50 * atol, rtol=1e-3)


def _dcgan(*overrides: str, conditional: bool = False):
    extra = ["data.conditional=true"] if conditional else []
    return load_config(REPO / "configs/mnist-dcgan.yaml", [*TINY_DCGAN, *extra, *overrides])


def test_fused_sgd_is_bit_identical(tmp_path):
    sgd = ["optim.name=sgd", "optim.lr=0.05", "optim.lr_decay=1.000004"]
    plain = _train(tiny_config(*sgd), tmp_path / "a")
    fused = _train(tiny_config(*sgd, "train.fused_optim=true"), tmp_path / "b")
    _compare(plain, fused, 0.0, exact=True)


@pytest.mark.parametrize("conditional", [False, True])
def test_fused_adam_and_channels_last_match_within_float_tolerance(tmp_path, conditional):
    data = _images()
    plain = _train(_dcgan(conditional=conditional), tmp_path / "a", data)
    for i, option in enumerate(("train.fused_optim=true", "train.channels_last=true")):
        fast = _train(_dcgan(option, conditional=conditional), tmp_path / f"b{i}", data)
        # Adam divides each gradient by its own scale, so where a gradient is at rounding level
        # the options' reordered sums can move a weight by a fraction of lr (2e-4) a step:
        # measured 4.1e-5 after 3 steps (conditional G.project) on an Intel Xeon, under 1e-5 on
        # an AMD EPYC. Half a step's size still catches a wrong update.
        _compare(plain, fast, atol=1e-4)


def test_fused_rmsprop_uses_foreach(tmp_path):
    trainer = Trainer(tiny_config("optim.name=rmsprop", "train.fused_optim=true"), tmp_path / "r")
    assert trainer.objective.opt_d.defaults["foreach"] is True


def test_bf16_autocast_runs_on_cpu_within_bf16_tolerance(tmp_path):
    data = _images()
    plain = _train(_dcgan(), tmp_path / "a", data)
    trainer = Trainer(_dcgan("train.amp=bf16"), tmp_path / "b", data=data)
    assert trainer.D(data.x[:4]).dtype == torch.float32  # outputs come back as float32
    amp = _train(_dcgan("train.amp=bf16"), tmp_path / "c", data)
    # Adam moves a weight by about lr (2e-4) per step whatever the gradient's size, so bf16
    # rounding can move it by up to a few lr: measured 1.2e-3 after 3 steps (weights ~0.02).
    _compare(plain, amp, atol=4e-3)
    # The checkpointed state dict has the same keys as without the option.
    assert set(trainer.G.state_dict()) == set(Trainer(_dcgan(), tmp_path / "d", data=data).G.state_dict())


def test_compile_matches_eager_with_the_same_dropout_masks(tmp_path, monkeypatch):
    # The eager backend traces with TorchDynamo (graph breaks, guards, dropout kept outside) in
    # seconds; test_compile_with_inductor runs the real compiler.
    monkeypatch.setattr(speedups, "COMPILE_KWARGS", {"backend": "eager"})
    plain = _train(tiny_config(), tmp_path / "a")
    compiled = _train(tiny_config("train.compile=true"), tmp_path / "b")
    _compare(plain, compiled, atol=1e-6)


@pytest.mark.slow
def test_compile_with_inductor_matches_eager(tmp_path):
    # Without G's batch norm: the biases before it have a true gradient of zero, so theirs is
    # rounding noise, which Adam scales up to steps of lr (1e-3) whatever its size.
    cfg = ("discriminator.dropout_hidden=0.5", "generator.batch_norm=false")
    plain = _train(tiny_config(*cfg), tmp_path / "a")
    compiled = _train(tiny_config(*cfg, "train.compile=true"), tmp_path / "b")
    _compare(plain, compiled, atol=1e-5)


def test_unknown_amp_mode_is_refused():
    with pytest.raises(GankitError, match="train.amp"):
        tiny_config("train.amp=fp8")


@pytest.mark.parametrize("ties", [False, True])
def test_maxout_gradient_is_amax_gradient_bit_for_bit(ties):
    from gankit.nets.mlp import _MaxOverPieces

    x = torch.randn(6, 7, 5)
    if ties:
        x[:, :3, 1] = x[:, :3, 0]  # two winners
        x[0, 0] = 0.0  # five winners
    g = torch.randn(6, 7)
    grads = []
    for fn in (lambda h: h.amax(dim=-1), _MaxOverPieces.apply):
        h = x.clone().requires_grad_(True)
        assert torch.equal(fn(h), x.amax(dim=-1))
        fn(h).backward(g)
        grads.append(h.grad)
    assert torch.equal(grads[0], grads[1])
    assert torch.equal(grads[0].signbit(), grads[1].signbit())  # -0.0 where amax has it
    # The formula a GPU always takes (no read-back of the tie count) gives the same bits too.
    winners = (x >= x.amax(dim=-1, keepdim=True)).float()
    shared = (g.unsqueeze(-1) / winners.sum(-1, keepdim=True)) * winners
    assert torch.equal(shared, grads[1]) and torch.equal(shared.signbit(), grads[1].signbit())
    if not ties:  # twice differentiable away from ties, as WGAN-GP's penalty needs
        assert torch.autograd.gradgradcheck(_MaxOverPieces.apply, (x.double().requires_grad_(),))


class _MixedLayouts(TorchDispatchMode):
    """Records the operators that get 4-D tensors in both layouts: one channels-last, another
    NCHW (a tensor that is both, with one channel or a 1x1 map, is either). Copies are where a
    layout is converted, so they are not counted."""

    CONVERSIONS = ("copy_", "clone", "_to_copy", "contiguous")

    def __init__(self) -> None:
        super().__init__()
        self.mixed: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        layouts = set()
        for t in torch.utils._pytree.tree_leaves((args, kwargs)):
            if isinstance(t, torch.Tensor) and t.dim() == 4:
                if channels_last_only(t):
                    layouts.add("channels_last")
                elif t.is_contiguous() and not t.is_contiguous(memory_format=torch.channels_last):
                    layouts.add("nchw")  # (a broadcast view is neither, and not counted)
        if len(layouts) > 1 and not func.__name__.startswith(self.CONVERSIONS):
            self.mixed.add(func.__name__)
        return func(*args, **kwargs)


@pytest.mark.parametrize("extra", [[], ["data.conditional=true"],
                                   ["loss=wgan-gp", "discriminator.batch_norm=false"],
                                   ["discriminator.minibatch_std=true"]])
def test_channels_last_dcgan_never_mixes_layouts(tmp_path, extra):
    # Mixed layouts were 3 ms of an 80 ms mnist-dcgan iteration: the projection's NCHW view in
    # G and the NCHW gradient of D's flatten reached channels-last layers.
    # Widths 8 and 16: above fastops.GEMM_MAX_CHANNELS, so only the image layers take the
    # matrix-product forms (whose fold is NCHW by design), as at the config's own widths.
    # WGAN-GP: its penalty's second-order gradient goes through the same layers.
    cfg = _dcgan("train.channels_last=true", "train.gemm_image_convs=true", "generator.base=8",
                 "discriminator.base=8", *extra)
    trainer = Trainer(cfg, tmp_path / "run", data=_images())
    trainer.objective.train_mode()
    with _MixedLayouts() as watch:
        trainer.algorithm1_iteration()
    assert watch.mixed == set()
