"""A child process's clocks, moved from outside by libfaketime (no hook in keyops).

A stall that outlives a lease (a paused VM, a long garbage collection) passes on the runner's
own clocks as well as on Key Vault's. The emulator's clock is moved through its admin API; the
runner's wall and monotonic clocks are moved by rewriting libfaketime's timestamp file, which
the child reads at every clock call (``FAKETIME_NO_CACHE``). Debian package ``libfaketime``.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


def available() -> bool:
    """Whether libfaketime is installed here."""
    return LIBFAKETIME.exists()


class RunnerClock:
    """The clocks of the processes started with :meth:`env`, offset from this machine's.

    Not ``FAKETIME_DONT_FAKE_MONOTONIC``: with it, libfaketime makes every sleep fail (EINVAL).
    """

    def __init__(self, offset: int = 0) -> None:
        fd, name = tempfile.mkstemp(prefix="keyops-runner-clock-")
        os.close(fd)
        self.path = Path(name)
        self.offset = offset
        self._write()

    def _write(self) -> None:
        self.path.write_text(f"{self.offset:+d}\n")

    def env(self) -> dict[str, str]:
        """The environment variables that put a child on this clock."""
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
        }

    def advance(self, seconds: int) -> None:
        """Move the child's clocks (wall and monotonic) on by ``seconds`` at once."""
        self.offset += seconds
        self._write()

    def hide_since(self, started: float) -> None:
        """Move the child's clocks back by the real time since ``started`` (``time.monotonic``),
        and a second more: a stall its clock never saw (a suspend ``CLOCK_MONOTONIC`` skips)."""
        self.advance(-(math.ceil(time.monotonic() - started) + 1))

    def close(self) -> None:
        """Remove the timestamp file."""
        self.path.unlink(missing_ok=True)
