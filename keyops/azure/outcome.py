"""How a data-plane answer is classified: by HTTP status, Azure's error code and the kind of
credential sent — never by message text, so that any server written to Azure's REST shapes is
judged the same way. Also the ``retry-after-ms`` / ``Retry-After`` reading for 429 and 5xx.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

_SUBDOMAIN_CODES = ("badrequest", "customsubdomainrequired")


class Outcome(str, enum.Enum):
    """What one probe call proved. The value is the stable name used in JSON output."""

    OK = "ok"
    INVALID_KEY = "invalid_key"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an outcome name, not a password
    TOKEN_UNAVAILABLE = "token_unavailable"  # noqa: S105
    KEY_AUTH_DISABLED = "key_auth_disabled"
    MISSING_ROLE = "missing_role"
    FORBIDDEN = "forbidden"
    CUSTOM_SUBDOMAIN_REQUIRED = "custom_subdomain_required"
    DEPLOYMENT_NOT_FOUND = "deployment_not_found"
    NOT_FOUND = "not_found"
    OPERATION_NOT_SUPPORTED = "operation_not_supported"
    BAD_REQUEST = "bad_request"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls_error"
    CONNECTION_ERROR = "connection_error"
    #: Not sent: the HTTP library refused a header (a key or token with a newline in it).
    INVALID_HEADER = "invalid_header"

    @property
    def ok(self) -> bool:
        """True only for a successful call."""
        return self is Outcome.OK

    @property
    def credential_accepted(self) -> bool:
        """Whether the answer shows the credential was accepted (a 429 comes after auth)."""
        return self in (Outcome.OK, Outcome.THROTTLED)

    @property
    def description(self) -> str:
        """A short human explanation, safe to print."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Outcome.OK: "the call succeeded",
    Outcome.INVALID_KEY: "the key was refused (invalid, regenerated, or for another resource)",
    Outcome.INVALID_TOKEN: "the token was refused (audience, tenant or expiry)",
    Outcome.TOKEN_UNAVAILABLE: "no Entra token could be obtained for this identity",
    Outcome.KEY_AUTH_DISABLED: "key authentication is disabled on this resource (disableLocalAuth)",
    Outcome.MISSING_ROLE: "the identity lacks an inference data action (e.g. Cognitive Services "
    "OpenAI User)",
    Outcome.FORBIDDEN: "access forbidden (network rules or policy)",
    Outcome.CUSTOM_SUBDOMAIN_REQUIRED: "token auth needs a custom subdomain endpoint; this one is "
    "regional",
    Outcome.DEPLOYMENT_NOT_FOUND: "the deployment does not exist on this resource",
    Outcome.NOT_FOUND: "path not found (wrong endpoint or unsupported api-version)",
    Outcome.OPERATION_NOT_SUPPORTED: "the deployment's model does not serve this API "
    "(try --api completions or chat)",
    Outcome.BAD_REQUEST: "the service rejected the request (e.g. an unpublished api-version)",
    Outcome.THROTTLED: "throttled (429) after retries; the credential was accepted",
    Outcome.SERVER_ERROR: "the service answered with a server error after retries",
    Outcome.TIMEOUT: "no answer within the timeout",
    Outcome.TLS_ERROR: "TLS handshake failed (certificate not trusted or mismatched)",
    Outcome.CONNECTION_ERROR: "could not connect (refused, reset or name resolution)",
    Outcome.INVALID_HEADER: "not sent: the key or token is not valid header text (whitespace or "
    "control characters)",
}


def classify(status: int, code: str | None, auth_kind: str) -> Outcome:
    """The outcome of an HTTP answer, from its status, Azure's error code and the auth kind."""
    lowered = (code or "").lower()
    if 200 <= status < 300:
        return Outcome.OK
    if status in (401, 403) and lowered == "permissiondenied":
        # Azure answers a token whose principal lacks the data action with 401 PermissionDenied.
        return Outcome.MISSING_ROLE
    if status == 401:
        return Outcome.INVALID_KEY if auth_kind == "key" else Outcome.INVALID_TOKEN
    if status == 403:
        if lowered == "authenticationtypedisabled":
            return Outcome.KEY_AUTH_DISABLED
        # A bearer refused with 403 is an authorization failure (a role without the data action).
        return Outcome.MISSING_ROLE if auth_kind == "entra" else Outcome.FORBIDDEN
    if status == 404:
        if lowered == "deploymentnotfound":
            return Outcome.DEPLOYMENT_NOT_FOUND
        return Outcome.NOT_FOUND
    if status == 400 and lowered == "operationnotsupported":
        return Outcome.OPERATION_NOT_SUPPORTED
    if status == 400 and auth_kind == "entra" and lowered in _SUBDOMAIN_CODES:
        # Azure's answer to a bearer on a regional endpoint carries the generic BadRequest code;
        # the probe's own request earns it otherwise only with an unpublished api-version, which
        # the same call with a key tells apart (BAD_REQUEST).
        return Outcome.CUSTOM_SUBDOMAIN_REQUIRED
    if status == 429:
        return Outcome.THROTTLED
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.BAD_REQUEST


def error_code_of(payload: Any) -> str | None:
    """Azure's error code from an error body (``{"error":{"code"}}`` or ``{"code"}``)."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    code = error.get("code") if isinstance(error, Mapping) else payload.get("code")
    if code is None and isinstance(error, Mapping):
        code = error.get("type")
    return str(code)[:80] if code is not None else None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a 429/5xx answer asks for: ``retry-after-ms`` first, then ``Retry-After``."""
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
