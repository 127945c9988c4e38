"""Every probe outcome, each produced by the real situation in the emulator (no canned answers).

Retries are counted in the emulator's request log; waits go through an injected ``sleep`` that
records them, so no test sleeps for time to pass.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import trustme

from keyops.azure.probe import KeyAuth, Outcome, ProbeResult, RetryPolicy, TokenAuth, probe
from keyops.emulator.services.arm.models import current_key
from keyops.secret import SecretValue
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"
NO_RETRY = RetryPolicy(max_attempts=1)


def _key(handle: EmulatorHandle, account: str, slot: str = "Key1") -> KeyAuth:
    return KeyAuth(SecretValue(current_key(handle.server.emulator, account, slot)))


def _call(
    handle: EmulatorHandle,
    account: str,
    auth: KeyAuth | TokenAuth,
    deployment: str | None = None,
    **kwargs: Any,
) -> ProbeResult:
    acct = handle.account(account)
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("timeout", 5)
    return probe(
        acct["endpoint"],
        deployment or acct["deployments"][0],
        auth,
        verify=handle.ca_bundle,
        **kwargs,
    )


def _regenerate(handle: EmulatorHandle, group: str, account: str, slot: str) -> None:
    """Regenerate through ARM with the real SDK, closing every connection afterwards (an open
    keep-alive connection would hold the emulator's shutdown)."""
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    with (
        handle.credential() as cred,
        CognitiveServicesManagementClient(
            cred,
            handle.conn["subscription_id"],
            base_url=handle.url,
            connection_verify=handle.ca_bundle,
            retry_total=0,
        ) as mgmt,
    ):
        mgmt.accounts.regenerate_key(group, account, slot)


def _chat_calls(handle: EmulatorHandle, since: int) -> list[dict[str, Any]]:
    return [e for e in handle.log_since(since) if e["operation"] == "ChatCompletions_Create"]


def test_ok_with_a_key_and_with_a_token(shared_emulator: EmulatorHandle) -> None:
    by_key = _call(shared_emulator, EUS, _key(shared_emulator, EUS))
    by_token = _call(shared_emulator, EUS, TokenAuth(shared_emulator.credential()))
    assert (by_key.outcome, by_key.status, by_key.attempts) == (Outcome.OK, 200, 1)
    assert by_token.outcome is Outcome.OK and by_key.latency_ms is not None


def test_completions_deployment_needs_the_completions_api(shared_emulator: EmulatorHandle) -> None:
    key = _key(shared_emulator, EUS)
    assert _call(shared_emulator, EUS, key, "gpt-35-instruct", api="completions").ok
    wrong = _call(shared_emulator, EUS, key, "gpt-35-instruct")
    assert wrong.outcome is Outcome.OPERATION_NOT_SUPPORTED and wrong.status == 400


def test_a_regenerated_key_is_an_invalid_key(emulator: EmulatorHandle) -> None:
    old = _key(emulator, EUS)
    acct = emulator.account(EUS)
    _regenerate(emulator, acct["resource_group"], EUS, "Key1")
    result = _call(emulator, EUS, old)
    assert (result.outcome, result.status, result.error_code) == (Outcome.INVALID_KEY, 401, "401")
    assert _call(emulator, EUS, _key(emulator, EUS)).ok


def test_the_disable_local_auth_account_refuses_its_own_key(
    shared_emulator: EmulatorHandle,
) -> None:
    result = _call(
        shared_emulator, "contoso-openai-entra", _key(shared_emulator, "contoso-openai-entra")
    )
    assert result.outcome is Outcome.KEY_AUTH_DISABLED and result.status == 403
    assert result.error_code == "AuthenticationTypeDisabled"


def test_a_principal_without_the_data_action_is_missing_a_role(
    shared_emulator: EmulatorHandle,
) -> None:
    # ops-reader holds Reader only: no OpenAI dataAction.
    result = _call(shared_emulator, EUS, TokenAuth(shared_emulator.credential("ops-reader")))
    assert result.outcome is Outcome.MISSING_ROLE and result.error_code == "PermissionDenied"


def test_a_token_on_the_regional_account_needs_a_custom_subdomain(
    shared_emulator: EmulatorHandle,
) -> None:
    result = _call(
        shared_emulator, "contoso-openai-legacy", TokenAuth(shared_emulator.credential())
    )
    assert result.outcome is Outcome.CUSTOM_SUBDOMAIN_REQUIRED and result.status == 400
    # The same endpoint with the account's key works: the endpoint is fine, the auth is not.
    assert _call(
        shared_emulator, "contoso-openai-legacy", _key(shared_emulator, "contoso-openai-legacy")
    ).ok


def test_unknown_deployment(shared_emulator: EmulatorHandle) -> None:
    result = _call(shared_emulator, EUS, _key(shared_emulator, EUS), "no-such-deployment")
    assert result.outcome is Outcome.DEPLOYMENT_NOT_FOUND and result.status == 404


def test_throttled_calls_are_retried_per_retry_after_ms(emulator: EmulatorHandle) -> None:
    key = _key(emulator, EUS)
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.001, "burst": 1})
    assert _call(emulator, EUS, key).ok  # the bucket's one token
    waits: list[float] = []
    seq = emulator.last_seq
    result = _call(
        emulator, EUS, key, sleep=waits.append, retry=RetryPolicy(max_attempts=3, max_wait=10_000)
    )
    calls = _chat_calls(emulator, seq)
    assert result.outcome is Outcome.THROTTLED and result.outcome.credential_accepted
    assert result.attempts == 3 == len(calls) and {c["status"] for c in calls} == {429}
    # The bucket refills at 0.001/s: the emulator asks for ~1000 s, in retry-after-ms.
    assert len(waits) == 2 and all(900 < w <= 1000 for w in waits)


