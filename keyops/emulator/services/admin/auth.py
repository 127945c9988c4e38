"""Admin API authentication and JSON helpers, shared by every service's admin routes."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.requests import Request

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.tokens import bearer_from


def admin_emulator(request: Request) -> Emulator:
    """The emulator, once the request has proven it holds the admin token."""
    emu: Emulator = request.app.state.emulator
    token = bearer_from(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(token.encode(), emu.admin_token.encode()):
        raise EmulatorHTTPError(
            401,
            {"error": {"code": "Unauthorized", "message": "The admin token is missing or wrong."}},
        )
    return emu


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body; 400 naming the problem otherwise."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise bad_request("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def bad_request(message: str) -> EmulatorHTTPError:
    """A 400 answer of the admin API."""
    return EmulatorHTTPError(400, {"error": {"code": "BadRequest", "message": message}})


def not_found(message: str) -> EmulatorHTTPError:
    """A 404 answer of the admin API."""
    return EmulatorHTTPError(404, {"error": {"code": "NotFound", "message": message}})
