"""Microsoft.Authorization error answers (ARM envelope, the provider's own codes)."""

from __future__ import annotations

from keyops.emulator.core.errors import EmulatorHTTPError, arm_error


def role_assignment_not_found(name: str) -> EmulatorHTTPError:
    """404 for an unknown role assignment."""
    return arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


def role_definition_not_found(role_id: str) -> EmulatorHTTPError:
    """404 for an unknown role definition."""
    return arm_error(
        404,
        "RoleDefinitionDoesNotExist",
        f"The specified role definition with ID '{role_id}' does not exist.",
    )


def unsupported_filter(text: str) -> EmulatorHTTPError:
    """400 for a ``$filter`` the role-assignment list does not support."""
    return arm_error(
        400,
        "UnsupportedQuery",
        f"The filter '{text}' is not supported. Supported filters are either "
        "principalId eq '{value}' or atScope() or assignedTo('{value}') or "
        "atScope() and assignedTo('{value}').",
    )


def invalid_scope(scope: str) -> EmulatorHTTPError:
    """400 for a scope that is not the root, a subscription, a group or a resource."""
    return arm_error(400, "InvalidScope", f"The scope '{scope}' is not valid.")
