"""Typed run configuration: the schema, loading with `--set` overrides, and validation.

    schema.py    the dataclasses (one per YAML section) and which keys each network kind reads
    typed.py     a raw mapping checked key by key against the schema
    validate.py  the one place a config is checked (and `check_against_data`)
    load.py      YAML files, overrides, deprecated keys, dumping and diffs
    shipped.py   the configs that come with gankit, found by name
"""

from gankit.config.load import (
    apply_overrides,
    config_as_read,
    config_diff,
    config_from_dict,
    config_to_dict,
    config_to_yaml,
    load_config,
    parse_override,
)
from gankit.config.schema import (
    DATASETS,
    DISCRIMINATORS,
    GENERATORS,
    LOSS_NAMES,
    OPTIMIZERS,
    Config,
    DataConfig,
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    OptimConfig,
    TrainConfig,
)
from gankit.config.shipped import find_config, shipped_configs
from gankit.config.typed import merged_optim
from gankit.config.validate import check_against_data, validate

__all__ = [
    "DATASETS", "DISCRIMINATORS", "GENERATORS", "LOSS_NAMES", "OPTIMIZERS", "Config",
    "DataConfig", "DiscriminatorConfig", "GeneratorConfig", "LossConfig", "OptimConfig",
    "TrainConfig", "apply_overrides", "check_against_data", "config_as_read", "config_diff",
    "config_from_dict", "config_to_dict", "config_to_yaml", "find_config", "load_config",
    "merged_optim", "parse_override", "shipped_configs", "validate",
]
