"""Algorithm 1, run folders, checkpoints, exact resume and seeding on a tiny 2-D problem."""

import json
import os

import pytest
import torch

from conftest import REPO, tiny_config
from gankit.config import LossConfig
from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.train import run as runs
from gankit.train.checkpoint import load_checkpoint, save_checkpoint
from gankit.train.loop import Trainer, train
from gankit.train.objective import Objective
from gankit.train.steps import (
    discriminator_step,
    generator_step,
    simultaneous_step,
    topk_keep,
)


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture
def trainer(tmp_path):
    return Trainer(tiny_config(), tmp_path / "run")


def test_discriminator_step_leaves_generator_unchanged(trainer):
    g0, d0 = _params(trainer.G), _params(trainer.D)
    real, y = trainer.real_batch(0)[0], None  # unconditional: no labels for the nets
    z, yz = trainer.objective.noise(50)
    discriminator_step(trainer.G, trainer.D, trainer.objective.opt_d, trainer.objective.loss, real, y, z, yz)
    assert _same(g0, _params(trainer.G))
    assert not _same(d0, _params(trainer.D))
    assert all(p.grad is None for p in trainer.G.parameters())


def test_generator_step_leaves_discriminator_unchanged(trainer):
    g0, d0 = _params(trainer.G), _params(trainer.D)
    z, yz = trainer.objective.noise(50)
    generator_step(trainer.G, trainer.D, trainer.objective.opt_g, trainer.objective.loss, z, yz)
    assert _same(d0, _params(trainer.D))
    assert not _same(g0, _params(trainer.G))
    assert all(p.grad is None for p in trainer.D.parameters())  # no gradient leaks into D
    assert all(p.requires_grad for p in trainer.D.parameters())  # D unfrozen afterwards


def test_simultaneous_step_gives_each_net_only_its_own_gradient(trainer):
    """D's update must equal the update from D's loss alone (G's loss must not leak into it)."""
    real, y = trainer.real_batch(0)[0], None  # unconditional: no labels for the nets
    z, yz = trainer.objective.noise(50)
    torch.manual_seed(1)
    d_state = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    g_state = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    simultaneous_step(trainer.G, trainer.D, trainer.objective.opt_g, trainer.objective.opt_d, trainer.objective.loss, real, y, z, yz)
    d_after = _params(trainer.D)
    # Redo D's update alone from the same state: generated batch from the same (old) G.
    other = Trainer(tiny_config(), trainer.run_dir.parent / "other")
    other.D.load_state_dict(d_state)
    other.G.load_state_dict(g_state)
    torch.manual_seed(1)
    discriminator_step(other.G, other.D, other.objective.opt_d, other.objective.loss, real, y, z, yz)
    # G is in train mode (batch norm) in both: outputs coincide, so D's updates must too.
    for a, b in zip(d_after, _params(other.D), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(tmp_path, k):
    t = Trainer(tiny_config(f"train.k={k}", "train.max_steps=4"), tmp_path / "run")
    t.run()
    assert t.progress.g_steps == 4 and t.progress.d_steps == 4 * k


def test_wgan_warmup_runs_100_critic_steps(tmp_path):
    t = Trainer(tiny_config("loss=wgan", "train.max_steps=2"), tmp_path / "run")
    t.run()
    assert t.progress.d_steps == 200
    assert all(p.abs().max() <= 0.01 + 1e-7 for p in t.D.parameters())


def test_run_folder_contents(tmp_path):
    out = train(tiny_config("train.max_steps=10"), tmp_path / "run")
    assert (out / "config.yaml").exists() and (out / "checkpoint.pt").exists()
    assert (out / "samples" / "final.png").exists()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10]
    for key in ("d_loss", "g_loss", "d_x", "d_gz", "g_grad_norm", "d_grad_norm", "step_time", "images_per_s"):
        assert key in records[-1]
    assert 0.0 <= records[-1]["d_x"] <= 1.0


def test_epoch_end_writes_samples_and_checkpoint(tmp_path):
    # 2000 points / batch 50 = 40 batches per epoch.
    t = Trainer(tiny_config("train.max_steps=0", "train.epochs=1"), tmp_path / "run")
    t.run()
    assert t.progress.d_steps == 40
    assert (tmp_path / "run" / "samples" / "epoch-0001.png").exists()


