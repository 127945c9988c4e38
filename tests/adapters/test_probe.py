"""The data-plane probe against an independent stub server (not the emulator), plus its parsing.

The stub is written here from Azure's published REST shapes (http.server over TLS with a trustme
CA): it shows the probe classifies by status and error code, whoever wrote the server.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from keyops.azure.probe import (
    DEFAULT_API_VERSION,
    KeyAuth,
    Outcome,
    RetryPolicy,
    TokenAuth,
    classify,
    normalize_endpoint,
    probe,
    retry_after_seconds,
)
from keyops.errors import ConfigError, InputError, RefusedError
from keyops.secret import SecretValue

GOOD_KEY = "stub-key-0123456789abcdef0123456789"
TOKEN = "header.eyJvaWQiOiJhYmMifQ.sig"

_CHAT_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1686676106,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Hi"}}
    ],
    "usage": {"completion_tokens": 1, "prompt_tokens": 8, "total_tokens": 9},
}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@dataclass
class StubState:
    """What the stub saw and how it should misbehave."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _answer(
    path: str, headers: Any, body: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Azure's answers, chosen by deployment name (the stub's own little world)."""
    key = headers.get("api-key")
    bearer = headers.get("Authorization", "")
    deployment = path.split("/deployments/")[1].split("/")[0] if "/deployments/" in path else ""
    if "api-version=" not in path:
        return 404, _error("404", "Resource not found"), {}
    if deployment == "regional" and bearer:
        return (
            400,
            _error(
                "BadRequest",
                "Please provide a custom subdomain for token "
                "authentication, otherwise API key is required.",
            ),
            {},
        )
    if deployment == "keyless" and key:
        return (
            403,
            _error(
                "AuthenticationTypeDisabled",
                "Key based authentication is disabled for this resource.",
            ),
            {},
        )
    if key is not None and key != GOOD_KEY:
        return (
            401,
            _error("401", "Access denied due to invalid subscription key or wrong API endpoint."),
            {},
        )
    if bearer and bearer != f"Bearer {TOKEN}":
        return (
            401,
            {
                "statusCode": 401,
                "message": "Unauthorized. Access token is missing, invalid, audience is incorrect.",
            },
            {},
        )
    if bearer and deployment == "norole":
        return 401, _error("PermissionDenied", "Principal does not have access to API."), {}
    if bearer and deployment == "norole403":
        return 403, _error("Forbidden", "The principal lacks the required data action."), {}
    if deployment == "busy":
        return (
            429,
            _error("429", "Rate limit exceeded."),
            {"retry-after": "1", "retry-after-ms": "5"},
        )
    if deployment == "broken":
        return 503, _error("ServiceUnavailable", "The service is temporarily unavailable."), {}
    if deployment in ("now", "soon"):
        busy = _error("ServiceUnavailable", "The service is temporarily unavailable.")
        ms = "0" if deployment == "now" else "1"
        return 503, busy, {"Retry-After": "0", "retry-after-ms": ms}
    if deployment not in ("gpt-4o-mini", "slow"):
        return (
            404,
            _error("DeploymentNotFound", "The API deployment for this resource does not exist."),
            {},
        )
    if "messages" not in body or body.get("max_tokens") != 1:
        return 400, _error("invalid_request_error", "bad body"), {}
    return 200, _CHAT_OK, {"apim-request-id": "req-1"}


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if "/deployments/slow/" in self.path:
                state.release.wait(10)
            status, payload, extra = _answer(self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@dataclass
class Stub:
    url: str
    ca_bundle: str
    state: StubState


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    tmp = tmp_path_factory.mktemp("stub")
    bundle = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    state = StubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Stub(f"https://127.0.0.1:{server.server_address[1]}/", str(bundle), state)
    state.release.set()
    server.shutdown()
    server.server_close()


class FakeToken:
    """A credential stand-in implementing azure-core's get_token protocol."""

    def __init__(self, token: str = TOKEN, fail: bool = False) -> None:
        self.token, self.fail, self.scopes = token, fail, []  # type: ignore[var-annotated]

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.append(scopes)
        if self.fail:
            raise RuntimeError("no identity configured")
        return type("AccessToken", (), {"token": self.token, "expires_on": 0})()


def _key(value: str = GOOD_KEY) -> KeyAuth:
    return KeyAuth(SecretValue(value))


