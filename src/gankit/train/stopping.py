"""Stopping a run cleanly: Ctrl-C and SIGTERM become a flag the loop reads between iterations."""

from __future__ import annotations

import signal
from typing import Any


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: training stopped at an iteration boundary and was saved."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.exit_status = 128 + int(signum)  # what a shell reports for that signal


class NoLock:
    """What a process that does not write the run folder holds instead of its lock."""

    def acquire(self, create: bool) -> bool:
        return False

    def claim(self) -> None: ...

    def release(self) -> None: ...


class StopSignals:
    """Turns SIGINT and SIGTERM into a flag the loop reads between iterations, so a stop never
    saves a half-finished iteration. A second signal acts at once (the checkpoint write is
    atomic, so even that cannot corrupt the run folder)."""

    NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

    def __init__(self) -> None:
        self.received: str | None = None
        self.signum: int = signal.SIGINT
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received, self.signum = self.NAMES[signum], signum
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __enter__(self) -> StopSignals:
        try:
            for sig in self.NAMES:
                self.previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: signals stay as they are
            self.previous = {}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
