import pytest

from conftest import REPO
from gankit.config import config_diff, config_to_dict, load_config
from gankit.errors import GankitError


def test_configs_in_repo_load():
    for name in ("mnist-paper", "ring8", "grid25"):
        cfg = load_config(REPO / "configs" / f"{name}.yaml")
        assert cfg.name == name


def test_paper_config_matches_the_authors_mnist_yaml():
    cfg = load_config(REPO / "configs" / "mnist-paper.yaml")
    assert cfg.generator.hidden == [1200, 1200] and cfg.generator.z_dim == 100
    assert cfg.discriminator.hidden == [240, 240] and cfg.discriminator.pieces == 5
    assert cfg.optim.lr == 0.1 and cfg.optim.lr_decay == 1.000004 and cfg.optim.lr_min == 1e-6
    assert (cfg.optim.momentum_start, cfg.optim.momentum_end) == (0.5, 0.7)
    assert cfg.train.batch_size == 100 and cfg.train.k == 1


def test_override_types_are_parsed():
    cfg = load_config(REPO / "configs/ring8.yaml", ["train.k=3", "optim.betas=[0.1, 0.2]", "train.ema=0.5"])
    assert cfg.train.k == 3 and cfg.optim.betas == [0.1, 0.2] and cfg.train.ema == 0.5


def test_unknown_key_names_valid_keys():
    with pytest.raises(GankitError) as err:
        load_config(REPO / "configs/ring8.yaml", ["train.kk=2"])
    msg = str(err.value)
    assert "train.kk" in msg and "valid keys" in msg and "batch_size" in msg


def test_unknown_top_level_key_in_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("nmae: x\n")
    with pytest.raises(GankitError, match="unknown config key nmae.*valid keys: name"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("train.k=two", "train.k: expected an integer"),
        ("train.k=-1", "train.k = -1 must be at least 1"),
        ("train.progress=3", "expected true or false"),
        ("loss=gan", "loss = 'gan' is not known; choose one of: minimax, non-saturating"),
        ("generator.hidden=5", "expected a list"),
        ("discriminator.pack=3", "must be >= 1 and divide train.batch_size"),
        ("optim.name=adagrad", "optim.name = 'adagrad' is not known"),
    ],
)
def test_bad_values_fail_with_one_line(override, pattern):
    with pytest.raises(GankitError, match=pattern) as err:
        load_config(REPO / "configs/ring8.yaml", [override])
    assert "\n" not in str(err.value)


def test_missing_and_invalid_yaml(tmp_path):
    with pytest.raises(GankitError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(GankitError, match="not valid YAML"):
        load_config(bad)


def test_switching_loss_brings_its_paper_defaults_unless_set():
    cfg = load_config(REPO / "configs/mnist-paper.yaml", ["loss=wgan"])
    assert (cfg.optim.name, cfg.optim.lr, cfg.train.k) == ("rmsprop", 5e-5, 5)
    cfg = load_config(REPO / "configs/mnist-paper.yaml", ["loss=wgan", "train.k=2"])
    assert cfg.train.k == 2
    cfg = load_config(REPO / "configs/mnist-paper.yaml", ["loss=minimax"])
    assert cfg.optim.name == "sgd"  # no paper defaults to bring


def test_wgan_gp_refuses_batch_norm_in_the_critic():
    with pytest.raises(GankitError, match="batch norm in the critic"):
        load_config(REPO / "configs/mnist-paper.yaml",
                    ["loss=wgan-gp", "discriminator.kind=dcgan", "generator.kind=dcgan"])


def test_config_diff_lists_changed_leaves():
    a = config_to_dict(load_config(REPO / "configs/ring8.yaml"))
    b = config_to_dict(load_config(REPO / "configs/ring8.yaml", ["train.k=4"]))
    assert config_diff(a, b) == ["train.k: 1 -> 4"]