@pytest.mark.parametrize(
    ("deployment", "auth", "outcome", "status", "code"),
    [
        ("gpt-4o-mini", "key", Outcome.OK, 200, None),
        ("gpt-4o-mini", "badkey", Outcome.INVALID_KEY, 401, "401"),
        ("keyless", "key", Outcome.KEY_AUTH_DISABLED, 403, "AuthenticationTypeDisabled"),
        ("norole", "token", Outcome.MISSING_ROLE, 401, "PermissionDenied"),
        ("norole403", "token", Outcome.MISSING_ROLE, 403, "Forbidden"),
        ("regional", "token", Outcome.CUSTOM_SUBDOMAIN_REQUIRED, 400, "BadRequest"),
        ("nope", "key", Outcome.DEPLOYMENT_NOT_FOUND, 404, "DeploymentNotFound"),
        ("gpt-4o-mini", "badtoken", Outcome.INVALID_TOKEN, 401, None),
        ("gpt-4o-mini", "token", Outcome.OK, 200, None),
    ],
)
def test_stub_outcomes_by_status_and_code(
    stub: Stub, deployment: str, auth: str, outcome: Outcome, status: int, code: str | None
) -> None:
    creds = {
        "key": _key(),
        "badkey": _key("wrong-key"),
        "token": TokenAuth(FakeToken()),
        "badtoken": TokenAuth(FakeToken("x.e30.y")),
    }
    result = probe(
        stub.url,
        deployment,
        creds[auth],
        verify=stub.ca_bundle,
        timeout=5,
        retry=RetryPolicy(max_attempts=1),
    )
    assert (result.outcome, result.status, result.error_code) == (outcome, status, code)
    assert result.attempts == 1 and result.latency_ms is not None
    assert GOOD_KEY not in json.dumps(result.to_dict())


def test_stub_sees_the_minimal_request(stub: Stub) -> None:
    before = len(stub.state.requests)
    result = probe(stub.url, "gpt-4o-mini", _key(), verify=stub.ca_bundle)
    seen = stub.state.requests[before]
    assert result.ok and result.request_id == "req-1"
    assert seen["path"] == (
        f"/openai/deployments/gpt-4o-mini/chat/completions?api-version={DEFAULT_API_VERSION}"
    )
    assert seen["body"]["max_tokens"] == 1 and seen["headers"]["api-key"] == GOOD_KEY
    assert "Authorization" not in seen["headers"]


def test_token_auth_asks_for_the_cognitive_scope(stub: Stub) -> None:
    cred = FakeToken()
    probe(stub.url, "gpt-4o-mini", TokenAuth(cred), verify=stub.ca_bundle)
    assert cred.scopes == [("https://cognitiveservices.azure.com/.default",)]
    failed = probe(stub.url, "gpt-4o-mini", TokenAuth(FakeToken(fail=True)), verify=stub.ca_bundle)
    assert failed.outcome is Outcome.TOKEN_UNAVAILABLE and failed.attempts == 0
    assert failed.error_code == "RuntimeError"


def test_throttled_retries_honour_retry_after_ms_within_the_bound(stub: Stub) -> None:
    waits: list[float] = []
    before = len(stub.state.requests)
    result = probe(
        stub.url,
        "busy",
        _key(),
        verify=stub.ca_bundle,
        sleep=waits.append,
        retry=RetryPolicy(max_attempts=4, max_wait=10),
    )
    assert result.outcome is Outcome.THROTTLED and result.outcome.credential_accepted
    assert result.attempts == 4 == len(stub.state.requests) - before
    assert waits == [0.005, 0.005, 0.005] and result.retry_after_waited == pytest.approx(0.015)


@pytest.mark.parametrize(
    ("deployment", "waits"),
    [
        ("broken", [0.5, 1.0, 2.0]),  # no advice: the backoff
        ("now", [0.5, 1.0, 2.0]),  # "retry now" (Retry-After: 0): the backoff too
        ("soon", [0.001] * 3),  # retry-after-ms 1: honoured, but charged its backoff
    ],
)
def test_server_errors_are_retried_within_the_wait_budget_counted_in_backoffs(
    stub: Stub, deployment: str, waits: list[float]
) -> None:
    """0.5 + 1 + 2 = 3.5 s of the budget: the next backoff (4) does not fit, so four calls in
    all, however little the server asks to wait (else a server repeating 0 or 1 ms would get
    every one of max_attempts at once)."""
    waited: list[float] = []
    before = len(stub.state.requests)
    result = probe(
        stub.url,
        deployment,
        _key(),
        verify=stub.ca_bundle,
        sleep=waited.append,
        retry=RetryPolicy(max_attempts=10_000, max_wait=3.5, backoff=0.5),
    )
    assert result.outcome is Outcome.SERVER_ERROR and result.status == 503
    assert waited == waits and result.attempts == 4 == len(stub.state.requests) - before
    assert result.retry_after_waited == pytest.approx(sum(waits))


