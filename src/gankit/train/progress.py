"""The progress display: a tqdm bar on a terminal, plain lines when stderr goes to a file.

A bar redraws itself with carriage returns, which a log file keeps as one endless line of
noise; a redirected run gets one plain line per logged record instead (and one at least every
`LINE_SECONDS`, so a slow stretch such as WGAN's critic warm-up never looks like a hang).
Both count discriminator updates (one real minibatch each), the unit an epoch is made of.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

# A plain line at least this often while training, even between logged records.
LINE_SECONDS = 60.0


def _values(record: dict[str, Any]) -> dict[str, str]:
    """The few logged values worth showing while training."""
    values = {
        "ep": str(record["epoch"]),
        "D": f"{record.get('d_loss', 0):.4g}",
        "G": f"{record.get('g_loss', 0):.4g}",
        "D(x)": f"{record.get('d_x', 0):.2f}",
        "D(G(z))": f"{record.get('d_gz', 0):.2f}",
        "img/s": f"{record['images_per_s']:.0f}",
    }
    if "d_loss" not in record:  # no discriminator (a VAE): G is its loss, the negative ELBO
        for key in ("D", "D(x)", "D(G(z))"):
            del values[key]
    return values


class ProgressBar:
    """A tqdm bar over discriminator updates, with the last record's values beside it."""

    def __init__(self, name: str, total: int | None, initial: int, stream: TextIO):
        from tqdm import tqdm

        self.stream = stream
        self.last = initial
        self.bar = tqdm(total=total, initial=initial, unit="batch", dynamic_ncols=True,
                        file=stream, desc=name)

    def update(self, d_steps: int, g_steps: int) -> None:
        self.bar.update(d_steps - self.last)
        self.last = d_steps

    def show(self, record: dict[str, Any]) -> None:
        post = _values(record)
        if record.get("warnings"):
            post["!"] = record["warnings"][0][:40]
        self.bar.set_postfix(post, refresh=False)

    def write(self, message: str) -> None:
        self.bar.write(message, file=self.stream)

    def close(self) -> None:
        self.bar.close()


class ProgressLines:
    """One plain line per logged record (and per LINE_SECONDS of silence): no carriage returns."""

    def __init__(self, name: str, total: int | None, initial: int, stream: TextIO):
        self.name, self.total, self.stream = name, total, stream
        self.d_steps, self.g_steps = initial, 0
        self.last_line = time.monotonic()

    def _where(self) -> str:
        if self.total:
            share = 100 * self.d_steps / self.total
            return f"step {self.g_steps}, batch {self.d_steps}/{self.total} ({share:.0f}%)"
        return f"step {self.g_steps}, batch {self.d_steps}"

    def update(self, d_steps: int, g_steps: int) -> None:
        self.d_steps, self.g_steps = d_steps, g_steps
        if time.monotonic() - self.last_line >= LINE_SECONDS:
            self.write(f"{self.name}: {self._where()}")

    def show(self, record: dict[str, Any]) -> None:
        values = " ".join(f"{k} {v}" for k, v in _values(record).items())
        self.write(f"{self.name}: {self._where()}, {values}")

    def write(self, message: str) -> None:
        print(message, file=self.stream, flush=True)
        self.last_line = time.monotonic()

    def close(self) -> None:
        pass


def make_progress(name: str, total: int | None, initial: int,
                  stream: TextIO | None = None) -> ProgressBar | ProgressLines:
    """A bar when `stream` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    is_tty = getattr(stream, "isatty", lambda: False)()
    return (ProgressBar if is_tty else ProgressLines)(name, total, initial, stream)