def test_exact_resume_equals_straight_run(tmp_path):
    """N steps, then resume to 2N, gives the same weights as 2N straight (dropout and BN on)."""
    extra = ["train.max_steps=12", "discriminator.dropout_hidden=0.3", "train.k=2", "train.ema=0.9"]
    straight = Trainer(tiny_config(*extra), tmp_path / "straight")
    straight.run()
    half = tiny_config(*extra[1:], "train.max_steps=6")
    Trainer(half, tmp_path / "resumed").run()
    resumed = Trainer(tiny_config(*extra), tmp_path / "resumed", resume=True)
    assert resumed.progress.g_steps == 6
    resumed.run()
    for a, b in zip(straight.state()["generator"].values(), resumed.state()["generator"].values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(straight.D.parameters(), resumed.D.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(straight.G_ema.parameters(), resumed.G_ema.parameters(), strict=True):
        assert torch.equal(a, b)
    # The log reads as one run.
    steps = [r["step"] for r in runs.read_metrics(tmp_path / "resumed")]
    assert steps == sorted(set(steps))


def test_resume_with_changed_config_is_refused_with_a_diff(tmp_path):
    Trainer(tiny_config("train.max_steps=2"), tmp_path / "run").run()
    with pytest.raises(GankitError, match=r"changed config.*\n  optim.lr: 0.001 -> 0.5"):
        Trainer(tiny_config("optim.lr=0.5"), tmp_path / "run", resume=True)
    t = Trainer(tiny_config("optim.lr=0.5"), tmp_path / "run", resume=True, force=True)
    assert t.progress.g_steps == 2


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    a = Trainer(tiny_config("train.max_steps=5"), tmp_path / "a")
    a.run()
    b = Trainer(tiny_config("train.max_steps=5"), tmp_path / "b")
    b.run()
    c = Trainer(tiny_config("train.max_steps=5", "seed=1"), tmp_path / "c")
    c.run()
    assert _same(_params(a.G), _params(b.G))
    assert not _same(_params(a.G), _params(c.G))


def test_existing_run_is_not_overwritten(tmp_path):
    train(tiny_config("train.max_steps=2"), tmp_path / "run")
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(GankitError, match="already holds a run; continue it with --resume"):
        Trainer(tiny_config(), tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before


def test_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(GankitError, match="not an empty folder"):
        Trainer(tiny_config(), tmp_path / "x")
    with pytest.raises(GankitError, match="is not a gankit run"):
        Trainer(tiny_config(), tmp_path / "x", resume=True)
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_run_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(GankitError, match="cannot write the run folder"):
        Trainer(tiny_config(), locked / "run")


def test_unwritable_run_folder_as_any_user(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GankitError, match="cannot write the run folder"):
        Trainer(tiny_config(), blocker / "run")


def test_crash_mid_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"value": torch.tensor([1.0])})

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated crash mid-write)")

    from gankit.train import checkpoint as ckpt

    real_fsync = os.fsync
    monkeypatch.setattr(ckpt.os, "fsync", crash)
    with pytest.raises(OSError):
        save_checkpoint(path, {"value": torch.tensor([2.0])})
    monkeypatch.setattr(ckpt.os, "fsync", real_fsync)
    assert load_checkpoint(path)["value"].item() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left behind


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(GankitError, match="corrupt or unreadable"):
        load_checkpoint(path)
    save_checkpoint(path, {"value": 1})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GankitError, match="corrupt or unreadable"):
        load_checkpoint(path)


def test_load_run_samples_on_cpu(tmp_path):
    out = train(tiny_config("train.max_steps=3"), tmp_path / "run")
    run = runs.load_run(out)
    x = run.sample(7, seed=3)
    assert x.shape == (7, 2) and torch.equal(x, run.sample(7, seed=3))
    assert not run.generator.training


def test_paper_generator_starts_at_the_mean_training_image():
    """The authors' init_sigmoid_bias_from_marginals: sigmoid(output bias) = each pixel's mean."""
    from gankit.config import load_config
    from gankit.nets import build_generator

    images = torch.zeros(50, 1, 28, 28)
    images[:25, 0, 10:18, 12:16] = 1.0  # a bar in half the images: mean 0.5 there, 0 elsewhere
    cfg = load_config(REPO / "configs/mnist-paper.yaml")
    G = build_generator(cfg, (1, 28, 28), data_mean=images.mean(dim=0))
    with torch.no_grad():
        start = torch.sigmoid(G.out.bias).reshape(28, 28)
    assert torch.allclose(start[10:18, 12:16], torch.full((8, 4), 0.5), atol=1e-6)
    assert start[0, 0] < 1e-6 and start[20, 20] < 1e-6  # never-lit pixels start (and stay) dark


