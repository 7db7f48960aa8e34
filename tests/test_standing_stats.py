"""train.ema_bn: G's EMA copy with the live G's batch-norm statistics (copy) or its own
(recompute, train/standing_stats.py)."""

from __future__ import annotations

import pytest
import torch

from conftest import TINY_DCGAN, tiny_config
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.train.loop import Trainer
from gankit.train.run import load_run
from gankit.train.standing_stats import STANDING_SEED, batch_norm_layers, recompute_bn_stats


def _bn_inputs(G: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """What G's first batch-norm layer normalises, for noise z (eval mode, hooked)."""
    seen = []
    layer = batch_norm_layers(G)[0]
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    G.eval()
    with torch.no_grad():
        G(z, None)
    handle.remove()
    return seen[0]


def test_recomputed_statistics_are_the_batch_averages_of_the_layer_inputs(tmp_path):
    t = Trainer(tiny_config("train.max_steps=3"), tmp_path / "run")
    t.run()
    G = t.G
    layer = batch_norm_layers(G)[0]
    assert recompute_bn_stats(G, batch_size=50, seed=5, n=200)
    draws = torch.Generator().manual_seed(5)
    batches = [_bn_inputs(G, G.sample_z(50, generator=draws)) for _ in range(4)]
    mean = torch.stack([b.mean(0) for b in batches]).mean(0)
    var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(layer.running_mean, mean)
    torch.testing.assert_close(layer.running_var, var)
    assert layer.momentum == 0.1 and not layer.training  # put back as they were


def test_recomputing_leaves_the_global_rng_and_the_modes_alone(tmp_path):
    t = Trainer(tiny_config("train.max_steps=1"), tmp_path / "run")
    G = t.G
    G.train()
    state = torch.random.get_rng_state()
    recompute_bn_stats(G, batch_size=50, seed=1, n=100)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(m.training for m in G.modules())


def test_a_generator_without_batch_norm_is_left_as_it_is(tmp_path):
    t = Trainer(tiny_config("generator.batch_norm=false", "train.max_steps=1"), tmp_path / "run")
    before = {k: v.clone() for k, v in t.G.state_dict().items()}
    assert not recompute_bn_stats(t.G, batch_size=50, seed=1, n=100)
    assert all(torch.equal(before[k], v) for k, v in t.G.state_dict().items())


def _trained(tmp_path, mode: str, *extra: str) -> Trainer:
    t = Trainer(tiny_config("train.ema=0.9", "train.ema_warmup=true", f"train.ema_bn={mode}",
                            *extra), tmp_path / mode)
    t.run()
    return t


def test_recompute_changes_only_the_ema_copys_statistics(tmp_path):
    copy, recompute = _trained(tmp_path, "copy"), _trained(tmp_path, "recompute")
    for a, b in ((copy.G, recompute.G), (copy.objective.D, recompute.objective.D)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                      b.state_dict().values(), strict=True))
    for x, y in zip(copy.G_ema.parameters(), recompute.G_ema.parameters(), strict=True):
        assert torch.equal(x, y)
    layer_copy, layer_own = batch_norm_layers(copy.G_ema)[0], batch_norm_layers(recompute.G_ema)[0]
    # copy: the live G's statistics; recompute: not those, but the EMA weights' own
    assert torch.equal(layer_copy.running_mean, batch_norm_layers(copy.G)[0].running_mean)
    assert not torch.allclose(layer_own.running_mean, layer_copy.running_mean)
    saved = load_run(tmp_path / "recompute").generator
    expected = load_run(tmp_path / "copy").generator
    recompute_bn_stats(expected, 50, recompute.cfg.seed + STANDING_SEED)
    for x, y in zip(saved.state_dict().values(), expected.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_a_resumed_recompute_run_saves_what_a_straight_one_saves(tmp_path):
    from conftest import straight_and_resumed

    def make(*extra: str):
        return tiny_config("train.ema=0.9", "train.ema_bn=recompute", *extra)

    straight, resumed = straight_and_resumed(make, tmp_path)
    a, b = load_run(tmp_path / "straight"), load_run(tmp_path / "resumed")
    for x, y in zip(a.generator.state_dict().values(), b.generator.state_dict().values(),
                    strict=True):
        assert torch.equal(x, y)


def test_a_conditional_dcgan_gets_its_own_statistics(tmp_path):
    from conftest import REPO
    from test_conditional import fake_mnist

    cfg = load_config(REPO / "configs/mnist-cdcgan.yaml",
                      [*TINY_DCGAN, "train.ema=0.9", "train.ema_bn=recompute"])
    t = Trainer(cfg, tmp_path / "run", data=fake_mnist())
    t.run()
    saved = load_run(tmp_path / "run").generator
    again = load_run(tmp_path / "run").generator
    assert recompute_bn_stats(again, cfg.train.batch_size, cfg.seed + STANDING_SEED, 10)
    layers = batch_norm_layers(saved)
    assert layers  # the conditional DCGAN's G normalises
    for a, b in zip(layers, batch_norm_layers(again), strict=True):
        assert torch.equal(a.running_mean, b.running_mean)
        assert torch.equal(a.running_var, b.running_var)
    live = batch_norm_layers(t.G)[0]
    assert not torch.allclose(layers[0].running_var, live.running_var)


def test_bad_ema_bn_values_are_refused():
    with pytest.raises(GankitError, match="train.ema_bn = 'own' is not one of copy, recompute"):
        tiny_config("train.ema=0.9", "train.ema_bn=own")
    with pytest.raises(GankitError, match="train.ema_bn=recompute .* train.ema is 0"):
        tiny_config("train.ema_bn=recompute")


def test_a_checkpoint_after_an_update_holds_recomputed_statistics(tmp_path):
    import copy as copying

    t = _trained(tmp_path, "recompute")
    objective = t.objective
    objective._update_ema(100)  # G_ema moves toward G: its statistics are stale now
    expected = copying.deepcopy(objective.G_ema)
    recompute_bn_stats(expected, 50, t.cfg.seed + STANDING_SEED)
    state = objective.state_dict()["g_ema"]
    for key, value in expected.state_dict().items():
        assert torch.equal(state[key], value), key


def test_eval_and_sample_recompute_a_copy_runs_statistics_as_training_would(tmp_path, capsys):
    import json

    import numpy as np

    from gankit.cli import main

    _trained(tmp_path, "copy")
    _trained(tmp_path, "recompute")
    for mode in ("copy", "recompute"):
        assert main(["sample", str(tmp_path / mode), "--n", "300", "--out",
                     str(tmp_path / f"{mode}.npy"), "--ema-bn", "recompute"]) == 0
    # the copy run recomputed at sampling time draws what the recompute run saved
    assert np.array_equal(np.load(tmp_path / "copy.npy"), np.load(tmp_path / "recompute.npy"))
    main(["sample", str(tmp_path / "copy"), "--n", "300", "--out", str(tmp_path / "saved.npy")])
    assert not np.array_equal(np.load(tmp_path / "copy.npy"), np.load(tmp_path / "saved.npy"))
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "copy"), "--json", "--ema-bn", "recompute"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"]["ema_bn"] == "recompute"


def test_ema_bn_recompute_is_refused_where_there_is_nothing_to_recompute(tmp_path, capsys):
    from gankit.cli import main

    Trainer(tiny_config("train.max_steps=2"), tmp_path / "plain").run()
    Trainer(tiny_config("train.max_steps=2", "train.ema=0.9", "generator.batch_norm=false"),
            tmp_path / "nobn").run()
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "plain"), "--out", str(tmp_path / "a.npy"),
                 "--ema-bn", "recompute"]) != 0
    assert "kept no EMA copy of G" in capsys.readouterr().err
    assert not (tmp_path / "a.npy").exists()
    assert main(["eval", str(tmp_path / "nobn"), "--ema-bn", "recompute"]) != 0
    assert "has no batch norm" in capsys.readouterr().err


def test_a_last_batch_of_one_sample_is_left_out(tmp_path):
    t = Trainer(tiny_config("train.max_steps=1"), tmp_path / "run")
    assert recompute_bn_stats(t.G, batch_size=50, seed=3, n=101)  # 50 + 50 + 1
    layer = batch_norm_layers(t.G)[0]
    assert int(layer.num_batches_tracked) == 2
