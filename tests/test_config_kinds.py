"""Configs per network kind: a key the chosen kind ignores is refused, one place validates, and
a failed check (config or data) leaves nothing on disk."""

from __future__ import annotations

import pytest

from conftest import REPO, tiny_config
from gankit.config import load_config
from gankit.config.schema import KIND_KEYS, OUTPUTS
from gankit.errors import GankitError
from gankit.nets import build_discriminator, build_generator
from gankit.train.loop import Trainer


@pytest.mark.parametrize(
    ("base", "override", "named"),
    [
        ("configs/mnist-dcgan.yaml", "generator.hidden=[64, 64]", "generator.hidden"),
        ("configs/mnist-dcgan.yaml", "generator.z_dist=normal", "generator.z_dist"),
        ("configs/mnist-dcgan.yaml", "generator.init_range=0.1", "generator.init_range"),
        ("configs/mnist-dcgan.yaml", "discriminator.pieces=3", "discriminator.pieces"),
        ("configs/mnist-dcgan.yaml", "discriminator.dropout_input=0.1",
         "discriminator.dropout_input"),
        ("configs/mnist-paper.yaml", "generator.base=32", "generator.base"),
        ("configs/mnist-paper.yaml", "generator.attention=true", "generator.attention"),
        ("configs/mnist-paper.yaml", "discriminator.extra_layers=1", "discriminator.extra_layers"),
        ("configs/mnist-paper.yaml", "generator.spectral_norm=true", "generator.spectral_norm"),
    ],
)
def test_a_key_the_kind_ignores_is_refused(base, override, named):
    with pytest.raises(GankitError) as err:
        load_config(REPO / base, [override])
    message = str(err.value)
    assert message.startswith(named) and "is not read by" in message and "reads:" in message


def test_defaults_of_ignored_keys_are_fine_and_every_shipped_config_loads():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        load_config(path)


def _changed(value):
    """Some other valid-looking value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 0.5 + 0.01
    if isinstance(value, list):
        return [*value, 8]
    return {"uniform": "normal", "sigmoid": "tanh"}.get(value, value)


@pytest.mark.parametrize("section_kind", list(KIND_KEYS))
def test_keys_a_kind_does_not_declare_really_change_nothing(section_kind):
    """Each key refused for a kind is one its builder ignores: changing it (validation
    bypassed) builds the very same network, so the refusal never rejects a real setting."""
    import copy
    import dataclasses

    import torch

    section, kind = section_kind
    base = "configs/mnist-dcgan.yaml" if kind == "dcgan" else "configs/mnist-paper.yaml"
    cfg = load_config(REPO / base, [f"discriminator.kind={kind}"] if section == "discriminator"
                      else [])
    build = build_generator if section == "generator" else build_discriminator

    def net_of(c):
        torch.manual_seed(0)
        net = build(c, (1, 28, 28), 0)
        return repr(net), {k: v.clone() for k, v in net.state_dict().items()}

    reference = net_of(cfg)
    ignored = [f.name for f in dataclasses.fields(getattr(cfg, section))
               if f.name != "kind" and f.name not in KIND_KEYS[section_kind]]
    assert ignored
    for key in ignored:
        other = copy.deepcopy(cfg)
        setattr(getattr(other, section), key, _changed(getattr(getattr(cfg, section), key)))
        text, state = net_of(other)
        assert text == reference[0], f"{section}.{key} changes a {kind} {section}"
        assert all(torch.equal(state[k], v) for k, v in reference[1].items()), key


def test_output_choices_per_kind():
    assert OUTPUTS["dcgan"] == ("sigmoid", "tanh")
    load_config(REPO / "configs/mnist-dcgan.yaml", ["generator.output=tanh"])
    load_config(REPO / "configs/mnist-paper.yaml", ["generator.output=tanh"])
    with pytest.raises(GankitError, match="not available for generator.kind dcgan"):
        load_config(REPO / "configs/mnist-dcgan.yaml", ["generator.output=linear"])


def test_the_dead_key_is_accepted_with_a_note(capsys):
    cfg = load_config(REPO / "configs/ring8.yaml", ["train.sample_every_epoch=true"])
    assert not hasattr(cfg.train, "sample_every_epoch")
    assert "train.sample_every_epoch is no longer used" in capsys.readouterr().err


def test_a_config_changed_after_loading_is_checked_again(tmp_path):
    cfg = tiny_config()
    cfg.train.k = 0
    with pytest.raises(GankitError, match="train.k = 0"):
        Trainer(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.batch_size=5000"],  # more than the 2,000 training points: a data check
        ["data.dataset=image-folder", "data.dir=/nonexistent/images"],  # missing data
        ["train.eval_every=1", "train.eval_metrics=[fid]"],  # no such metric for 2-D data
    ],
)
def test_a_failed_check_leaves_nothing_on_disk(tmp_path, overrides):
    run_dir = tmp_path / "run"
    with pytest.raises(GankitError):
        Trainer(tiny_config(*overrides), run_dir)
    assert not run_dir.exists()


def test_a_run_stopped_before_its_first_checkpoint_can_start_again(tmp_path):
    run_dir = tmp_path / "run"
    Trainer(tiny_config(), run_dir)  # writes the folder, never trains: no checkpoint
    assert (run_dir / "config.yaml").exists() and not (run_dir / "checkpoint.pt").exists()
    Trainer(tiny_config(), run_dir).run()
    assert (run_dir / "checkpoint.pt").exists()


def test_resume_with_a_shape_changing_override_leaves_the_run_as_it_was(tmp_path):
    run_dir = tmp_path / "run"
    Trainer(tiny_config(), run_dir).run()
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    with pytest.raises(GankitError, match="does not fit this config"):
        Trainer(tiny_config("generator.hidden=[16, 16, 16]"), run_dir, resume=True, force=True)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
