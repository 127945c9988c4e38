"""The emulated surfaces and the error envelope each one answers with."""

from __future__ import annotations

from typing import Any

from keyops.emulator.core.errors import EmulatorHTTPError

SURFACES = ("entra", "arm", "keyvault", "openai", "monitor", "admin")

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def default_code(status: int) -> str:
    """Azure's usual error code for an HTTP status."""
    return _REASONS.get(status, f"Http{status}")


def surface_error(
    surface: str,
    status: int,
    code: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmulatorHTTPError:
    """An error in the envelope the named surface uses on the wire."""
    code = code or default_code(status)
    message = message or f"The service returned {status} ({code})."
    body: dict[str, Any]
    if surface == "entra":
        body = {
            "error": "temporarily_unavailable" if status >= 500 else code,
            "error_description": message,
            "error_codes": [status],
        }
    elif surface == "openai":
        # Azure OpenAI uses the status as the code for 401 and 429 ("code":"429").
        body = {
            "error": {"code": code if status not in (401, 429) else str(status), "message": message}
        }
    elif surface == "monitor":
        body = {"code": code, "message": message}
    else:  # arm, keyvault, admin share the {"error": {"code", "message"}} envelope
        body = {"error": {"code": code, "message": message}}
    return EmulatorHTTPError(status, body, headers)
