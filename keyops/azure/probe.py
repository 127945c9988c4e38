"""The data-plane probe: one minimal Azure OpenAI call that proves a credential works.

One request — a chat completion (or a completion, for completion deployments) with
``max_tokens: 1`` — authenticated by an ``api-key`` header (:class:`KeyAuth`) or by an Entra
bearer token (:class:`TokenAuth`). The answer is classified into an :class:`Outcome` from the
HTTP status, Azure's error *code* and which kind of credential was sent; message text is never
parsed, so that a server written by others to Azure's REST shapes classifies the same way.

429 and 5xx answers are retried within a :class:`RetryPolicy`, honouring ``retry-after-ms`` and
``Retry-After``; a wait the policy's budget cannot cover is not started. The rotation's test
step calls :func:`probe` with ``retry_on`` widened to :attr:`Outcome.INVALID_KEY`, because a
regenerated key can take a while before the data plane accepts it.

Bad input (malformed endpoint, empty key) raises :class:`~keyops.errors.InputError`; an
``http://`` endpoint raises :class:`~keyops.errors.RefusedError` — keys never cross plain http.
A key or token that is not valid header text (a stray newline) is the outcome
:attr:`Outcome.INVALID_HEADER`, never the HTTP library's error, whose text quotes the value (key
sources refuse such keys first, with :func:`keyops.secret.check_key_text`). No key, token or
server message is ever put into a :class:`ProbeResult`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote, urlsplit

from keyops.azure.outcome import Outcome, classify, error_code_of, retry_after_seconds
from keyops.azure.tls import new_session
from keyops.errors import InputError, RefusedError
from keyops.secret import SecretValue

if TYPE_CHECKING:
    import requests

__all__ = [
    "APIS",
    "COGNITIVE_SCOPE",
    "DEFAULT_API_VERSION",
    "NO_RETRY",
    "Api",
    "Auth",
    "KeyAuth",
    "Outcome",
    "ProbeResult",
    "RetryPolicy",
    "TokenAuth",
    "TokenCredential",
    "check_api_version",
    "check_deployment",
    "classify",
    "error_code_of",
    "normalize_endpoint",
    "probe",
    "request_body",
    "request_url",
    "retry_after_seconds",
]

#: The newest dated GA data-plane api-version (its spec: azure-openai-inference/2024-10-21).
DEFAULT_API_VERSION = "2024-10-21"
#: Token audience for Azure OpenAI / AI Services in the public cloud (see AzureEnvironment).
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
#: The prompt sent; one token of answer is all that is asked for.
PROBE_PROMPT = "ping"

Api = Literal["chat", "completions"]
APIS: tuple[str, ...] = ("chat", "completions")
_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_API_VERSION = re.compile(r"^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$")


class TokenCredential(Protocol):
    """The part of azure-core's ``TokenCredential`` protocol the probe uses."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """Return an ``AccessToken`` (``.token``) for the scopes."""


@dataclass(frozen=True)
class KeyAuth:
    """Authenticate with an account key, sent in the ``api-key`` header."""

    key: SecretValue

    @property
    def kind(self) -> str:
        """``key``."""
        return "key"


@dataclass(frozen=True)
class TokenAuth:
    """Authenticate with an Entra token for ``scope`` from ``credential`` (azure-identity)."""

    credential: TokenCredential = field(repr=False)
    scope: str = COGNITIVE_SCOPE

    @property
    def kind(self) -> str:
        """``entra``."""
        return "entra"


Auth = KeyAuth | TokenAuth


@dataclass(frozen=True)
class RetryPolicy:
    """Which outcomes are retried, how often, and how long the probe may wait in total.

    ``max_attempts`` counts every request (1 = no retry). ``max_wait`` bounds the sum of all
    waits in seconds, each counted as at least its backoff; a server-advertised wait larger than
    what is left ends the retries. Without a ``retry-after`` header, or with one of 0, the wait
    is the backoff, ``backoff * 2**(n-1)`` capped at ``max_backoff``.
    """

    max_attempts: int = 3
    max_wait: float = 20.0
    backoff: float = 0.5
    max_backoff: float = 8.0
    retry_on: frozenset[Outcome] = frozenset({Outcome.THROTTLED, Outcome.SERVER_ERROR})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_wait < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("waits must not be negative")


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class ProbeResult:
    """The classified result of a probe (never holds a key, token or server message)."""

    outcome: Outcome
    status: int | None
    error_code: str | None
    latency_ms: float | None
    attempts: int
    retry_after_waited: float
    endpoint: str
    deployment: str
    api: str
    auth: str
    api_version: str
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.outcome.ok

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "outcome": self.outcome.value,
            "ok": self.ok,
            "status": self.status,
            "error_code": self.error_code,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "attempts": self.attempts,
            "retry_after_waited": round(self.retry_after_waited, 3),
            "endpoint": self.endpoint,
            "deployment": self.deployment,
            "api": self.api,
            "auth": self.auth,
            "api_version": self.api_version,
            "request_id": self.request_id,
        }


