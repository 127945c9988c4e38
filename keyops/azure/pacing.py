"""Fleet-wide pacing: stay inside Azure's request budgets, and wait out a 429 together.

Two layers, both shared by every worker of a run:

- :class:`Budget` paces requests *before* they are sent with Azure's own token buckets: ARM
  per subscription (and principal: one run has one) — writes burst 200, refill 10/s; reads
  burst 250, refill 25/s; listKeys and regenerateKey are POSTs, so writes — and Key Vault per
  vault (4,000 per 10 s). ARM's ``x-ms-ratelimit-remaining-subscription-writes``/``-reads``
  tell what is really left: other runners with the same principal (pipeline shards) spend the
  same bucket, so the local bucket never holds more than ARM says. Raising ``--concurrency``
  therefore queues requests here instead of causing a 429 storm.
- :class:`RetryAfterGate`: azure-core's RetryPolicy sleeps for ``Retry-After`` on the request
  that was throttled, but the other workers would keep sending; the gate holds every request of
  the surface until the latest ``Retry-After`` has passed (1 s when a resource provider's 429
  carries no such header).
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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


class TokenBucket:
    """Azure's bucket: ``burst`` tokens, refilled at ``rate`` a second; :meth:`take` waits."""

    def __init__(
        self,
        burst: float,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._stamp = clock()
        #: Requests sent but not answered: the service's count does not include them yet.
        self._in_flight = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> float:
        """Take a token, waiting until one is free; return the seconds waited."""
        with self._lock:
            self._refill()
            # Reserve now (tokens may go negative): waiters queue in arrival order.
            self._tokens -= 1
            self._in_flight += 1
            wait = max(0.0, -self._tokens / self.rate)
        if wait > 0:
            self._sleep(wait)
        return wait

    def answered(self, remaining: int | None) -> None:
        """A request taken from this bucket was answered; the service says ``remaining`` are
        left (None: it did not say). Never believe in more than that, less the requests still
        in flight (already taken here, not yet counted there)."""
        with self._lock:
            self._refill()
            self._in_flight = max(0, self._in_flight - 1)
            if remaining is not None:
                self._tokens = min(self._tokens, float(remaining - self._in_flight))

    @property
    def tokens(self) -> float:
        """Tokens left now (negative while requests are queued)."""
        with self._lock:
            self._refill()
            return self._tokens


#: ARM's buckets per subscription and principal: (burst, refill per second).
ARM_WRITES = (200.0, 10.0)
ARM_READS = (250.0, 25.0)
#: Key Vault: 4,000 transactions per 10 s per vault.
VAULT_OPERATIONS = (4000.0, 400.0)
_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)


class Budget:
    """The buckets of one run: ARM per subscription and kind, Key Vault per vault host."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        #: Seconds requests spent waiting for a token (reported by benchmarks).
        self.waited = 0.0

    def bucket(self, surface: str, scope: str, kind: str) -> TokenBucket:
        """The bucket for ``scope`` (a subscription id or vault host) and ``kind``."""
        key = (f"{surface}:{kind}", scope.lower())
        with self._lock:
            if key not in self._buckets:
                burst, rate = _limits(surface, kind)
                self._buckets[key] = TokenBucket(burst, rate, self._clock, self._sleep)
            return self._buckets[key]

    def before(self, surface: str, method: str, url: str) -> TokenBucket | None:
        """Wait for the request's token; the bucket it came from (None: not budgeted)."""
        kind = "reads" if method.upper() in ("GET", "HEAD") else "writes"
        if surface == "arm":
            m = _SUBSCRIPTION.search(url)
            if m is None:
                return None
            scope = m.group(1)
        else:
            scope = urlsplit(url).netloc
        bucket = self.bucket(surface, scope, kind)
        waited = bucket.take()
        with self._lock:
            self.waited += waited
        from keyops.azure.writeguard import note_pacing

        note_pacing(waited)
        return bucket


def _limits(surface: str, kind: str) -> tuple[float, float]:
    if surface == "arm":
        return ARM_READS if kind == "reads" else ARM_WRITES
    return VAULT_OPERATIONS


def remaining_from(headers: Mapping[str, str], kind: str) -> int | None:
    """ARM's ``x-ms-ratelimit-remaining-subscription-<kind>`` (or the global one), if sent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in (
        f"x-ms-ratelimit-remaining-subscription-{kind}",
        f"x-ms-ratelimit-remaining-subscription-global-{kind}",
    ):
        value = lowered.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def budget_policy(budget: Budget, surface: str) -> Any:
    """An azure-core per-retry policy taking a token of ``budget`` before each request."""
    from azure.core.pipeline.policies import HTTPPolicy

    class _BudgetPolicy(HTTPPolicy[Any, Any]):
        def send(self, request: Any) -> Any:
            http = request.http_request
            bucket = budget.before(surface, http.method, http.url)
            remaining = None
            try:
                response = self.next.send(request)
                if surface == "arm":
                    kind = "reads" if http.method.upper() in ("GET", "HEAD") else "writes"
                    remaining = remaining_from(response.http_response.headers, kind)
            finally:
                if bucket is not None:
                    bucket.answered(remaining)
            return response

    return _BudgetPolicy()


class SingleFlightCredential:
    """A token credential shared by a fleet's workers that fetches each token once.

    Every SDK client's bearer policy asks for a token when it has none; at the start of a run
    all workers ask at once, and each would fetch its own (one Entra round trip and one new
    connection per worker). Here the first caller of a scope fetches while the others wait,
    then read the credential's cache.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._scope_locks: dict[tuple[str, ...], threading.Lock] = {}

        if hasattr(inner, "get_token_info"):  # azure-core prefers it when a credential has it
            self.get_token_info = self._get_token_info

    def _scope_lock(self, scopes: tuple[str, ...]) -> threading.Lock:
        with self._lock:
            return self._scope_locks.setdefault(scopes, threading.Lock())

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """The inner credential's token, one fetch per scope at a time."""
        with self._scope_lock(scopes):
            return self._inner.get_token(*scopes, **kwargs)

    def _get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        with self._scope_lock(scopes):
            return self._inner.get_token_info(*scopes, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


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
    budget: tuple[Budget, str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments shared by keyops' SDK clients: trust, retries, the shared 429 gate.

    Trust and proxies travel in the transport (:func:`keyops.azure.tls.sdk_transport`), so an SDK
    call trusts exactly what a data-plane probe trusts. ``pool_size``: connections kept per host
    (requests' default when None). ``session``: a session shared by every client of a run (its
    pools sized to the run's concurrency), so that connections are reused across accounts and
    subscriptions; the clients do not close it. ``budget``: the run's :class:`Budget` and this
    client's surface (``"arm"`` or ``"keyvault"``), so requests wait for a token instead of
    drawing 429s.
    """
    from keyops.azure.tls import DEFAULT_POOL_SIZE, sdk_transport

    size = DEFAULT_POOL_SIZE if pool_size is None else pool_size
    kwargs: dict[str, Any] = {"transport": sdk_transport(verify, pool_size=size, session=session)}
    kwargs.update((retry or RetrySettings()).sdk_kwargs())
    from keyops.azure.writeguard import write_guard_policy

    policies = []
    if gate is not None:
        policies.append(gate_policy(gate))
    if budget is not None:
        policies.append(budget_policy(*budget))
    # Last: a write's precondition is checked after every wait above, right before the send.
    policies.append(write_guard_policy())
    kwargs["per_retry_policies"] = policies
    return kwargs
