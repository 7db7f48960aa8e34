"""The configs that come with gankit, found by name from any directory.

The YAML files live in the repository's `configs/` folder; pyproject.toml installs that folder
as the package data `gankit/configs/`, so an installed gankit has them too. `gankit train
mnist-paper` (or `configs/mnist-paper.yaml` from outside the repository) reads the shipped
file; a path that exists always wins over a shipped name.
"""

from __future__ import annotations

from pathlib import Path

from gankit.errors import GankitError

_PACKAGE = Path(__file__).resolve().parents[1]  # the gankit package folder

# Where the shipped configs are: the installed package data first, then a checkout's configs/
# (running from the source tree, src/gankit has no configs/ of its own).
CONFIG_DIRS = (_PACKAGE / "configs", _PACKAGE.parents[1] / "configs")


def shipped_configs() -> dict[str, Path]:
    """{name: file} of the configs that come with gankit, e.g. {"mnist-paper": .../mnist-paper.yaml}."""
    for folder in CONFIG_DIRS:
        files = sorted(folder.glob("*.yaml"), key=lambda f: f.stem) if folder.is_dir() else []
        if files:
            return {file.stem: file for file in files}
    return {}


def find_config(path: str | Path) -> Path:
    """The config file `path` names: the file itself when it exists, else the shipped config of
    that name (`mnist-paper`, `mnist-paper.yaml` or `configs/mnist-paper.yaml`)."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise GankitError(f"config file {path} is a folder, not a YAML file; give a file such "
                          "as configs/ring8.yaml or a shipped config's name")
    name = path.stem if path.suffix in (".yaml", ".yml") else path.name
    shipped = shipped_configs()
    if name in shipped:
        return shipped[name]
    names = ", ".join(shipped) or "none found"
    raise GankitError(
        f"config file {path} not found; give a YAML file or a shipped config's name ({names})"
    )
