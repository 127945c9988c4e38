"""One dispatcher for every ARM path: case-insensitive, anchored patterns registered by services.

ARM treats resource ids case-insensitively, and several services (Cognitive Services,
Authorization, Insights metrics) live under the same ``/subscriptions/...`` tree, so a single
route hands each request to the first registered pattern that matches the whole path.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyops.emulator.core.errors import arm_error
from keyops.emulator.core.operation import error_response

Endpoint = Callable[[Request], Awaitable[Response]]


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
            return error_response(
                arm_error(
                    405,
                    "MethodNotAllowed",
                    f"The requested resource does not support http method '{request.method}'.",
                )
            )
        return error_response(
            arm_error(
                404,
                "InvalidResourceType",
                "The resource type could not be found for the request path.",
            )
        )

    def starlette_routes(self) -> list[Route]:
        """The Starlette routes that feed this dispatcher."""
        methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]
        return [
            Route("/subscriptions", self.handle, methods=methods),
            Route("/subscriptions/{rest:path}", self.handle, methods=methods),
            Route("/tenants", self.handle, methods=methods),
            Route("/providers/{rest:path}", self.handle, methods=methods),
        ]
