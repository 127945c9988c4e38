"""The ``@operation`` decorator every handler wears: log, faults, throttling, latency, errors.

It gives each request an operation id (as the spec names it), applies the scripted faults and
throttles for that operation, turns :class:`EmulatorHTTPError` into Azure's wire answer, and
writes one request-log entry (never a key, secret value or token).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.faults import retry_after_header
from keyops.emulator.core.surfaces import surface_error

Handler = Callable[[Request], Awaitable[Response]]

#: Headers each surface adds to a throttled (429) answer, besides Retry-After.
_THROTTLE_MESSAGES = {
    "arm": ("TooManyRequests", "The request is being throttled as the limit has been reached."),
    "openai": (
        "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
        "have exceeded call rate limit of your current tier. Please retry after "
        "{n} seconds.",
    ),
    "keyvault": ("Throttled", "Request was not processed because too many requests were received."),
    "entra": (
        "temporarily_unavailable",
        "AADSTS50196: The server terminated an operation "
        "because it encountered a client request loop.",
    ),
    "monitor": ("TooManyRequests", "Too many requests."),
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (an empty body for None)."""
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(err: EmulatorHTTPError) -> Response:
    """The wire answer for an :class:`EmulatorHTTPError`."""
    return json_response(err.body, err.status, err.headers)


def throttled(surface: str, wait: float, kind: str = "reads") -> EmulatorHTTPError:
    """A 429 for ``surface`` with the Retry-After (and retry-after-ms) Azure sends."""
    seconds = retry_after_header(wait)
    code, message = _THROTTLE_MESSAGES.get(surface, ("TooManyRequests", "Too many requests."))
    headers = {"Retry-After": seconds}
    if surface == "openai":
        headers["retry-after-ms"] = str(int(max(wait, 0.001) * 1000))
        headers["x-ratelimit-remaining-requests"] = "0"
    if surface == "arm":
        headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = "0"
    return surface_error(surface, 429, code, message.format(n=seconds), headers)


def mark_drop(request: Request) -> None:
    """Ask :class:`DropConnectionMiddleware` to abort this connection instead of answering."""
    holder = request.scope.get("keyops.conn")
    if isinstance(holder, dict):
        holder["drop"] = True


def operation(
    op_id: str, surface: str, *, write: bool = False, throttle_after_auth: bool = False
) -> Callable[[Handler], Handler]:
    """Decorate a handler as the spec operation ``op_id`` on ``surface``.

    ``write`` declares that the operation is meant to change state (listKeys is a POST but is not
    a write); the log also records whether state actually changed (see ``Emulator.commit``).
    ``throttle_after_auth``: the handler applies the surface's throttle itself, once the caller
    is authenticated (Azure OpenAI rate-limits only callers whose key or token it accepted).
    """

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            emu = request.app.state.emulator
            request.state.changed = False
            request.state.principal = "anonymous"
            request.state.target = None
            client = request.client
            emu.connections.note(
                surface, request.url.netloc, (client.host, client.port) if client else None
            )
            entry = emu.log.begin(
                {
                    "time": emu.clock.now(),
                    "surface": surface,
                    "operation": op_id,
                    "method": request.method,
                    "path": request.url.path,
                    "write": write,
                }
            )
            for observer in emu.observers:
                observer.started(request)
            response = await _run(emu, request, fn, op_id, surface, entry, throttle_after_auth)
            # Acknowledge nothing that a SIGKILL right after the answer could lose.
            await emu.store.durable()
            entry.status = response.status_code
            entry.changed = bool(request.state.changed)
            entry.principal = str(request.state.principal)
            entry.target = request.state.target
            entry.detail = getattr(request.state, "detail", None)
            for observer in emu.observers:
                observer.finished(request, entry)
            emu.log.finish(entry)
            return response

        handler.operation_id = op_id  # type: ignore[attr-defined]
        return handler

    return decorate


async def _run(
    emu: Any,
    request: Request,
    fn: Handler,
    op_id: str,
    surface: str,
    entry: Any,
    throttle_after_auth: bool,
) -> Response:
    delay = emu.faults.delay_for(surface)
    if delay:
        await asyncio.sleep(delay)
    drop_after = False
    for rule in emu.faults.fire(op_id, request.url.path):
        entry.fault = rule.kind
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency_ms / 1000.0)
        elif rule.kind == "hold":
            await _held(rule)
        elif rule.kind == "drop_before":
            mark_drop(request)
            return Response(status_code=599)
        elif rule.kind == "drop_after":
            drop_after = True
        elif rule.kind == "no_effect":
            request.state.no_effect = True
        elif rule.kind == "status":
            if throttle_after_auth and rule.status == 429:
                # Azure OpenAI throttles only callers it authenticated: the handler answers
                # this 429 once the caller's key or token is accepted.
                request.state.scripted_429 = rule.retry_after or 1.0
                continue
            if rule.retry_after is not None or rule.status == 429:
                return error_response(throttled(surface, rule.retry_after or 1.0))
            return error_response(surface_error(surface, rule.status, rule.code, rule.message))
    wait = 0.0 if throttle_after_auth else emu.faults.throttle_wait(surface)
    if wait > 0:
        entry.fault = "throttled"
        return error_response(throttled(surface, wait))
    try:
        response = await fn(request)
    except EmulatorHTTPError as err:
        response = error_response(err)
    if drop_after:
        mark_drop(request)
        return Response(status_code=599)
    return response


async def _held(rule: Any) -> None:
    """Wait until ``rule`` is released through the admin API, or its ``latency_ms`` passes."""
    end = time.monotonic() + rule.latency_ms / 1000.0
    while not rule.released and time.monotonic() < end:
        await asyncio.sleep(0.005)


class DropConnectionMiddleware:
    """Outermost ASGI wrapper: aborts the TCP connection when a handler asked for a drop.

    Starlette's own error handling would turn an exception into a 500, which is an answer, not
    a dropped connection; so handlers set a flag and this layer aborts the transport instead of
    sending the response start. With uvicorn the transport is reachable from ``send``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: dict[str, bool] = {"drop": False}
        scope["keyops.conn"] = holder

        async def guarded_send(message: Message) -> None:
            if holder["drop"]:
                if message["type"] == "http.response.start":
                    _abort(send)
                return
            await send(message)

        await self.app(scope, receive, guarded_send)


def _abort(send: Send) -> None:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.abort()
        return
    raise ConnectionAbortedError("fault injected: connection dropped")
