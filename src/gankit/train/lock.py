"""One process per run folder: an advisory lock on RUN/.lock, held for the whole training.

`fcntl.flock` locks belong to the open file, so the kernel drops them when the process ends,
however it ends: a killed trainer never leaves a stale lock behind. The lock file holds the PID
of the last process that trained the run; it is only written once that process has passed every
check, so a refused command leaves the folder as it was. Where `fcntl` does not exist
(Windows) the lock does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from gankit.errors import GankitError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class RunLock:
    """The lock of one run folder. `acquire` never blocks: a folder in use is an error."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self, create: bool) -> bool:
        """Take the lock; True when it was taken now, False when already held here or when
        there is no lock file and `create` is False. Creating the file is a write, so it
        waits until the run folder is written anyway."""
        if self.held or fcntl is None:
            return False
        if not create and not self.path.exists():
            return False
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise GankitError(f"cannot open the lock file {self.path} ({exc.strerror}); "
                              "check the run folder's permissions") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_pid(fd)
            os.close(fd)
            # The PID is written a moment after the lock is taken: an old one may still be there.
            who = f"process {holder}" if holder and pid_alive(holder) else "another process"
            if holder == os.getpid():
                who += " (this one: another Trainer on the same folder is still alive)"
            raise GankitError(
                f"run folder {self.path.parent} is in use by {who}; wait for it to finish or "
                "stop it, then try again"
            ) from None
        self.fd = fd
        return True

    def claim(self) -> None:
        """Write this process's PID into the lock file, for the message another process gets."""
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the file drops the flock

    def __del__(self) -> None:
        self.release()


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
