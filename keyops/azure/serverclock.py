"""A service's clock as its answers show it: the ``Date`` header of the latest response.

A lease that must not be outlived cannot trust this machine's clock (a runner can be skewed by
hours, or paused while time passes), so its remaining time is measured on Key Vault's clock:
the ``Date`` of the latest answer, advanced by the monotonic time since it arrived.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any


class ServerClock:
    """The latest ``Date`` a service sent, and when (monotonic) it arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[datetime, float] | None = None

    def observe(self, date_header: str | None) -> None:
        """Record one answer's ``Date`` header (ignored when absent or malformed)."""
        if not date_header:
            return
        try:
            stamp = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if stamp.tzinfo is None:
            return
        with self._lock:
            self._seen = (stamp, time.monotonic())

    def response_hook(self, response: Any) -> None:
        """An azure-core ``raw_response_hook`` that observes every answer's ``Date``."""
        self.observe(response.http_response.headers.get("Date"))

    def now(self) -> datetime | None:
        """The service's time now (None before its first answer)."""
        with self._lock:
            if self._seen is None:
                return None
            stamp, at = self._seen
        return stamp + timedelta(seconds=time.monotonic() - at)
