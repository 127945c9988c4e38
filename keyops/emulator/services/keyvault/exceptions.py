"""Key Vault's error answers, each carrying the wire code and message a client sees.

Shapes follow the spec's ``KeyVaultError`` (``{"error": {"code", "message", "innererror"}}``);
codes and messages are the ones the real service sends (from recorded SDK test sessions and
reported error bodies). None of them ever contains a secret value or a token.
"""

from __future__ import annotations

from typing import Any

from keyops.emulator.core.errors import EmulatorHTTPError

#: Key Vault's own resource id, which it accepts as a token audience besides its URI.
KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
KEY_VAULT_AUDIENCE = "https://vault.azure.net"


def kv_error(
    status: int,
    code: str,
    message: str,
    inner: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmulatorHTTPError:
    """A ``KeyVaultError`` answer, with an ``innererror`` code when Key Vault sends one."""
    err: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        err["innererror"] = {"code": inner}
    return EmulatorHTTPError(status, {"error": err}, headers)


def bad_parameter(message: str) -> EmulatorHTTPError:
    """400 ``BadParameter`` (invalid names, bodies, query parameters)."""
    return kv_error(400, "BadParameter", message)


def invalid_name(name: str) -> EmulatorHTTPError:
    """400 for a secret name outside ``^[0-9a-zA-Z-]{1,127}$``."""
    return bad_parameter(f"The request URI contains an invalid name: {name}")


def unknown_api_version(version: str, latest: str) -> EmulatorHTTPError:
    """400 for an api-version the service does not know."""
    return bad_parameter(
        f"The specified version ({version}) is not recognized. "
        f"Consider using the latest supported version ({latest})."
    )


def missing_api_version() -> EmulatorHTTPError:
    """400 for a request without ``api-version`` (message not confirmed against Azure)."""
    return bad_parameter(
        "The api-version query parameter (?api-version=) is required for all requests."
    )


def secret_not_found(name: str, version: str | None = None) -> EmulatorHTTPError:
    """404 ``SecretNotFound`` for an active secret (or one version of it)."""
    ident = f"{name}/{version}" if version else name
    return kv_error(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {ident} was not found in this key vault. If you "
        "recently deleted this secret you may be able to recover it using the "
        "correct recovery command. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125182",
    )


def deleted_secret_not_found(name: str) -> EmulatorHTTPError:
    """404 ``SecretNotFound`` for a name with no deleted (recoverable) secret."""
    return kv_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")


def secret_disabled() -> EmulatorHTTPError:
    """403 for reading the value of a disabled secret version."""
    return kv_error(
        403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
    )


def deleted_but_recoverable(name: str) -> EmulatorHTTPError:
    """409 for setting a secret whose name is soft-deleted and not yet purged."""
    return kv_error(
        409,
        "Conflict",
        f"Secret {name} is currently in a deleted but recoverable state, and its "
        "name cannot be reused; in this state, the secret can only be recovered "
        "or purged.",
        "ObjectIsDeletedButRecoverable",
    )


def vault_not_found(name: str) -> EmulatorHTTPError:
    """404 for a vault the world does not have.

    Azure has no such answer: ``<name>.vault.azure.net`` simply does not resolve. The emulator
    serves every vault on one host, so it answers with a clear error instead.
    """
    return kv_error(
        404,
        "VaultNotFound",
        f"No vault named '{name}' exists in this emulated world (in Azure the host "
        f"{name}.vault.azure.net would not resolve).",
    )


def challenge_headers(authority: str) -> dict[str, str]:
    """The ``WWW-Authenticate`` challenge every Key Vault 401 carries."""
    return {
        "WWW-Authenticate": f'Bearer authorization="{authority}", resource="{KEY_VAULT_AUDIENCE}"'
    }


def unauthorized(message: str, authority: str) -> EmulatorHTTPError:
    """401 ``Unauthorized`` with the challenge (missing or unacceptable token)."""
    return kv_error(401, "Unauthorized", message, headers=challenge_headers(authority))


def forbidden_by_rbac(
    *, appid: str, oid: str, issuer: str, action: str, resource: str, vault: str, location: str
) -> EmulatorHTTPError:
    """403 ``ForbiddenByRbac``: no role assignment grants ``action`` on ``resource``."""
    message = (
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, "
        "please observe propagation time.\r\n"
        f"Caller: appid={appid};oid={oid};iss={issuer}\r\n"
        f"Action: '{action}'\r\n"
        f"Resource: '{resource.lower()}'\r\n"
        "Assignment: (not found)\r\n"
        "DenyAssignmentId: null\r\n"
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
        f"Vault: {vault};location={location}\r\n"
    )
    return kv_error(403, "Forbidden", message, "ForbiddenByRbac")
