"""The emulator's clock: wall time plus an offset that the admin API can move."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class DateHeaderMiddleware:
    """Stamps every response's ``Date`` header from the emulated clock, as Azure stamps its own:
    clients that measure ages on the service's clock (keyops rotate) see the moved time too.
    (The server's own ``Date`` header is turned off.)"""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                stamp = formatdate(self.clock.now(), usegmt=True).encode("latin-1")
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)
