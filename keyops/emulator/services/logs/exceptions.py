"""Errors of the Logs query API, with the codes and envelope Azure Monitor Logs answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.services.logs.kqlparse import KqlError


def _error(
    status: int, code: str, message: str, inner: Mapping[str, object] | None = None
) -> EmulatorHTTPError:
    body: dict[str, object] = {"message": message, "code": code, "correlationId": str(uuid.uuid4())}
    if inner is not None:
        body["innererror"] = dict(inner)
    return EmulatorHTTPError(status, {"error": body})


def bad_query(err: KqlError, query: str) -> EmulatorHTTPError:
    """400 ``BadArgumentError`` for a query the interpreter refuses (Azure's nesting); a syntax
    error's place is its line and its position within that line, as Azure gives it."""
    line = query.count("\n", 0, err.pos) + 1
    column = err.pos - (query.rfind("\n", 0, err.pos) + 1)
    if err.kind == "syntax":
        inner = {
            "code": "SyntaxError",
            "message": "A recognition error occurred in the query.",
            "innererror": {
                "code": "SYN0002",
                "message": str(err),
                "line": line,
                "pos": column,
                "token": err.token,
            },
        }
    else:
        inner = {
            "code": "SemanticError",
            "message": "A semantic error occurred.",
            "innererror": {"code": "SEM0100", "message": str(err)},
        }
    return _error(400, "BadArgumentError", "The request had some invalid properties", inner)


def bad_argument(message: str) -> EmulatorHTTPError:
    """400 ``BadArgumentError`` for a bad request body."""
    return _error(400, "BadArgumentError", message)


def unauthenticated() -> EmulatorHTTPError:
    """401: no or a bad token for ``https://api.loganalytics.io``."""
    return _error(401, "AuthorizationRequiredError", "Valid authentication was not provided")


def forbidden() -> EmulatorHTTPError:
    """403: the caller may not read this workspace's (or resource's) logs."""
    return _error(
        403,
        "InsufficientAccessError",
        "The provided credentials have insufficient access to perform the requested operation",
    )


def workspace_not_found(workspace: str) -> EmulatorHTTPError:
    """404 for an unknown workspace id."""
    return _error(404, "WorkspaceNotFoundError", f"Workspace {workspace} could not be found")


def resource_not_found(resource: str) -> EmulatorHTTPError:
    """404 for a resource-centric query on an unknown resource."""
    return _error(404, "ResourceNotFoundError", f"The resource {resource} could not be found")