def normalize_endpoint(endpoint: str) -> str:
    """Check an account endpoint and return it with one trailing slash.

    Raises :class:`InputError` for a malformed URL and :class:`RefusedError` for ``http://``.
    """
    text = (endpoint or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() == "http":
        raise RefusedError(
            f"refusing endpoint {text!r}: keys and tokens are never sent over "
            "plain http (use https://)"
        )
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InputError(f"malformed endpoint {text!r} (expected https://<name>.openai.azure.com/)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(f"malformed endpoint {text!r}: no query, fragment or user info allowed")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InputError(f"malformed endpoint {text!r}: bad port") from None
    return text.rstrip("/") + "/"


def check_deployment(deployment: str) -> str:
    """Check a deployment name (letters, digits, ``.``, ``_``, ``-``; at most 64)."""
    if not _DEPLOYMENT.match(deployment or ""):
        raise InputError(f"bad deployment name {deployment!r} (letters, digits, '.', '_', '-')")
    return deployment


def check_api_version(api_version: str) -> str:
    """Check an api-version's form (``2024-10-21``, ``2025-04-01-preview`` or ``v1``)."""
    if not _API_VERSION.match(api_version or ""):
        raise InputError(f"bad api-version {api_version!r} (expected e.g. {DEFAULT_API_VERSION})")
    return api_version


def request_url(endpoint: str, deployment: str, api: str, api_version: str) -> str:
    """The URL of the probe call (the dated API, or the v1 API when ``api_version == 'v1'``)."""
    path = "chat/completions" if api == "chat" else "completions"
    if api_version == "v1":
        return f"{endpoint}openai/v1/{path}"
    return (
        f"{endpoint}openai/deployments/{quote(deployment, safe='')}/{path}"
        f"?api-version={api_version}"
    )


def request_body(deployment: str, api: str, api_version: str) -> dict[str, Any]:
    """The smallest useful request body: one token of answer."""
    body: dict[str, Any] = (
        {"messages": [{"role": "user", "content": PROBE_PROMPT}], "max_tokens": 1}
        if api == "chat"
        else {"prompt": PROBE_PROMPT, "max_tokens": 1}
    )
    if api_version == "v1":
        body["model"] = deployment  # the v1 API names the deployment in the body
    return body


def _without_max_tokens(body: dict[str, Any], attempt: _Attempt) -> dict[str, Any] | None:
    """The body for a deployment that rejected ``max_tokens`` (reasoning models: o-series,
    gpt-5 answer 400 ``unsupported_parameter`` and take ``max_completion_tokens``), else None."""
    if attempt.status != 400 or attempt.code != "unsupported_parameter" or "max_tokens" not in body:
        return None
    fixed = {k: v for k, v in body.items() if k != "max_tokens"}
    fixed["max_completion_tokens"] = body["max_tokens"]
    return fixed


@dataclass
class _Attempt:
    outcome: Outcome
    status: int | None = None
    code: str | None = None
    latency_ms: float | None = None
    retry_after: float | None = None
    request_id: str | None = None


def _send(
    session: requests.Session,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    verify: str | bool,
) -> _Attempt:
    import requests

    started = time.perf_counter()
    try:
        response = session.post(
            url, json=body, headers=headers, timeout=timeout, verify=verify, allow_redirects=False
        )
    except requests.exceptions.SSLError:
        return _Attempt(Outcome.TLS_ERROR)
    except requests.exceptions.Timeout:
        return _Attempt(Outcome.TIMEOUT, latency_ms=(time.perf_counter() - started) * 1000)
    except (requests.exceptions.ConnectionError, requests.exceptions.InvalidURL):
        return _Attempt(Outcome.CONNECTION_ERROR)
    except ValueError:
        # Raised before anything is sent, for a header value that is not header text: requests'
        # InvalidHeader, http.client's "Invalid header value", a UnicodeEncodeError. Their
        # messages quote the value (the key or token), so only the outcome leaves.
        return _Attempt(Outcome.INVALID_HEADER)
    latency = (time.perf_counter() - started) * 1000
    code = None
    if response.status_code >= 300:
        try:
            code = error_code_of(response.json())
        except ValueError:
            code = None
    return _Attempt(
        classify(response.status_code, code, headers_kind(headers)),
        response.status_code,
        code,
        latency,
        retry_after_seconds(response.headers),
        response.headers.get("apim-request-id") or response.headers.get("x-request-id"),
    )


def headers_kind(headers: Mapping[str, str]) -> str:
    """``key`` or ``entra``, from the auth header a request carries."""
    return "key" if "api-key" in headers else "entra"


def _auth_headers(auth: Auth) -> dict[str, str] | str:
    """The auth header, or the credential's error class name when no token could be had."""
    if isinstance(auth, KeyAuth):
        if not auth.key:
            raise InputError("the key is empty")
        return {"api-key": auth.key.reveal()}
    try:
        token = auth.credential.get_token(auth.scope).token
    except Exception as exc:  # any credential failure means "no token"; the outcome says so
        return type(exc).__name__
    return {"Authorization": f"Bearer {token}"}


def probe(
    endpoint: str,
    deployment: str,
    auth: Auth,
    *,
    api: Api = "chat",
    api_version: str = DEFAULT_API_VERSION,
    timeout: float = 10.0,
    retry: RetryPolicy | None = None,
    session: requests.Session | None = None,
    verify: str | bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeResult:
    """Make one minimal data-plane call (retried per ``retry``) and classify the answer.

    ``endpoint`` is the account endpoint (``https://<subdomain>.openai.azure.com/``);
    ``verify`` is a CA bundle path or True (``AzureEnvironment.verify``); ``sleep`` is how the
    probe waits between attempts. Raises :class:`InputError`/:class:`RefusedError` for bad input
    before any network traffic; every network or service problem is an :class:`Outcome`.
    """
    base = normalize_endpoint(endpoint)
    check_deployment(deployment)
    if api not in APIS:
        raise InputError(f"unknown api {api!r} (expected one of: {', '.join(APIS)})")
    check_api_version(api_version)
    if timeout <= 0:
        raise InputError("timeout must be positive")
    policy = retry or RetryPolicy()
    result = dict(
        endpoint=base, deployment=deployment, api=api, auth=auth.kind, api_version=api_version
    )
    headers = _auth_headers(auth)
    if isinstance(headers, str):
        return ProbeResult(Outcome.TOKEN_UNAVAILABLE, None, headers, None, 0, 0.0, **result)
    headers["Accept"] = "application/json"
    url = request_url(base, deployment, api, api_version)
    body = request_body(deployment, api, api_version)
    own = session is None
    http = new_session(verify) if session is None else session
    waited = spent = 0.0
    try:
        attempt_no = 0
        while True:
            attempt_no += 1
            attempt = _send(http, url, body, headers, timeout, verify)
            fixed = _without_max_tokens(body, attempt)
            if fixed is not None:
                body = fixed
                attempt = _send(http, url, body, headers, timeout, verify)
            if attempt.outcome not in policy.retry_on or attempt_no >= policy.max_attempts:
                break
            backoff = min(policy.max_backoff, policy.backoff * 2 ** (attempt_no - 1))
            # No advice, or "retry now" (Retry-After: 0), is the backoff (as in the openai SDK).
            wait = attempt.retry_after or backoff
            # The budget is charged at least the backoff, whatever the server advised: a
            # server repeating 0 or 1 ms would otherwise get max_attempts calls in a moment.
            charged = max(wait, backoff)
            if spent + charged > policy.max_wait:
                break
            sleep(wait)
            waited += wait
            spent += charged
    finally:
        if own:
            http.close()
    return ProbeResult(
        attempt.outcome,
        attempt.status,
        attempt.code,
        attempt.latency_ms,
        attempt_no,
        waited,
        request_id=attempt.request_id,
        **result,
    )
