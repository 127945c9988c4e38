"""The rotation's key test (keyops.rotate.smoke.ProbeKeyTester) against the emulated data plane:
the API a deployment serves, the api-version asked for, a 429 as proof, a refused key retried
with back-off (0.5 s, doubling) within the timeout, and each verdict's one line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keyops.rotate.smoke import KeyTestResult, ProbeKeyTester
from tests.rotate.conftest import Rig

EUS = "contoso-openai-eus"  # a chat deployment (gpt-4o-mini) and a completions one


def _test(
    rig: Rig, deployment: str, *, api_version: str | None = None, seconds: float = 3.0
) -> KeyTestResult:
    target = rig.target(EUS)
    found = rig.services.accounts(target.account.subscription_id).list_deployments(
        target.resource_id
    )
    (chosen,) = [d for d in found if d.name == deployment]
    return ProbeKeyTester(rig.env)(  # by keyword, as the protocol names them
        account=target.account,
        deployment=chosen,
        key=rig.keys(target).key1,
        api_version=api_version,
        timeout=timedelta(seconds=seconds),
    )


def _fault(rig: Rig, **spec: Any) -> None:
    rig.emu.fault({"kind": "status", **spec})


def _ops(rig: Rig, seq: int) -> list[tuple[str, int]]:
    return [
        (e["operation"], e["status"]) for e in rig.emu.log_since(seq) if e["surface"] == "openai"
    ]


def test_a_completions_deployment_is_tested_with_a_completion(rig: Rig) -> None:
    seq = rig.emu.last_seq
    result = _test(rig, "gpt-35-instruct")
    assert result == KeyTestResult(
        True, "ok", "the call succeeded (HTTP 200, 1 attempt(s), 0.0s waited)", 1, 0.0
    )
    assert _ops(rig, seq) == [("Completions_Create", 200)]
    seq = rig.emu.last_seq
    assert _test(rig, "gpt-4o-mini").ok
    assert _ops(rig, seq) == [("ChatCompletions_Create", 200)]


def test_the_api_version_asked_for_is_the_one_sent(rig: Rig) -> None:
    unpublished = _test(rig, "gpt-4o-mini", api_version="2019-01-01")
    assert (unpublished.ok, unpublished.attempts) == (False, 1)
    assert "HTTP 404" in unpublished.detail or "HTTP 400" in unpublished.detail


def test_a_429_proves_the_key_at_once(rig: Rig) -> None:
    _fault(rig, operation="ChatCompletions_Create", status=429, code="TooManyRequests", times=1)
    seq = rig.emu.last_seq
    result = _test(rig, "gpt-4o-mini")
    assert result == KeyTestResult(
        True, "throttled", "key accepted, throttled (HTTP 429, 1 attempt(s))", 1, 0.0
    )
    assert _ops(rig, seq) == [("ChatCompletions_Create", 429)]


def test_a_refused_key_is_retried_with_backoff_within_the_timeout(rig: Rig) -> None:
    # Refused twice (propagation): waits of 0.5 s and 1 s fit in 3 s, and the third call works.
    _fault(rig, operation="ChatCompletions_Create", status=401, code="401", times=2)
    seq = rig.emu.last_seq
    result = _test(rig, "gpt-4o-mini", seconds=3.0)
    assert (result.ok, result.attempts) == (True, 3), result.detail
    assert [s for _, s in _ops(rig, seq)] == [401, 401, 200]


def test_a_key_refused_past_the_timeout_fails_with_its_line(rig: Rig) -> None:
    # Waits of 0.5 s and 1 s fit in 1.6 s; a third, of 2 s, would not.
    _fault(rig, operation="ChatCompletions_Create", status=401, code="401", times=3)
    result = _test(rig, "gpt-4o-mini", seconds=1.6)
    assert result == KeyTestResult(
        False,
        "invalid_key",
        "the key was refused (invalid, regenerated, or for another resource) (HTTP 401 401, "
        "3 attempt(s), 1.5s waited)",
        3,
        1.5,
    )


def test_a_forbidden_answer_is_not_retried_and_names_its_code(rig: Rig) -> None:
    _fault(rig, operation="ChatCompletions_Create", status=403, code="Forbidden", times=1)
    result = _test(rig, "gpt-4o-mini")
    assert result == KeyTestResult(
        False,
        "forbidden",
        "access forbidden (network rules or policy) (HTTP 403 Forbidden, 1 attempt(s), "
        "0.0s waited)",
        1,
        0.0,
    )
