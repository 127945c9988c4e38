"""The one exception type emulator handlers raise: it carries the exact wire response."""

from __future__ import annotations

from typing import Any


class EmulatorHTTPError(Exception):
    """An HTTP error answer: status, JSON body (Azure's envelope for the surface) and headers.

    Messages must never contain a key, secret value or token.
    """

    def __init__(
        self,
        status: int,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def arm_error(status: int, code: str, message: str, target: str | None = None) -> EmulatorHTTPError:
    """ARM's common error envelope (common-types v2 ErrorResponse)."""
    err: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        err["target"] = target
    return EmulatorHTTPError(status, {"error": err})
