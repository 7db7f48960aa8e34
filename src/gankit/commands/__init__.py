"""CLI verbs beyond train/sample/info: one module per verb (see gankit.cli_extra)."""
