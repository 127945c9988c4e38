"""Fleet-wide pacing: when Azure answers 429, every worker on that surface waits it out.

azure-core's RetryPolicy already sleeps for ``Retry-After`` on the request that was throttled,
but the other workers of a fleet run would keep sending and collect more 429s (and on ARM each
of them counts against the same subscription limit). A :class:`RetryAfterGate` is shared by all
clients of one surface; its pipeline policy holds every request until the latest ``Retry-After``
has passed, so the fleet slows down as a whole instead of hammering.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

#: Never wait longer than this on one answer, whatever the header says.
MAX_RETRY_AFTER = 120.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms``/``x-ms-retry-after-ms``/``Retry-After``, or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in lowered:
            try:
                return min(MAX_RETRY_AFTER, max(0.0, float(lowered[name]) / 1000.0))
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - time.time()))


class RetryAfterGate:
    """A shared "not before" time for one surface (ARM, Key Vault, a data plane)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        #: How many 429 answers the gate has seen (reported in step timings).
        self.throttled = 0

    def wait(self) -> float:
        """Block until the gate is open; return the seconds waited."""
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            return delay
        return 0.0

    def hold(self, seconds: float) -> None:
        """Close the gate for ``seconds`` from now (never shortens an existing hold)."""
        with self._lock:
            self.throttled += 1
            self._not_before = max(self._not_before, time.monotonic() + seconds)


def gate_policy(gate: RetryAfterGate) -> Any:
    """An azure-core per-retry pipeline policy that waits at ``gate`` and closes it on 429."""
    from azure.core.pipeline.policies import HTTPPolicy

    class _GatePolicy(HTTPPolicy[Any, Any]):
        def send(self, request: Any) -> Any:
            gate.wait()
            response = self.next.send(request)
            if response.http_response.status_code == 429:
                seconds = retry_after_seconds(response.http_response.headers)
                gate.hold(1.0 if seconds is None else seconds)
            return response

    return _GatePolicy()


@dataclass(frozen=True)
class RetrySettings:
    """How hard an SDK client retries: status (429/5xx) answers, connection failures, timeouts.

    The defaults ride out ARM throttling (each 429's Retry-After is honoured) while an
    unreachable endpoint fails within a few seconds instead of azure-core's minutes.
    """

    total: int = 8
    connect: int = 2
    backoff_factor: float = 0.8
    backoff_max: float = 15.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0

    def sdk_kwargs(self) -> dict[str, Any]:
        """The azure-core keyword arguments for these settings."""
        return {
            "retry_total": self.total,
            "retry_connect": self.connect,
            "retry_status": self.total,
            "retry_backoff_factor": self.backoff_factor,
            "retry_backoff_max": self.backoff_max,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }


def client_kwargs(
    verify: str | bool,
    gate: RetryAfterGate | None,
    retry: RetrySettings | None,
    *,
    pool_size: int | None = None,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """Keyword arguments shared by keyops' SDK clients: trust, retries, the shared 429 gate.

    Trust and proxies travel in the transport (:func:`keyops.azure.tls.sdk_transport`), so an SDK
    call trusts exactly what a data-plane probe trusts. ``pool_size``: connections kept per host
    (requests' default when None). ``session``: a session shared by every client of a run (its
    pools sized to the run's concurrency), so that connections are reused across accounts and
    subscriptions; the clients do not close it.
    """
    from keyops.azure.tls import DEFAULT_POOL_SIZE, sdk_transport

    size = DEFAULT_POOL_SIZE if pool_size is None else pool_size
    kwargs: dict[str, Any] = {"transport": sdk_transport(verify, pool_size=size, session=session)}
    kwargs.update((retry or RetrySettings()).sdk_kwargs())
    if gate is not None:
        kwargs["per_retry_policies"] = [gate_policy(gate)]
    return kwargs
