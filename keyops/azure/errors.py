"""Translate Azure SDK exceptions into keyops errors, at the adapter edge.

Everything above :mod:`keyops.azure` sees only :mod:`keyops.errors` types, each with one clear
line naming the operation and the resource, so that the CLI's single handler can print it and
exit with a documented status. Azure's own error code and first message line are kept because
they say what to fix (``AuthorizationFailed`` names the missing action); the SDK's multi-line
dumps (headers, inner JSON) are not. keyops never passes a key to these messages, but a service
or proxy may echo one in its error text, so the kept line is redacted (:mod:`keyops.redact`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from keyops.errors import AuthError, ConfigError, KeyopsError, NotFoundError, ServiceError
from keyops.redact import redact

_MAX_DETAIL = 300


class ThrottledError(ServiceError):
    """Azure kept answering 429 after the SDK's own Retry-After waits."""


class BadRequestError(ServiceError):
    """Azure rejected the request as invalid (400/409): a state the operation does not allow."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        #: The HTTP status (400 or 409): a 409 is a conflict with the resource's state.
        self.status = status


def _first_line(text: str) -> str:
    # Redacted before it is cut: a key cut short is no longer whole for the redactor to find.
    line = redact(next((part.strip() for part in text.splitlines() if part.strip()), ""))
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"


def _code_and_message(exc: Any) -> tuple[str | None, str]:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) if error is not None else None
    message = getattr(error, "message", None) if error is not None else None
    if not message:
        message = getattr(exc, "reason", None) or getattr(exc, "message", None) or str(exc)
    return (str(code) if code else None), _first_line(str(message))


_UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Connection refused|Name or service not known|"
    r"getaddrinfo failed|timed out|Max retries exceeded|Connection aborted|SSLError|"
    r"CERTIFICATE_VERIFY_FAILED",
    re.IGNORECASE,
)


_UNRESOLVED = re.compile(
    r"NameResolutionError|Name or service not known|getaddrinfo failed|"
    r"nodename nor servname provided|No address associated with hostname",
    re.IGNORECASE,
)
_FIX_VAULT = "check vault_url in keyops.toml, --vault-url or KEYOPS_VAULT_URL"


def credential_detail(text: str) -> str:
    """The useful line of a credential chain's error: the first credential that really failed.

    ``ChainedTokenCredential`` lists every member; the unavailable ones are noise, the first
    one that attempted and failed says why (e.g. ``EnvironmentCredential: ... AADSTS7000215``).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    attempts = [line for line in lines if re.match(r"^\w+Credential: ", line)]
    failed = [line for line in attempts if "unavailable" not in line.lower()]
    chosen = (failed or attempts or lines or [text])[0]
    return _first_line(chosen)


def translate(exc: BaseException, operation: str, target: str) -> KeyopsError:
    """The keyops error for an exception raised by an Azure SDK during ``operation`` on ``target``.

    ``operation`` is a short verb phrase ("listKeys", "get secret"), ``target`` names the account,
    vault or secret. Unknown exception types become a :class:`ServiceError`.
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    where = f"{operation} on {target}"
    if isinstance(exc, KeyopsError):
        return exc
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        detail = _first_line(str(exc)) or type(exc).__name__
        if " in vault " in target and _UNRESOLVED.search(str(exc)):
            # <name>.vault.azure.net exists only while the vault does: a misspelt vault_url,
            # not an outage (Azure's own hosts resolving is what "unreachable" is for).
            return ConfigError(f"{where}: no such vault (its host does not resolve); {_FIX_VAULT}")
        return ServiceError(f"{where}: Azure unreachable ({detail})")
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
        exc, "status_code", None
    )
    code, message = _code_and_message(exc)
    label = f"{code}: {message}" if code else message
    suffix = f" (HTTP {status})" if status else ""
    if code == "SubscriptionNotFound":
        return ConfigError(
            f"{where}: {label}{suffix}; check --subscription, the configuration's subscription "
            "or AZURE_SUBSCRIPTION_ID"
        )
    if code == "VaultNotFound":  # the emulator's answer where Azure's host would not resolve
        return ConfigError(f"{where}: no such vault: {label}{suffix}; {_FIX_VAULT}")
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFoundError(f"{where}: not found: {label}{suffix}")
    if isinstance(exc, ClientAuthenticationError) and status is None:
        # No HTTP status: the credential itself failed (no identity configured, token refused,
        # or the token endpoint unreachable — azure-identity only says so in its text).
        import os

        from keyops.azure.identity import explain_no_credential

        report = explain_no_credential(str(exc), os.environ)
        if report is not None:
            return AuthError(f"{where}: {report}")
        detail = credential_detail(str(exc))
        if _UNREACHABLE.search(detail):
            return ServiceError(
                f"{where}: Azure unreachable: could not reach the token endpoint ({detail})"
            )
        return AuthError(f"{where}: could not get a token: {detail}")
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return AuthError(f"{where}: access denied: {label}{suffix}")
    if status == 429:
        return ThrottledError(f"{where}: throttled by Azure after retries: {label}{suffix}")
    if status in (400, 409):
        return BadRequestError(f"{where}: rejected: {label}{suffix}", code, status)
    if isinstance(exc, HttpResponseError):
        return ServiceError(f"{where}: Azure service error: {label}{suffix}")
    return ServiceError(f"{where}: {type(exc).__name__}: {_first_line(str(exc))}")


@contextlib.contextmanager
def azure_errors(operation: str, target: str) -> Iterator[None]:
    """Run a block of SDK calls, re-raising any Azure exception as a keyops error."""
    from azure.core.exceptions import AzureError

    try:
        yield
    except KeyopsError:
        raise
    except AzureError as exc:
        raise translate(exc, operation, target) from exc
    except OSError as exc:
        # requests/urllib3 errors that escaped the SDK's wrapping (TLS, refused connection).
        raise ServiceError(f"{operation} on {target}: Azure unreachable ({exc})") from None
