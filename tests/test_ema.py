"""The EMA copy of G and its warm-up (`train.ema_warmup`): the decay ramps up with the step."""

from __future__ import annotations

import pytest
import torch
import yaml

from conftest import REPO, tiny_config
from gankit.errors import GankitError
from gankit.train.loop import Trainer


def _distance(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return sum(((pa - pb) ** 2).sum() for pa, pb in zip(a.parameters(), b.parameters(),
                                                         strict=True)).sqrt().item()


def test_the_warmed_up_ema_tracks_g_after_ten_steps(tmp_path):
    # With a fixed 0.999 the average after 10 steps is 99 % the initial G (issue 13: early EMA
    # grids show the initial generator); the warm-up's decay starts at 0.1.
    distance = {}
    for warmup in ("false", "true"):
        cfg = tiny_config("train.ema=0.999", f"train.ema_warmup={warmup}", "train.max_steps=10")
        t = Trainer(cfg, tmp_path / warmup)
        t.run()
        distance[warmup] = _distance(t.G_ema, t.G)
    assert distance["true"] < 0.2 * distance["false"]


def test_the_first_warmed_up_update_keeps_a_tenth_of_the_old_average(tmp_path):
    cfg = tiny_config("train.ema=0.999", "train.ema_warmup=true", "train.max_steps=1")
    t = Trainer(cfg, tmp_path / "run")
    before = [p.detach().clone() for p in t.G_ema.parameters()]
    t.run()
    for pe, p0, p in zip(t.G_ema.parameters(), before, t.G.parameters(), strict=True):
        # decay_0 = min(0.999, (1 + 0) / (10 + 0)) = 0.1
        torch.testing.assert_close(pe, 0.1 * p0 + 0.9 * p)


def test_the_warmed_up_decay_reaches_the_configured_one(tmp_path):
    from gankit.train.gan import GANObjective

    cfg = tiny_config("train.ema=0.9", "train.ema_warmup=true")
    t = Trainer(cfg, tmp_path / "run")
    objective: GANObjective = t.objective
    for p in objective.G_ema.parameters():
        p.data.zero_()
    for p in objective.G.parameters():
        p.data.fill_(1.0)
    objective._update_ema(1000)  # (1 + 1000) / (10 + 1000) > 0.9: the configured decay wins
    first = next(objective.G_ema.parameters())
    torch.testing.assert_close(first, torch.full_like(first, 0.1))


def test_a_warm_up_without_an_ema_is_refused():
    with pytest.raises(GankitError, match="train.ema_warmup=true .* train.ema is 0"):
        tiny_config("train.ema_warmup=true")


def test_shipped_configs_with_an_ema_warm_it_up():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        train = yaml.safe_load(path.read_text()).get("train", {})
        if train.get("ema"):
            assert train.get("ema_warmup") is True, path.name
