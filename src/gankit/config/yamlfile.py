"""Reading YAML strictly: a duplicated key is an error, and every error names its line and column.

PyYAML's SafeLoader keeps the last of two equal keys, so a second `train:` section silently
replaces the first one; `StrictLoader` refuses it instead. Errors come back as one-line
GankitErrors that name the file, the line and the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from gankit.errors import GankitError

_MERGE = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (`<<` merges may still be
    overridden by an explicit key: that is what they are for)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise ConstructorError(
                    None, None,
                    f"key {key!r} appears twice (first on line {seen[key]}); keep one of them",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return " ".join(str(problem).split())


def parse_yaml(text: str, what: str) -> Any:
    """`text` read as YAML; `what` names it in the one-line error ("config file x.yaml")."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise GankitError(f"{what} is not valid YAML{_where(exc)}: {_problem(exc)}") from None


def read_yaml_file(path: Path, what: str) -> Any:
    """A YAML file's contents; unreadable files and bad YAML are one-line GankitErrors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GankitError(f"{what} is not a text file (not UTF-8); give a YAML file") from None
    except OSError as exc:
        raise GankitError(f"cannot read {what} ({exc.strerror}); check the path") from None
    return parse_yaml(text, what)
