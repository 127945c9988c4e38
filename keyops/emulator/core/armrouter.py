"""One dispatcher for every ARM path: case-insensitive, anchored patterns registered by services.

ARM treats resource ids case-insensitively, and several services (Cognitive Services,
Authorization, Insights metrics) live under the same ``/subscriptions/...`` tree, so a single
route hands each request to the first registered pattern that matches the whole path. The
tracking headers ARM puts on every answer are built here too, so that the dispatcher's own
404/405 answers carry them like the services' answers do.
"""

from __future__ import annotations

import re
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError, arm_error
from keyops.emulator.core.operation import error_response

Endpoint = Callable[[Request], Awaitable[Response]]

#: ARM's token buckets per subscription (or tenant) and kind: (bucket size, refill per second)
#: in one region (Azure's 2024 announcement "Modernizing Azure Resource Manager throttling" and
#: Microsoft Learn's request-limits page). The global buckets, reported as
#: ``...-global-reads|writes|deletes``, are 15 times a region's: a fresh subscription answers
#: ``reads: 249`` and ``global-reads: 3749`` in public recordings of real traffic.
#: ``resource-requests`` is a resource provider's own budget (Microsoft.Insights reports it on
#: metric definitions); its size here is the emulator's choice, not a published figure.
REGIONAL_BUCKETS = {
    "reads": (250, 25.0),
    "writes": (200, 10.0),
    "deletes": (200, 10.0),
    "resource-requests": (150, 2.5),
}
GLOBAL_FACTOR = 15
#: Admin setting (``/_emulator/arm/settings {"buckets": true}``): answer 429 when a
#: subscription's regional bucket is empty. Off by default: the headers always count down, but
#: tests are not throttled.
BUCKETS_SETTING = "arm.buckets"
#: The top-level ARM segments, whatever their case (ARM matches the whole path that way).
_TOP_SEGMENT = re.compile(r"^/(subscriptions|providers|tenants)(?=/|$)", re.IGNORECASE)
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


@dataclass(frozen=True)
class ArmRoute:
    """A method set and an anchored path regex (named groups become path params)."""

    methods: tuple[str, ...]
    pattern: str
    endpoint: Endpoint

    def compiled(self) -> re.Pattern[str]:
        return re.compile("^" + self.pattern.rstrip("$").lstrip("^") + "/?$", re.IGNORECASE)


class ArmDispatcher:
    """Routes ``/subscriptions/...``, ``/providers/...`` and ``/tenants`` to service handlers."""

    def __init__(self, routes: list[ArmRoute]) -> None:
        self.routes = [(r, r.compiled()) for r in routes]

    async def handle(self, request: Request) -> Response:
        """Dispatch one request to the first matching route."""
        path = request.url.path
        path_matched = False
        for route, regex in self.routes:
            m = regex.match(path)
            if m is None:
                continue
            path_matched = True
            if request.method not in route.methods:
                continue
            request.scope["path_params"] = {k: v for k, v in m.groupdict().items() if v}
            return await route.endpoint(request)
        if path_matched:
            err = arm_error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        else:
            err = arm_error(
                404,
                "InvalidResourceType",
                "The resource type could not be found for the request path.",
            )
        return error_response(with_tracking_headers(request, err))

    def starlette_routes(self) -> list[Route]:
        """The Starlette routes that feed this dispatcher (see :class:`ArmPathCase`)."""
        methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]
        return [
            Route("/subscriptions", self.handle, methods=methods),
            Route("/subscriptions/{rest:path}", self.handle, methods=methods),
            Route("/tenants", self.handle, methods=methods),
            Route("/providers/{rest:path}", self.handle, methods=methods),
        ]