class _Linear(torch.nn.Module):
    """A tiny deterministic net: G(z) = Wz, D(x) = <w, x> (no dropout, no batch norm)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.f = torch.nn.Linear(n_in, n_out, bias=False)

    def forward(self, x, y=None):
        out = self.f(x)
        return out.squeeze(1) if out.shape[1] == 1 else out


@pytest.mark.parametrize("keep", [None, 3])
def test_topk_generator_step_learns_only_from_the_best_scored_fakes(keep):
    """Sinha et al. 2020: with keep = k, G's gradient is the loss gradient of D's k highest scores."""
    torch.manual_seed(0)
    G, D = _Linear(2, 2), _Linear(2, 1)
    loss = make_loss("non-saturating", LossConfig())
    z = torch.randn(8, 2)
    w0 = G.f.weight.detach().clone()
    opt = torch.optim.SGD(G.parameters(), lr=1.0)
    out = generator_step(G, D, opt, loss, z, None, keep)
    # The same update by hand: select the kept fakes by D's score, then differentiate.
    W = w0.clone().requires_grad_(True)
    scores = D(z @ W.T)
    kept = scores if keep is None else scores.topk(keep).values
    expected_loss = torch.nn.functional.softplus(-kept).mean()
    expected_loss.backward()
    assert float(out["g_loss"]) == pytest.approx(expected_loss.item(), rel=1e-6)
    assert torch.allclose(G.f.weight.detach(), w0 - W.grad, atol=1e-6)
    if keep is not None:  # and it differs from learning from the whole batch
        full = torch.nn.functional.softplus(-scores.detach()).mean()
        assert abs(full.item() - expected_loss.item()) > 1e-4


def test_topk_keep_schedule():
    off = tiny_config().train
    assert topk_keep(64, off, 1) is None and topk_keep(64, off, 50) is None
    t = tiny_config("train.topk=0.5", "train.topk_decay=0.9").train
    keeps = [topk_keep(64, t, epoch) for epoch in range(1, 12)]
    assert keeps[0] == 64 and keeps[1] == 58  # ceil(64 * 0.9)
    assert keeps == sorted(keeps, reverse=True) and keeps[-1] == 32  # floor at topk * n


@pytest.mark.parametrize(
    "overrides",
    [
        ("train.topk=0",),
        ("train.topk=1.5",),
        ("train.topk_decay=0",),
        ("train.topk=0.5", "train.update=simultaneous"),
    ],
)
def test_bad_topk_settings_are_refused(overrides):
    with pytest.raises(GankitError, match="train.topk"):
        tiny_config(*overrides)


class _MeanModel(Objective):
    """A stand-in objective without an adversary: it learns the data mean from each batch."""

    adversarial = False
    probabilities = False

    def __init__(self, cfg, data, device):
        import torch.nn as nn

        self.G = nn.Linear(1, data.x.shape[1], bias=False)
        self.D = self.G_ema = None
        self.sampler = self.G
        self.fixed_z = torch.ones(4, 1)
        self.batches: list[torch.Tensor] = []

    def g_update(self, clock, batch):
        self.batches.append(batch[0])
        with torch.no_grad():
            self.G.weight.lerp_(batch[0].mean(0)[:, None], 0.5)
        return {"g_loss": torch.tensor(0.0)}

    def distribute(self, world, sync_bn):
        pass

    def train_mode(self):
        pass

    def preview(self, n, ema=True):
        return self.G(self.fixed_z[:n]).detach()

    def diagnostics(self):
        return {}

    def first_non_finite(self, stats):
        return ""

    def state_dict(self):
        return {"generator": self.G.state_dict(), "discriminator": {}, "g_ema": None}


def test_an_objective_without_an_adversary_gets_one_batch_per_update(tmp_path, monkeypatch):
    import sys

    validate_module = sys.modules["gankit.config.validate"]
    from gankit.train import objectives

    monkeypatch.setitem(objectives.OBJECTIVES, "mean", _MeanModel)
    monkeypatch.setattr(validate_module, "OBJECTIVE_NAMES", ("gan", "mean"))
    t = Trainer(tiny_config("objective=mean", "train.max_steps=6"), tmp_path / "run")
    t.run()
    model = t.objective
    assert (t.progress.d_steps, t.progress.g_steps) == (6, 6)
    # Successive minibatches of the data order, none skipped or repeated.
    assert all(torch.equal(b, t.real_batch(i)[0]) for i, b in enumerate(model.batches))
    assert torch.allclose(model.G.weight[:, 0], t.data.x.mean(0), atol=0.3)


def test_simultaneous_step_moves_g_down_its_own_loss(trainer):
    """G's half of the simultaneous update is one optimiser step on G's loss alone, taken at the
    parameters both networks had before the step (so its direction is pinned, not just its
    size)."""
    import copy

    real = trainer.real_batch(0)[0]
    z, _ = trainer.objective.noise(50)
    G, D = trainer.G, trainer.D
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    opt_g0 = torch.optim.Adam(G0.parameters(), **{k: v for k, v in trainer.objective.opt_g.defaults.items() if k in ("lr", "betas")})
    g_loss = trainer.objective.loss.g_loss(D0(G0(z)))
    grads = torch.autograd.grad(g_loss, list(G0.parameters()))
    for p, g in zip(G0.parameters(), grads, strict=True):
        p.grad = g
    opt_g0.step()
    simultaneous_step(G, D, trainer.objective.opt_g, trainer.objective.opt_d,
                      trainer.objective.loss, real, None, z, None)
    for a, b in zip(G.parameters(), G0.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_extra_data_tensors_reach_the_objective_row_aligned_with_x(tmp_path, monkeypatch):
    # A dataset's extras (an input image for pix2pix, a caption...) travel in the minibatch
    # after x and y, the same rows as x.
    import sys

    from gankit.data.dataset import load_training_data
    from gankit.train import objectives

    validate_module = sys.modules["gankit.config.validate"]
    monkeypatch.setitem(objectives.OBJECTIVES, "mean", _MeanModel)
    monkeypatch.setattr(validate_module, "OBJECTIVE_NAMES", ("gan", "mean"))
    cfg = tiny_config("objective=mean", "train.max_steps=3")
    data = load_training_data(cfg.data, cfg.seed)
    data.extras = {"twice": 2 * data.x, "row": torch.arange(len(data.x))}
    t = Trainer(cfg, tmp_path / "run", data=data)
    batch = t.real_batch(5)
    assert len(batch) == 4
    assert torch.equal(batch[2], 2 * batch[0])
    assert torch.equal(t.data.x[batch[3]], batch[0])


def test_a_section_of_another_objective_is_refused(monkeypatch):
    import sys

    from gankit.errors import GankitError

    validate_module = sys.modules["gankit.config.validate"]
    monkeypatch.setattr(validate_module, "OBJECTIVE_SECTIONS", {"losses": ("other",)})
    monkeypatch.setattr(validate_module, "OBJECTIVE_NAMES", ("gan", "other"))
    validate_module.validate(tiny_config())  # defaults everywhere: fine
    with pytest.raises(GankitError, match=r"^losses.gp_weight is set, but only objective other reads"):
        validate_module.validate(tiny_config("losses.gp_weight=1.0"))
    validate_module.validate(tiny_config("objective=other", "losses.gp_weight=1.0"))


def test_each_network_decays_its_learning_rate_by_its_own_updates(tmp_path):
    # The stated choice (OptimConfig.lr_decay): with k = 3, after 4 iterations D has made 12
    # updates and G 4, and each rate is lr / decay ** (its own updates).
    cfg = tiny_config("train.k=3", "train.max_steps=4", "optim.name=sgd", "optim.lr=0.1",
                      "optim.lr_decay=1.01", "optim.lr_min=1e-9")
    t = Trainer(cfg, tmp_path / "run")
    t.run()
    lr_d = t.objective.opt_d.param_groups[0]["lr"]
    lr_g = t.objective.opt_g.param_groups[0]["lr"]
    assert (t.progress.d_steps, t.progress.g_steps) == (12, 4)
    # The schedule is set before each update: the last D update ran at step 11, G's at step 3.
    assert lr_d == pytest.approx(0.1 / 1.01 ** 11, rel=1e-9)
    assert lr_g == pytest.approx(0.1 / 1.01 ** 3, rel=1e-9)


def test_a_conditional_penalty_scores_interpolates_under_the_real_labels():
    from gankit.losses import make_loss
    from gankit.train.steps import discriminator_loss

    seen = []

    def D(x, y):
        seen.append((x.requires_grad, y.clone()))
        return (x.flatten(1) * (1 + y[:, None])).sum(1)

    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    y_real, y_fake = torch.tensor([0, 1, 2, 3]), torch.tensor([3, 3, 3, 3])
    discriminator_loss(D, make_loss("wgan-gp"), real, y_real, fake, y_fake)
    interpolate_calls = [y for grad, y in seen if grad]
    assert len(seen) == 3 and len(interpolate_calls) == 1
    assert torch.equal(interpolate_calls[0], y_real)
