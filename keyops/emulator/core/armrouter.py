"""One dispatcher for every ARM path: case-insensitive, anchored patterns registered by services.

ARM treats resource ids case-insensitively, and several services (Cognitive Services,
Authorization, Insights metrics) live under the same ``/subscriptions/...`` tree, so a single
route hands each request to the first registered pattern that matches the whole path. The
tracking headers ARM puts on every answer are built here too, so that the dispatcher's own
404/405 answers carry them like the services' answers do.
"""

from __future__ import annotations

import re
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

#: Hourly ARM request limits per principal and subscription (Azure's documented defaults).
READ_LIMIT, WRITE_LIMIT = 12000, 1200
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


class _Budget:
    """Hourly request counters per (subscription or tenant, principal, reads|writes)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, int], int] = {}

    def remaining(self, emu: Emulator, scope: str, principal: str, kind: str) -> int:
        hour = int(emu.clock.now() // 3600)
        key = (scope, principal, kind, hour)
        self.counts[key] = self.counts.get(key, 0) + 1
        limit = READ_LIMIT if kind == "reads" else WRITE_LIMIT
        return max(0, limit - self.counts[key])


_BUDGETS: weakref.WeakKeyDictionary[Emulator, _Budget] = weakref.WeakKeyDictionary()


def tracking_headers(request: Request) -> dict[str, str]:
    """The headers ARM puts on every answer: request and correlation ids, routing id, the
    remaining hourly reads or writes (of the subscription in the path, else the tenant)."""
    emu: Emulator = request.app.state.emulator
    kind = "reads" if request.method in ("GET", "HEAD") else "writes"
    m = _SUBSCRIPTION.match(request.url.path)
    subscription = m.group(1) if m else None
    level = "subscription" if subscription else "tenant"
    budget = _BUDGETS.setdefault(emu, _Budget())
    principal = str(getattr(request.state, "principal", "anonymous"))
    remaining = budget.remaining(emu, (subscription or "tenant").lower(), principal, kind)
    return {
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
        or str(uuid.uuid4()),
        "x-ms-routing-request-id": f"EMULATOR:{uuid.uuid4().hex[:16].upper()}",
        f"x-ms-ratelimit-remaining-{level}-{kind}": str(remaining),
        "Cache-Control": "no-cache",
    }


def with_tracking_headers(request: Request, err: EmulatorHTTPError) -> EmulatorHTTPError:
    """``err`` with ARM's tracking headers added (headers it already has win)."""
    err.headers = {**tracking_headers(request), **err.headers}
    return err
