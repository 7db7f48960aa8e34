"""The training-health monitor: its measurements, its warnings, and that it never alters a run."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.errors import GankitError
from gankit.train import run as runs
from gankit.train.checkpoint import load_checkpoint
from gankit.train.loop import Trainer
from gankit.train.monitor import (
    FLAT_AFTER_STEPS,
    SUSTAIN,
    HealthMonitor,
    mean_pairwise_distance,
)


def tiny_trainer(tmp_path, overrides: list[str] = (), name: str = "run") -> Trainer:
    cfg = load_config(
        "configs/ring8.yaml",
        [
            "data.n_train=2000",
            "generator.hidden=[32,32]",
            "discriminator.hidden=[32,32]",
            "train.batch_size=50",
            "train.log_every=5",
            "train.progress=false",
            *overrides,
        ],
    )
    return Trainer(cfg, tmp_path / name)


class FixedOutput(nn.Module):
    """A stand-in generator: real data (healthy) or one point repeated (collapsed)."""

    def __init__(self, points: torch.Tensor):
        super().__init__()
        self.points = points

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.points[: len(z)].expand(len(z), -1)


def healthy_record(step: int) -> dict:
    return {"step": step, "d_x": 0.6, "d_gz": 0.4, "g_grad_norm": 1.0, "d_grad_norm": 1.0}


def test_mean_pairwise_distance():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(x) == pytest.approx((5 + 0 + 5) / 3)
    assert mean_pairwise_distance(torch.ones(5, 1, 2, 2)) == 0.0


def test_check_logs_diversity_and_modes(tmp_path):
    t = tiny_trainer(tmp_path)
    t.objective.G = FixedOutput(t.data.x[2000 - 1000 :])  # unseen real points: full diversity, all modes
    record = healthy_record(5)
    assert t.monitor.check(record) == []
    assert record["diversity"] == pytest.approx(1.0, abs=0.1)
    assert record["modes"] == 8 and record["high_quality"] > 95


def test_collapse_is_reported_after_a_sustained_drop(tmp_path):
    t = tiny_trainer(tmp_path)
    t.objective.G = FixedOutput(t.data.x[1000:])
    for step in range(5, 20, 5):
        assert t.monitor.check(healthy_record(step)) == []
    # Every sample at one of two neighbouring modes: less diverse, but not one point.
    two = t.data.means[:2].repeat(500, 1) + 0.001
    t.objective.G = FixedOutput(two)
    warnings = [t.monitor.check(healthy_record(20 + 5 * i)) for i in range(SUSTAIN)]
    assert all(w == [] for w in warnings[:-1])  # one bad record is not an alarm
    text = " ".join(warnings[-1])
    assert "possible mode collapse" in text and "2 of 8 modes" in text
    assert "discriminator.pack" in text
    # Not repeated at every record while it persists.
    assert t.monitor.check(healthy_record(100)) == []


def test_samples_collapsing_onto_one_are_reported_after_two_records(tmp_path):
    # Every sample at mode 0: nearly identical samples after a more diverse start are reported
    # sooner (two records) than a partial drop.
    t = tiny_trainer(tmp_path)
    t.objective.G = FixedOutput(t.data.x[1000:])
    assert t.monitor.check(healthy_record(100)) == []
    t.objective.G = FixedOutput(t.data.means[:1] + 0.001)
    assert t.monitor.check(healthy_record(200)) == []
    text = " ".join(t.monitor.check(healthy_record(300)))
    assert "G is collapsing" in text and "nearly identical" in text and "pack=2" in text


def test_a_dip_logged_every_step_is_no_alarm():
    # Two records are not enough when they are a few steps apart: the condition must also span
    # 100 steps (log_every = 1 sees every wobble).
    real = torch.rand(200, 1, 8, 8)
    preview = Shrinking(real, [0.15, 0.05, 0.05, 0.05, 0.15])
    monitor = HealthMonitor(preview, 100, real, "non-saturating", True)
    for i in range(5):
        preview.i = i
        assert monitor.check(healthy_record(i + 1)) == []


def test_a_generator_that_never_spreads_out_is_reported(tmp_path):
    # What a learning rate of 0 looks like: every sample near one point from the start. Early
    # records are quiet (every G starts near a point); by step 300 it is reported.
    t = tiny_trainer(tmp_path)
    t.objective.G = FixedOutput(torch.zeros(1, 2))
    steps = range(50, FLAT_AFTER_STEPS + 1, 50)
    warnings = [t.monitor.check(healthy_record(step)) for step in steps]
    assert all(w == [] for w in warnings[:-1])
    assert "nearly identical" in " ".join(warnings[-1]) and "in 300 steps" in warnings[-1][0]


def test_the_papers_literal_recipe_flat_at_step_300_is_reported():
    # configs/mnist-paper.yaml's first 300 steps: diversity 0.054, 0.056, 0.054 (a G that starts
    # at the mean digit and stays there), pixel std across samples 0.008 at step 300.
    real = torch.rand(200, 1, 8, 8)
    preview = Shrinking(real, [0.054, 0.056, 0.054])
    monitor = HealthMonitor(preview, 100, real, "non-saturating", True)
    out = []
    for i in range(3):
        preview.i = i
        out.append(monitor.check({"step": 100 * (i + 1), "d_x": 0.5, "d_gz": 0.5,
                                  "g_grad_norm": 0.5}))
    assert out[:2] == [[], []] and "never above 0.1 in 300 steps" in out[2][0]


def test_saturation_is_reported_only_with_vanishing_gradients(tmp_path):
    t = tiny_trainer(tmp_path, ["loss=non-saturating"])
    t.objective.G = FixedOutput(t.data.x[1000:])
    assert t.monitor.check(healthy_record(5)) == []
    # D(G(z)) -> 0 while G still gets a strong gradient (what -log D(G(z)) is for): no alarm.
    for step in range(10, 40, 5):
        assert t.monitor.check({**healthy_record(step), "d_gz": 0.001, "g_grad_norm": 2.0}) == []
    saturated = {"d_gz": 0.001, "d_x": 0.999, "g_grad_norm": 1e-5}
    warnings = [t.monitor.check({**healthy_record(50 + i), **saturated}) for i in range(SUSTAIN)]
    assert warnings[:-1] == [[]] * (SUSTAIN - 1)
    assert len(warnings[-1]) == 1
    assert "D overpowers G" in warnings[-1][0] and "d_optim.lr" in warnings[-1][0]


def test_minimax_saturation_is_reported_from_the_start(tmp_path):
    # Goodfellow et al. §3: early on D rejects G's samples and log(1 - D(G(z))) saturates.
    # There is no earlier, larger gradient to compare with; D(G(z)) -> 0 is the signal.
    t = tiny_trainer(tmp_path, ["loss=minimax"])
    t.objective.G = FixedOutput(t.data.x[1000:])
    saturated = {"d_gz": 0.003, "d_x": 0.998, "g_grad_norm": 0.01}
    warnings = [t.monitor.check({**healthy_record(5 * (i + 1)), **saturated}) for i in range(3)]
    assert warnings[:2] == [[], []]
    assert "loss=non-saturating" in warnings[2][0]
    # Not for a D that merely leads: D(G(z)) = 0.3 is a healthy game.
    t2 = tiny_trainer(tmp_path, ["loss=minimax"], name="healthy")
    t2.objective.G = FixedOutput(t2.data.x[1000:])
    for i in range(2 * SUSTAIN):
        assert t2.monitor.check({**healthy_record(5 * (i + 1)), "d_gz": 0.3}) == []


def test_no_saturation_warning_for_critic_losses(tmp_path):
    # WGAN's D(G(z)) is a critic value, not a probability; near 0 it means nothing.
    t = tiny_trainer(tmp_path, ["loss=wgan"])
    t.objective.G = FixedOutput(t.data.x[1000:])
    t.monitor.check(healthy_record(5))
    for i in range(2 * SUSTAIN):
        assert t.monitor.check({**healthy_record(10 + i), "d_gz": 0.0, "g_grad_norm": 1e-6}) == []


def test_check_leaves_rng_mode_and_weights_alone(tmp_path):
    t = tiny_trainer(tmp_path)
    rng = torch.get_rng_state()
    before = {k: v.clone() for k, v in t.G.state_dict().items()}  # BN running stats included
    t.G.train()
    t.monitor.check(healthy_record(5))
    assert t.G.training
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in t.G.state_dict().items())
    t.G.eval()
    t.monitor.check(healthy_record(10))
    assert not t.G.training


def test_monitor_does_not_change_training_results(tmp_path):
    finals = []
    for name, monitored in (("with", True), ("without", False)):
        t = tiny_trainer(tmp_path, ["train.max_steps=20", "train.epochs=0"], name=name)
        if not monitored:
            t.monitor = None
        t.run()
        finals.append([p.detach().clone() for p in t.G.parameters()])
        records = runs.read_metrics(t.run_dir)
        assert len(records) == 4
        assert all(("diversity" in r) == monitored for r in records)
    assert all(torch.equal(a, b) for a, b in zip(*finals, strict=True))


def test_state_round_trips_and_is_checkpointed(tmp_path):
    t = tiny_trainer(tmp_path, ["train.max_steps=10", "train.epochs=0"])
    t.run()
    state = t.monitor.state()
    assert state["records"] == 2 and state["diversity_peak"] > 0
    json.dumps(state)  # plain values only
    other = HealthMonitor.for_run(t.cfg, t.data, t.objective)
    other.load_state(state)
    assert other.state() == state
    saved = load_checkpoint(t.run_dir / runs.CHECKPOINT_FILE)
    assert saved["monitor"] == state
    resumed = Trainer(t.cfg, t.run_dir, resume=True)
    assert resumed.monitor.state() == state


def test_nan_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    t = tiny_trainer(
        tmp_path, ["train.max_steps=40", "train.epochs=0", "train.checkpoint_every=10"]
    )
    checkpoint = t.run_dir / runs.CHECKPOINT_FILE
    good = {}
    calls = {"n": 0}
    g_loss = t.objective.loss.g_loss

    def poisoned(fake: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 25:  # the 25th G step: the checkpoint of step 20 is on disk
            good["bytes"] = checkpoint.read_bytes()
            return g_loss(fake) * float("nan")
        return g_loss(fake)

    t.objective.loss = dataclasses.replace(t.objective.loss, g_loss=poisoned)
    with pytest.raises(GankitError, match=r"g_loss is nan at generator step 25") as err:
        t.run()
    assert "checkpoint" in str(err.value)
    assert checkpoint.read_bytes() == good["bytes"]
    state = load_checkpoint(checkpoint)
    assert state["g_steps"] == 20
    assert all(
        torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point()
    )
    # The run can be resumed from it.
    resumed = Trainer(t.cfg, t.run_dir, resume=True)
    assert resumed.progress.g_steps == 20


def test_monitor_needs_only_plain_facts():
    # No trainer: a preview function, the real data and the loss's facts are all it reads.
    real = torch.randn(500, 2)
    collapsed = HealthMonitor(lambda n: torch.zeros(n, 2), 500, real, "non-saturating", True)
    healthy = HealthMonitor(lambda n: real[:n] + 0.0, 500, real, "non-saturating", True)
    r1, r2 = healthy_record(5), healthy_record(5)
    collapsed.check(r1)
    healthy.check(r2)
    assert r1["diversity"] == 0.0 and r2["diversity"] == pytest.approx(1.0)


# --- early warnings: what the default log_every = 100 shows within the first 300 steps ----------


class Shrinking:
    """A preview whose samples shrink towards one image record by record (the old
    configs/mnist-dcgan.yaml: diversity 0.10, 0.04, 0.04 at steps 100-300, D(x) 0.999)."""

    def __init__(self, real: torch.Tensor, scales: list[float]):
        self.real, self.scales, self.i = real, scales, 0

    def __call__(self, n: int) -> torch.Tensor:
        scale = self.scales[min(self.i, len(self.scales) - 1)]
        mean = self.real[:n].mean(dim=0, keepdim=True)
        return mean + scale * (self.real[:n] - mean)


def test_a_dcgan_collapsing_in_its_first_300_steps_is_reported_by_step_300():
    real = torch.rand(200, 1, 8, 8)
    preview = Shrinking(real, [0.10, 0.045, 0.04])
    monitor = HealthMonitor(preview, 100, real, "non-saturating", True)
    warnings = []
    for i, (d_x, d_gz) in enumerate([(0.975, 0.0098), (0.999, 0.0011), (0.993, 0.0139)]):
        preview.i = i
        record = {"step": 100 * (i + 1), "d_x": d_x, "d_gz": d_gz, "g_grad_norm": 23.0}
        warnings.append(monitor.check(record))
    assert warnings[:2] == [[], []]
    assert len(warnings[2]) == 1 and "G is collapsing" in warnings[2][0]


def test_d_winning_is_named_beside_the_collapse():
    real = torch.rand(200, 1, 8, 8)
    preview = Shrinking(real, [0.3, 0.05, 0.04])
    monitor = HealthMonitor(preview, 100, real, "non-saturating", True)
    out = []
    for i in range(3):
        preview.i = i
        out += monitor.check({"step": 100 * (i + 1), "d_x": 0.999, "d_gz": 0.001,
                              "g_grad_norm": 23.0})
    assert "D tells them from real data almost perfectly (D(x) 0.999" in out[0]


def test_a_generator_spreading_out_from_a_point_is_not_a_collapse():
    # Every G starts near a point; low diversity that grows is learning, not collapse (logged
    # every 20 steps: healthy runs of the shipped configs are at 0.2-1.0 by step 100).
    real = torch.rand(200, 2)
    preview = Shrinking(real, [0.01, 0.02, 0.04, 0.08, 0.3, 0.9, 0.8, 0.9])
    monitor = HealthMonitor(preview, 200, real, "non-saturating", True)
    for i in range(8):
        preview.i = i
        assert monitor.check(healthy_record(20 * (i + 1))) == []


def test_a_run_that_has_blown_up_is_reported_at_once():
    # Issue 12 item 8: optim.lr=1e3 on the ring: infinite gradient norms, g_loss above 1e26.
    real = torch.randn(500, 2)
    monitor = HealthMonitor(lambda n: real[:n] + 0.0, 500, real, "non-saturating", True)
    record = {**healthy_record(100), "g_grad_norm": float("inf"), "g_loss": 3.2e26,
              "d_loss": 0.5, "lr_g": 1000.0, "lr_d": 1000.0}
    warnings = monitor.check(record)
    assert len(warnings) == 1
    assert "diverged" in warnings[0] and "g_grad_norm inf" in warnings[0]
    assert "g_loss 3.2e+26" in warnings[0] and "lower the learning rate" in warnings[0]
    assert "lr_g 1e+03" in warnings[0]
    # A healthy record resets it; normal magnitudes never warn.
    assert monitor.check(healthy_record(200)) == []
    assert monitor.check({**healthy_record(300), "g_loss": 50.0, "d_grad_norm": 900.0}) == []


def test_the_ring_with_a_huge_learning_rate_warns_in_its_first_record(tmp_path):
    t = tiny_trainer(tmp_path, ["optim.lr=1000", "train.max_steps=10", "train.epochs=0"])
    try:
        t.run()
    except GankitError:
        pass  # a NaN may stop it later; the first record must already have warned
    records = runs.read_metrics(t.run_dir)
    assert records and "diverged" in " ".join(records[0].get("warnings", []))


def test_a_healthy_tiny_ring_run_has_no_warnings(tmp_path):
    # ring8-demo's recipe at a tenth of its size, logged every 10 steps for 300 steps: the
    # early collapse and divergence checks must stay silent while G spreads out.
    cfg = load_config("configs/ring8-demo.yaml", [
        "data.n_train=5000", "train.max_steps=300", "train.epochs=0", "train.log_every=10",
        "train.progress=false", "train.threads=1"])
    t = Trainer(cfg, tmp_path / "demo")
    t.run()
    records = runs.read_metrics(t.run_dir)
    assert len(records) == 30
    assert [r["warnings"] for r in records if r.get("warnings")] == []
