"""Routes of the core admin API: health, request log, faults, throttling, latency, clock."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyops.emulator.core.clock import iso
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.core.surfaces import SURFACES
from keyops.emulator.services.admin.auth import (
    admin_emulator,
    bad_request,
    json_body,
    not_found,
)


@operation("Admin_Health", "admin")
async def health(request: Request) -> Response:
    """Liveness; no token needed."""
    return json_response({"status": "ok"})


@operation("Admin_ListRequests", "admin")
async def list_requests(request: Request) -> Response:
    """The request log since a sequence number (``?since=N``)."""
    emu = admin_emulator(request)
    try:
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        raise bad_request("since must be an integer") from None
    return json_response({"entries": emu.log.since(since), "last_seq": emu.log.last_seq})


@operation("Admin_Connections", "admin")
async def connections(request: Request) -> Response:
    """GET new client connections per ``surface@host``; DELETE starts counting afresh."""
    emu = admin_emulator(request)
    if request.method == "DELETE":
        emu.connections.clear()
        return json_response(None, 204)
    return json_response({"connections": emu.connections.counts()})


@operation("Admin_Faults", "admin")
async def faults(request: Request) -> Response:
    """GET lists fault rules; POST adds one; DELETE clears faults, throttles and latency."""
    emu = admin_emulator(request)
    if request.method == "GET":
        return json_response({"faults": [r.public() for r in emu.faults.rules]})
    if request.method == "DELETE":
        emu.faults.clear()
        return json_response(None, 204)
    try:
        rule = emu.faults.add(await json_body(request))
    except (ValueError, TypeError) as exc:
        raise bad_request(str(exc)) from None
    return json_response(rule.public(), 201)


@operation("Admin_ReleaseFault", "admin")
async def release_fault(request: Request) -> Response:
    """POST lets the requests a ``hold`` rule holds go on (404 for an unknown rule id)."""
    emu = admin_emulator(request)
    try:
        rule = emu.faults.release(int(request.path_params["rule_id"]))
    except (KeyError, ValueError):  # not a rule id, or no such rule
        raise not_found(f"no fault rule {request.path_params['rule_id']}") from None
    return json_response(rule.public())


def _surface(body: dict[str, object]) -> str:
    surface = body.get("surface")
    if surface not in SURFACES:
        raise bad_request(f"surface must be one of {', '.join(SURFACES)}")
    return str(surface)


@operation("Admin_Throttle", "admin")
async def throttle(request: Request) -> Response:
    """Token-bucket throttling of a surface: ``{surface, rate (per s), burst}``; rate 0 removes."""
    emu = admin_emulator(request)
    body = await json_body(request)
    try:
        emu.faults.set_throttle(
            _surface(body), float(body.get("rate", 0)), int(body.get("burst", 1))
        )
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None
    return json_response({"surface": body["surface"], "rate": body.get("rate", 0)})


@operation("Admin_Latency", "admin")
async def latency(request: Request) -> Response:
    """A latency model for a surface: ``{surface, base_ms, jitter_ms}``."""
    emu = admin_emulator(request)
    body = await json_body(request)
    try:
        emu.faults.set_latency(
            _surface(body), float(body.get("base_ms", 0)), float(body.get("jitter_ms", 0))
        )
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None
    return json_response(body)


@operation("Admin_Clock", "admin")
async def clock(request: Request) -> Response:
    """GET the emulated time; POST ``{advance: seconds}`` moves it."""
    emu = admin_emulator(request)
    if request.method == "POST":
        body = await json_body(request)
        try:
            emu.clock.advance(float(body.get("advance", 0)))
        except (TypeError, ValueError):
            raise bad_request("advance must be a number of seconds") from None
        emu.commit(request)
    now = emu.clock.now()
    return json_response({"now": now, "iso": iso(now), "offset": emu.clock.offset})


@operation("Admin_Settings", "admin")
async def settings(request: Request) -> Response:
    """GET/POST behaviour settings (``propagation_delay``, ``local_auth_delay`` seconds)."""
    emu = admin_emulator(request)
    names = ("propagation_delay", "local_auth_delay")
    if request.method == "POST":
        body = await json_body(request)
        for name in names:
            if name in body:
                try:
                    setattr(emu.settings, name, float(body[name]))
                except (TypeError, ValueError):
                    raise bad_request(f"{name} must be a number of seconds") from None
    return json_response({name: getattr(emu.settings, name) for name in names})


def admin_routes() -> list[BaseRoute]:
    """The core admin routes."""
    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/requests", list_requests, methods=["GET"]),
        Route("/_emulator/connections", connections, methods=["GET", "DELETE"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/faults/{rule_id}/release", release_fault, methods=["POST"]),
        Route("/_emulator/throttle", throttle, methods=["POST"]),
        Route("/_emulator/latency", latency, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
        Route("/_emulator/settings", settings, methods=["GET", "POST"]),
    ]