def test_a_wait_beyond_the_budget_is_never_started(emulator: EmulatorHandle) -> None:
    key = _key(emulator, EUS)
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.001, "burst": 1})
    _call(emulator, EUS, key)
    waits: list[float] = []
    seq = emulator.last_seq
    result = _call(
        emulator, EUS, key, sleep=waits.append, retry=RetryPolicy(max_attempts=5, max_wait=30)
    )
    assert result.outcome is Outcome.THROTTLED and result.retry_after_waited == 0
    assert result.attempts == 1 == len(_chat_calls(emulator, seq)) and waits == []


def test_server_errors_are_retried_up_to_the_bound(emulator: EmulatorHandle) -> None:
    emulator.fault(
        {"operation": "ChatCompletions_Create", "kind": "status", "status": 500, "times": 10}
    )
    waits: list[float] = []
    seq = emulator.last_seq
    result = _call(
        emulator,
        EUS,
        _key(emulator, EUS),
        sleep=waits.append,
        retry=RetryPolicy(max_attempts=4, backoff=0.25),
    )
    calls = _chat_calls(emulator, seq)
    assert (result.outcome, result.status) == (Outcome.SERVER_ERROR, 500)
    assert result.attempts == 4 == len(calls) and waits == [0.25, 0.5, 1.0]


def test_a_passing_server_error_is_ridden_out(emulator: EmulatorHandle) -> None:
    emulator.fault(
        {"operation": "ChatCompletions_Create", "kind": "status", "status": 503, "times": 1}
    )
    result = _call(
        emulator, EUS, _key(emulator, EUS), sleep=lambda s: None, retry=RetryPolicy(max_attempts=3)
    )
    assert result.ok and result.attempts == 2


def test_latency_beyond_the_timeout_is_a_timeout(emulator: EmulatorHandle) -> None:
    emulator.fault(
        {"operation": "ChatCompletions_Create", "kind": "latency", "latency_ms": 1000, "times": 1}
    )
    result = _call(emulator, EUS, _key(emulator, EUS), timeout=0.3)
    assert result.outcome is Outcome.TIMEOUT and result.status is None


def test_a_dropped_connection_is_a_connection_error(emulator: EmulatorHandle) -> None:
    emulator.fault({"operation": "ChatCompletions_Create", "kind": "drop_before", "times": 1})
    result = _call(emulator, EUS, _key(emulator, EUS))
    assert result.outcome is Outcome.CONNECTION_ERROR


def test_a_ca_bundle_that_does_not_trust_the_emulator_is_a_tls_error(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    acct = shared_emulator.account(EUS)
    seq = shared_emulator.last_seq
    result = probe(
        acct["endpoint"],
        "gpt-4o-mini",
        _key(shared_emulator, EUS),
        verify=str(other),
        retry=NO_RETRY,
    )
    assert result.outcome is Outcome.TLS_ERROR
    assert _chat_calls(shared_emulator, seq) == []  # the key never left the handshake


def test_a_closed_port_is_a_connection_error(shared_emulator: EmulatorHandle) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = probe(
        f"https://127.0.0.1:{port}/aoai/x/",
        "gpt-4o-mini",
        _key(shared_emulator, EUS),
        verify=shared_emulator.ca_bundle,
        timeout=2,
    )
    assert result.outcome is Outcome.CONNECTION_ERROR


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_has_a_description(outcome: Outcome) -> None:
    assert outcome.description and outcome.value == outcome.value.lower()
