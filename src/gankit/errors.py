"""The one exception type gankit raises for bad input.

Its message's first line says what was wrong and how to fix it; the CLI prints only that
message (no traceback) and exits with status 2.
"""


class GankitError(Exception):
    """A user-facing error: bad config, missing data, corrupt checkpoint, impossible shapes."""
