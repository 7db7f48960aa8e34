"""The verbs of the `gankit` command: one module per verb, listed in `gankit.cli.VERBS`."""
