"""Classifier weights shipped inside the package, with a JSON manifest that vouches for them.

benchmarks/train_classifier.py writes the weights into `gankit/metrics/weights/` and, beside
them, `<name>.json`: their SHA-256, the command that made them, the date, the torch version and
the measured test accuracy. A load trusts the file only when its SHA-256 equals the manifest's,
so a damaged or half-copied install is noticed instead of silently giving other features.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gankit.data.mnist import sha256_of

SHIPPED_DIR = Path(__file__).with_name("weights")


def manifest_path(weights: Path) -> Path:
    """`mnist_classifier_v1.pt` -> `mnist_classifier_v1.json` in the same folder."""
    return weights.with_suffix(".json")


def write_manifest(weights: Path, **info: Any) -> dict[str, Any]:
    """Write the manifest of `weights` (file name, size, SHA-256, then `info`); return it."""
    manifest = {"file": weights.name, "bytes": weights.stat().st_size,
                "sha256": sha256_of(weights), **info}
    manifest_path(weights).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(weights: Path) -> dict[str, Any]:
    """The manifest of `weights` as a dict; OSError or ValueError when absent or unreadable."""
    return json.loads(manifest_path(weights).read_text())


def shipped_problem(weights: Path) -> str | None:
    """Why the shipped `weights` cannot be trusted, or None when their SHA-256 verifies."""
    if not weights.is_file():
        return "not found"
    try:
        expected = read_manifest(weights).get("sha256")
    except (OSError, ValueError):
        return f"manifest {manifest_path(weights).name} missing or unreadable"
    actual = sha256_of(weights)
    if expected != actual:
        return f"SHA-256 mismatch (file {actual[:12]}, manifest {str(expected)[:12]})"
    return None
