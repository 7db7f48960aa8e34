"""The one exception type gankit raises for bad input.

Its message's first line says what was wrong and how to fix it; the CLI prints only that
message (no traceback) and exits with status 2.
"""


class GankitError(Exception):
    """A user-facing error: bad config, missing data, corrupt checkpoint, impossible shapes."""


def first_problem(exc: BaseException) -> str:
    """The most telling line of a library exception's message, for a one-line GankitError
    (for load_state_dict: the first 'size mismatch...' or 'Missing key(s)...' line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Error(s) in loading")] or lines
    return lines[0].rstrip(".") if lines else type(exc).__name__