def test_timeout_is_its_own_outcome(stub: Stub) -> None:
    result = probe(
        stub.url,
        "slow",
        _key(),
        verify=stub.ca_bundle,
        timeout=0.3,
        retry=RetryPolicy(max_attempts=1),
    )
    assert result.outcome is Outcome.TIMEOUT and result.status is None


def test_untrusted_certificate_is_a_tls_error(stub: Stub, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = probe(stub.url, "gpt-4o-mini", _key(), verify=str(other))
    assert result.outcome is Outcome.TLS_ERROR and result.attempts == 1


def test_closed_port_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = probe(f"https://127.0.0.1:{port}/", "gpt-4o-mini", _key(), timeout=2)
    assert result.outcome is Outcome.CONNECTION_ERROR


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("http://contoso.openai.azure.com/", RefusedError),
        ("contoso.openai.azure.com", InputError),
        ("https://", InputError),
        ("https://contoso.openai.azure.com/?x=1", InputError),
        ("https://user:pw@contoso.openai.azure.com/", InputError),
        ("ftp://contoso.openai.azure.com/", InputError),
    ],
)
def test_bad_endpoints_are_refused_before_any_traffic(
    endpoint: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        probe(endpoint, "gpt-4o-mini", _key())


@pytest.mark.parametrize(
    "auth",
    [
        _key(GOOD_KEY + "\n"),
        _key(" " + GOOD_KEY),
        _key(GOOD_KEY[:8] + "\r\n" + GOOD_KEY[8:]),
        _key(GOOD_KEY + "\u2019"),  # not latin-1: http.client cannot encode it
        TokenAuth(FakeToken(TOKEN + "\n")),
    ],
    ids=["trailing-newline", "leading-space", "crlf-inside", "non-latin-1", "token-newline"],
)
def test_a_value_that_is_not_header_text_is_an_outcome_not_sent(
    stub: Stub, auth: KeyAuth | TokenAuth
) -> None:
    """The HTTP library's own error would quote the value: the probe returns an outcome only."""
    before = len(stub.state.requests)
    result = probe(stub.url, "gpt-4o-mini", auth, verify=stub.ca_bundle)
    assert (result.outcome, result.attempts, result.status) == (Outcome.INVALID_HEADER, 1, None)
    assert len(stub.state.requests) == before
    assert GOOD_KEY not in repr(result) and TOKEN not in repr(result)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        probe("https://a.openai.azure.com/", "d", _key(""))
    with pytest.raises(InputError, match="deployment"):
        probe("https://a.openai.azure.com/", "bad/name", _key())
    with pytest.raises(InputError, match="api-version"):
        probe("https://a.openai.azure.com/", "d", _key(), api_version="latest")
    assert normalize_endpoint(" https://a.openai.azure.com ") == "https://a.openai.azure.com/"


def test_classification_ignores_message_text() -> None:
    assert classify(403, "AuthenticationTypeDisabled", "key") is Outcome.KEY_AUTH_DISABLED
    assert classify(403, None, "key") is Outcome.FORBIDDEN
    assert classify(403, None, "entra") is Outcome.MISSING_ROLE
    assert classify(404, "404", "key") is Outcome.NOT_FOUND
    assert classify(400, "BadRequest", "key") is Outcome.BAD_REQUEST
    assert classify(502, None, "key") is Outcome.SERVER_ERROR


def test_retry_after_headers() -> None:
    assert retry_after_seconds({"Retry-After": "2", "retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert (
        retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0)
        == 10.0
    )
    assert retry_after_seconds({}) is None


def test_rotation_can_retry_a_key_that_is_not_accepted_yet(stub: Stub) -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, backoff=0.1, retry_on=frozenset({Outcome.INVALID_KEY}))
    result = probe(
        stub.url,
        "gpt-4o-mini",
        _key("not-yet-propagated"),
        verify=stub.ca_bundle,
        retry=policy,
        sleep=waits.append,
    )
    assert result.outcome is Outcome.INVALID_KEY and result.attempts == 3
    assert waits == [0.1, 0.2]


def test_tls_verification_cannot_be_turned_off_and_a_bad_bundle_is_a_config_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(RefusedError, match="cannot be turned off"):
        probe("https://a.openai.azure.com/", "d", _key(), verify=False)
    with pytest.raises(ConfigError, match="CA bundle"):
        probe("https://a.openai.azure.com/", "d", _key(), verify=str(tmp_path / "missing.pem"))
