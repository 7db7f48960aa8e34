"""objective infogan (Chen et al. 2016): Q reads the categorical code from G's sample; G and Q
minimise Q's cross-entropy beside the GAN loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gankit.config import load_config
from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.nets.mlp import MLPGenerator
from gankit.train.infogan import CodePredictor, code_of, info_generator_step
from gankit.train.loop import Trainer

GRID = "configs/grid25-infogan.yaml"
TINY = ["train.epochs=0", "train.progress=false", "train.log_every=10", "data.n_train=2000"]


def config(*sets: str):
    return load_config(GRID, [*TINY, *sets])


def test_the_code_is_read_back_from_the_one_hot_tail():
    G = MLPGenerator(z_dim=2, out_shape=(2,), hidden=[8], z_dist="normal", z_categories=6)
    z = G.sample_z(50, generator=torch.Generator().manual_seed(1))
    c = code_of(z, 2)
    assert torch.equal(F.one_hot(c, 6).float(), z[:, 2:])


def test_g_descends_gan_loss_plus_weighted_cross_entropy_and_q_the_cross_entropy_alone():
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=2, out_shape=(2,), hidden=[16], z_dist="normal", z_categories=4,
                     init_range=0.0, output="linear")
    Q = CodePredictor(2, [16], 4)

    class D(torch.nn.Linear):  # a D that, like gankit's, takes labels (None here)
        def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            return super().forward(x).flatten()

    D = D(2, 1)
    loss, weight = make_loss("non-saturating"), 2.5
    z = G.sample_z(32)
    code = code_of(z, 2)
    # expected gradients, by autograd on the written-out losses
    fake = G(z)
    adv, info = loss.g_loss(D(fake)), F.cross_entropy(Q(fake), code)
    g_expected = torch.autograd.grad(adv + weight * info, list(G.parameters()), retain_graph=True)
    q_expected = torch.autograd.grad(info, list(Q.parameters()))
    # one step with plain SGD at lr 1: each parameter moves by minus its gradient
    before_g = [p.detach().clone() for p in G.parameters()]
    before_q = [p.detach().clone() for p in Q.parameters()]
    before_d = [p.detach().clone() for p in D.parameters()]
    opt_g = torch.optim.SGD(G.parameters(), lr=1.0)
    opt_q = torch.optim.SGD(Q.parameters(), lr=1.0)
    stats = info_generator_step(G, D, Q, opt_g, opt_q, loss, z, code,
                                None, weight)
    for p, b, g in zip(G.parameters(), before_g, g_expected, strict=True):
        torch.testing.assert_close(b - p.detach(), g)
    for p, b, g in zip(Q.parameters(), before_q, q_expected, strict=True):
        torch.testing.assert_close(b - p.detach(), g)
    for p, b in zip(D.parameters(), before_d, strict=True):
        assert torch.equal(p, b)  # D is frozen in G's step
    torch.testing.assert_close(stats["info_loss"], info.detach())


def test_a_short_grid_run_makes_the_code_readable_and_resumes_exactly(tmp_path):
    straight = Trainer(config("train.max_steps=300", "seed=2"), tmp_path / "straight")
    straight.run()
    # Q names the code of most of G's samples (chance is 1 in 25) ...
    assert straight.objective.code_accuracy() > 0.5
    # ... and the categories land in different places: mean sample per category spread apart
    G = straight.objective.sampler
    z = G.sample_z(2500, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = G.eval()(z)
    c = code_of(z, 2)
    centres = torch.stack([x[c == k].mean(0) for k in range(25)])
    assert torch.cdist(centres, centres).add(torch.eye(25) * 99).min() > 0.05
    # a run stopped at step 150 and resumed ends where the straight run did, Q included
    Trainer(config("train.max_steps=150", "seed=2"), tmp_path / "resumed").run()
    resumed = Trainer(config("train.max_steps=300", "seed=2"), tmp_path / "resumed", resume=True)
    resumed.run()
    for net in ("G", "D", "Q"):
        a, b = getattr(straight.objective, net), getattr(resumed.objective, net)
        for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
            assert torch.equal(p, q), net


def test_the_information_term_is_what_makes_the_code_used(tmp_path):
    """The same run as objective gan (no Q) leaves the code far less readable to a Q trained
    afterwards on the finished G: the term, not the code alone, separates the categories."""
    info = Trainer(config("train.max_steps=300", "seed=4"), tmp_path / "info")
    info.run()
    plain = Trainer(config("train.max_steps=300", "seed=4", "objective=gan",
                           "info.weight=1.0"), tmp_path / "plain")
    plain.run()

    def readable(G: torch.nn.Module) -> float:
        torch.manual_seed(0)
        Q = CodePredictor(2, [64, 64], 25)
        opt = torch.optim.Adam(Q.parameters(), lr=3e-3)
        G.eval()
        for _ in range(300):
            z = G.sample_z(200)
            with torch.no_grad():
                x = G(z)
            opt.zero_grad()
            F.cross_entropy(Q(x), code_of(z, 2)).backward()
            opt.step()
        z = G.sample_z(2000, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            return (Q(G(z)).argmax(1) == code_of(z, 2)).float().mean().item()

    assert readable(info.objective.sampler) > readable(plain.objective.sampler) + 0.2


@pytest.mark.parametrize(("sets", "message"), [
    (["generator.z_categories=0"], "objective infogan needs a categorical code in z"),
    (["info.weight=0"], r"info.weight = 0.0 must be a number > 0"),
    (["info.hidden=[]"], r"info.hidden = \[\] must list positive layer widths"),
    (["train.update=simultaneous"], "objective infogan needs train.update alternating"),
    (["objective=gan", "info.weight=2"], "info"),
])
def test_bad_infogan_configs_are_one_line_errors(sets, message):
    with pytest.raises(GankitError, match=message) as err:
        config("train.max_steps=10", *sets)
    assert "\n" not in str(err.value)
