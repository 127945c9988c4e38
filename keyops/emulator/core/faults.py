"""Scripted faults, throttling and latency, set through the admin API.

A fault rule matches an operation id (as the spec names it, or ``*``) and optionally a path
fragment; it fires ``times`` times (None = always) or with a seeded ``probability``. Kinds:
``status`` (answer with an HTTP status in the surface's error envelope), ``latency`` (add delay),
``drop_before`` / ``drop_after`` (drop the connection before the operation runs, or after its
effect is saved), ``hold`` (the request waits, before the operation runs, until the rule is
released through the admin API or ``latency_ms`` (default 30 s) passes: a test makes another
writer act while a request is on its way, without racing a clock), ``no_effect`` (the operation
answers as if done without doing it, as a stale replica would: for the operations in
:data:`NO_EFFECT_OPERATIONS`; regenerateKey then answers the keys unchanged). ``skip`` lets
that many matching requests through before the rule fires. Throttling is a token bucket per
surface answering 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("status", "latency", "drop_before", "drop_after", "hold", "no_effect")
#: The operations that can answer without their effect (``no_effect``).
NO_EFFECT_OPERATIONS = ("Accounts_RegenerateKey",)
#: How long a ``hold`` waits for its release when the rule gives no ``latency_ms``.
HOLD_CAP_MS = 30_000.0


@dataclass
class FaultRule:
    """One scripted fault."""

    id: int
    operation: str
    kind: str
    status: int = 500
    code: str | None = None
    message: str | None = None
    latency_ms: float = 0.0
    times: int | None = 1
    probability: float | None = None
    match: str | None = None
    retry_after: float | None = None
    skip: int = 0
    fired: int = 0
    seen: int = 0
    released: bool = False
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def applies(self, operation: str, path: str) -> bool:
        """Whether this rule is for the given request (and still has shots left)."""
        if self.operation not in ("*", operation):
            return False
        if self.match and self.match.lower() not in path.lower():
            return False
        return self.times is None or self.fired < self.times

    def public(self) -> dict[str, Any]:
        """The rule as the admin API shows it."""
        return {
            "id": self.id,
            "operation": self.operation,
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
            "latency_ms": self.latency_ms,
            "times": self.times,
            "probability": self.probability,
            "match": self.match,
            "skip": self.skip,
            "fired": self.fired,
            "released": self.released,
        }


class TokenBucket:
    """A token bucket on the monotonic clock: ``rate`` tokens a second, ``burst`` at most."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.throttled = 0

    def take(self) -> float:
        """Take a token; return 0 if one was free, else the seconds until one will be."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        self.throttled += 1
        return (1 - self.tokens) / self.rate if self.rate > 0 else 3600.0


class Faults:
    """All fault rules, throttles and latency models of one emulator."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._next = 1
        self.seed = seed
        self.rules: list[FaultRule] = []
        self.buckets: dict[str, TokenBucket] = {}
        self.latency: dict[str, tuple[float, float]] = {}
        self._jitter = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Add a rule from its admin-API JSON; ValueError names a bad field."""
        kind = spec.get("kind", "status")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        operation = spec.get("operation")
        if not isinstance(operation, str) or not operation:
            raise ValueError("operation is required (an operation id or '*')")
        if kind == "no_effect" and operation not in NO_EFFECT_OPERATIONS:
            raise ValueError(f"no_effect is for {', '.join(NO_EFFECT_OPERATIONS)} only")
        times = spec.get("times", None if spec.get("probability") is not None else 1)
        skip = int(spec.get("skip", 0))
        if skip < 0:
            raise ValueError("skip must be 0 or more")
        latency = spec.get("latency_ms", HOLD_CAP_MS if kind == "hold" else 0)
        with self._lock:
            rule = FaultRule(
                id=self._next,
                operation=operation,
                kind=kind,
                status=int(spec.get("status", 500)),
                code=spec.get("code"),
                message=spec.get("message"),
                latency_ms=float(latency),
                times=None if times is None else int(times),
                probability=None if spec.get("probability") is None else float(spec["probability"]),
                match=spec.get("match"),
                retry_after=None if spec.get("retry_after") is None else float(spec["retry_after"]),
                skip=skip,
                rng=random.Random(int(spec.get("seed", self.seed + self._next))),
            )
            self._next += 1
            self.rules.append(rule)
            return rule

    def release(self, rule_id: int) -> FaultRule:
        """Let the requests a ``hold`` rule holds (and any it would hold later) go on; KeyError
        when no rule has that id."""
        with self._lock:
            rule = next((r for r in self.rules if r.id == rule_id), None)
            if rule is None:
                raise KeyError(rule_id)
            rule.released = True
            return rule

    def clear(self) -> None:
        """Remove every rule, throttle and latency model."""
        with self._lock:
            self.rules.clear()
            self.buckets.clear()
            self.latency.clear()

    def fire(self, operation: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (their counters are advanced)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self.rules:
                if not rule.applies(operation, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                if rule.probability is not None and rule.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired

    def set_throttle(self, surface: str, rate: float, burst: int) -> None:
        """Throttle a surface with a token bucket (rate <= 0 removes it)."""
        with self._lock:
            if rate <= 0:
                self.buckets.pop(surface, None)
            else:
                self.buckets[surface] = TokenBucket(rate, burst)

    def throttle_wait(self, surface: str) -> float:
        """0 when the request may pass, else the Retry-After seconds for a 429."""
        with self._lock:
            bucket = self.buckets.get(surface)
            return bucket.take() if bucket is not None else 0.0

    def set_latency(self, surface: str, base_ms: float, jitter_ms: float = 0.0) -> None:
        """Add a latency model to a surface (for benchmarks)."""
        with self._lock:
            self.latency[surface] = (base_ms, jitter_ms)

    def delay_for(self, surface: str) -> float:
        """Seconds of modelled latency for one request on ``surface``."""
        with self._lock:
            base, jitter = self.latency.get(surface, (0.0, 0.0))
            if base <= 0 and jitter <= 0:
                return 0.0
            return max(0.0, base + self._jitter.uniform(-jitter, jitter)) / 1000.0


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds; never advertise 0 for a throttled request."""
    return str(max(1, math.ceil(seconds)))