class ArmPathCase:
    """ASGI shim: ``/SUBSCRIPTIONS/...``, ``/Providers/...``, ``/Tenants`` reach the dispatcher.

    Starlette matches route paths case-sensitively, while ARM ignores case in every segment;
    lower-casing the first one is enough, since the dispatcher's own patterns ignore case.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            m = _TOP_SEGMENT.match(scope["path"])
            if m is not None and m.group(1) != m.group(1).lower():
                scope = dict(scope)
                scope["path"] = "/" + m.group(1).lower() + scope["path"][m.end() :]
                raw = scope.get("raw_path")
                head = m.group(1).lower().encode()
                if isinstance(raw, bytes) and raw[1 : m.end()].lower() == head:
                    scope["raw_path"] = b"/" + head + raw[m.end() :]
        await self.app(scope, receive, send)


# --- tracking headers -------------------------------------------------------------------------


class ArmBucket:
    """A token bucket on the emulator's clock (moving the clock refills it; never sleeps)."""

    def __init__(self, size: float, rate: float, now: float) -> None:
        self.size, self.rate, self.tokens, self.stamp = size, rate, size, now

    def take(self, now: float) -> int:
        """Take one token (there is no throttling here: the count is reported, not enforced)."""
        self.tokens = min(self.size, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens = max(0.0, self.tokens - 1)
        return int(self.tokens)

    def wait(self, now: float) -> float:
        """Seconds until a token is free (0: one is), without taking it."""
        tokens = min(self.size, self.tokens + max(0.0, now - self.stamp) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


class _Budget:
    """ARM's regional and global token buckets per (subscription or tenant, reads|writes)."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, str, bool], ArmBucket] = {}
        self.lock = threading.Lock()

    def remaining(self, now: float, scope: str, kind: str, *, globally: bool) -> int:
        size, rate = REGIONAL_BUCKETS[kind]
        factor = GLOBAL_FACTOR if globally else 1
        with self.lock:
            bucket = self.buckets.setdefault(
                (scope, kind, globally), ArmBucket(size * factor, rate * factor, now)
            )
            return bucket.take(now)

    def wait(self, now: float, scope: str, kind: str) -> float:
        """Seconds until the regional bucket has a token (0 for a bucket not used yet)."""
        with self.lock:
            bucket = self.buckets.get((scope, kind, False))
            return bucket.wait(now) if bucket is not None else 0.0


_BUDGETS: weakref.WeakKeyDictionary[Emulator, _Budget] = weakref.WeakKeyDictionary()


def spend(request: Request) -> float:
    """0 when the request may proceed; else, when the emulator enforces ARM's buckets
    (:data:`BUCKETS_SETTING`), the seconds until the subscription's bucket has a token (a 429).
    The token itself is taken when the answer's tracking headers are made."""
    emu: Emulator = request.app.state.emulator
    if not emu.settings.extra.get(BUCKETS_SETTING):
        return 0.0
    kind = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(request.method, "writes")
    m = _SUBSCRIPTION.match(request.url.path)
    scope = m.group(1).lower() if m else "tenant"
    return _BUDGETS.setdefault(emu, _Budget()).wait(emu.clock.now(), scope, kind)


def tracking_headers(request: Request) -> dict[str, str]:
    """The headers ARM puts on every answer: request and correlation ids, routing id, and the
    tokens left in ARM's buckets for reads or writes (of the subscription in the path, else the
    tenant; subscriptions also report the global bucket)."""
    emu: Emulator = request.app.state.emulator
    kind = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(request.method, "writes")
    m = _SUBSCRIPTION.match(request.url.path)
    subscription = m.group(1) if m else None
    level = "subscription" if subscription else "tenant"
    budget = _BUDGETS.setdefault(emu, _Budget())
    scope, now = (subscription or "tenant").lower(), emu.clock.now()
    headers = {
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
        or str(uuid.uuid4()),
        "x-ms-routing-request-id": f"EMULATOR:{uuid.uuid4().hex[:16].upper()}",
        f"x-ms-ratelimit-remaining-{level}-{kind}": str(
            budget.remaining(now, scope, kind, globally=False)
        ),
        "Cache-Control": "no-cache",
    }
    if subscription:
        headers[f"x-ms-ratelimit-remaining-subscription-global-{kind}"] = str(
            budget.remaining(now, scope, kind, globally=True)
        )
    return headers


def resource_requests_header(request: Request) -> dict[str, str]:
    """The provider's own remaining budget for the subscription in the path (none outside one)."""
    emu: Emulator = request.app.state.emulator
    m = _SUBSCRIPTION.match(request.url.path)
    if m is None:
        return {}
    budget = _BUDGETS.setdefault(emu, _Budget())
    left = budget.remaining(
        emu.clock.now(), m.group(1).lower(), "resource-requests", globally=False
    )
    return {"x-ms-ratelimit-remaining-subscription-resource-requests": str(left)}


def with_tracking_headers(request: Request, err: EmulatorHTTPError) -> EmulatorHTTPError:
    """``err`` with ARM's tracking headers added (headers it already has win)."""
    err.headers = {**tracking_headers(request), **err.headers}
    return err
