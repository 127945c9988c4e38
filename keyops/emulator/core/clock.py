"""The emulator's clock: wall time plus an offset that the admin API can move."""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    """Emulated 'now'. Tests backdate state rather than sleep; the offset moves time forward."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        """Current emulated time, Unix seconds."""
        return time.time() + self.offset

    def now_dt(self) -> datetime:
        """Current emulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        """Move emulated time forward (or back, with a negative value)."""
        self.offset += seconds


def iso(ts: float) -> str:
    """Unix seconds to the ISO 8601 UTC form ARM uses (``2024-01-01T00:00:00.0000000Z``)."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def parse_iso(text: str) -> float:
    """ISO 8601 (with ``Z`` or an offset) to Unix seconds."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    # Python < 3.11 accepts at most 6 fractional digits.
    if "." in t:
        head, _, rest = t.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits) :]
        t = f"{head}.{digits[:6]}{tail}"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
