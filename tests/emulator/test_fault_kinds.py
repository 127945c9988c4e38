"""The emulator's fault kinds that rotation's safety rests on: a lost response, seeded chance.

A dropped connection *after* the effect is saved is the hardest case a client meets (the write
happened, the answer never came); a seeded probability makes a chaos schedule reproducible.
Both are driven through the real management SDK and plain HTTPS, and checked against state.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from tests.support.emulator import EmulatorHandle


def _rg_account(emulator: EmulatorHandle) -> tuple[str, str]:
    account = emulator.account("contoso-openai-eus")
    return account["resource_group"], account["name"]


def test_drop_after_saves_the_effect_but_loses_the_answer(emulator: EmulatorHandle) -> None:
    arm = emulator.mgmt_client()
    rg, name = _rg_account(emulator)
    before = arm.accounts.list_keys(rg, name)
    emulator.admin("POST", "faults", {"operation": "Accounts_RegenerateKey", "kind": "drop_after"})
    seq = emulator.last_seq
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        arm.accounts.regenerate_key(rg, name, "Key2")
    after = arm.accounts.list_keys(rg, name)
    assert after.key2 != before.key2, "the regenerate took effect although no answer came"
    assert after.key1 == before.key1
    entries = [e for e in emulator.log_since(seq) if e["operation"] == "Accounts_RegenerateKey"]
    assert [(e["fault"], e["changed"]) for e in entries] == [("drop_after", True)]


def test_drop_before_loses_the_request_and_changes_nothing(emulator: EmulatorHandle) -> None:
    arm = emulator.mgmt_client()
    rg, name = _rg_account(emulator)
    before = arm.accounts.list_keys(rg, name)
    emulator.admin("POST", "faults", {"operation": "Accounts_RegenerateKey", "kind": "drop_before"})
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        arm.accounts.regenerate_key(rg, name, "Key2")
    after = arm.accounts.list_keys(rg, name)
    assert (after.key1, after.key2) == (before.key1, before.key2)


def test_drop_after_on_a_secret_write_keeps_the_version(emulator: EmulatorHandle) -> None:
    vault = emulator.secret_client()
    vault.set_secret(
        "lost-answer", "value-0"
    )  # the client has its challenge: the next write is authenticated
    emulator.admin("POST", "faults", {"operation": "SetSecret", "kind": "drop_after"})
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        vault.set_secret("lost-answer", "value-1")
    assert vault.get_secret("lost-answer").value == "value-1"


def _pattern(emulator: EmulatorHandle, spec: dict[str, Any], calls: int) -> list[int]:
    emulator.admin("DELETE", "faults")
    emulator.admin("POST", "faults", spec)
    url = f"{emulator.url}/_emulator/health"
    return [
        requests.get(url, verify=emulator.ca_bundle, timeout=5).status_code for _ in range(calls)
    ]


def test_seeded_probability_is_reproducible_and_near_its_rate(emulator: EmulatorHandle) -> None:
    spec = {
        "operation": "Admin_Health",
        "kind": "status",
        "status": 503,
        "probability": 0.3,
        "seed": 1234,
    }
    first = _pattern(emulator, spec, 200)
    again = _pattern(emulator, spec, 200)
    other = _pattern(emulator, {**spec, "seed": 4321}, 200)
    assert first == again, "one seed, one schedule"
    assert first != other, "another seed, another schedule"
    assert set(first) == {200, 503}
    # 200 draws at p = 0.3: mean 60, sd ~6.5; 30..90 is beyond four standard deviations.
    assert 30 <= first.count(503) <= 90
    rules = emulator.admin("GET", "faults")
    rules = rules["faults"]
    assert [r["fired"] for r in rules] == [other.count(503)]


def test_probability_without_times_fires_without_limit(emulator: EmulatorHandle) -> None:
    spec = {"operation": "Admin_Health", "kind": "status", "status": 500, "probability": 1.0}
    assert _pattern(emulator, spec, 5) == [500] * 5
    never = {**spec, "probability": 0.0}
    assert _pattern(emulator, never, 5) == [200] * 5


def test_hold_keeps_a_request_until_released_and_another_writer_goes_first(
    emulator: EmulatorHandle,
) -> None:
    """A held read waits while a second client writes; released, it answers the new value.
    ``skip`` lets the first matching read through unheld."""
    import threading

    vault, other = emulator.secret_client(), emulator.secret_client()
    vault.set_secret("held", "value-0")
    other.get_secret("held")  # its challenge first: its write below goes at once
    rule = emulator.fault(
        {"operation": "GetSecret", "kind": "hold", "match": "held", "skip": 1, "times": 1}
    )
    assert vault.get_secret("held").value == "value-0"  # skipped: not held
    read: list[str | None] = []
    reader = threading.Thread(target=lambda: read.append(vault.get_secret("held").value))
    reader.start()
    while not emulator.held(rule):
        pass  # until the read has reached the emulator and is held there
    other.set_secret("held", "value-1")  # served while the read waits
    assert read == []
    released = emulator.release(rule)
    reader.join()
    assert (released["released"], read) == (True, ["value-1"])
    held = [e for e in emulator.log_since(0) if e["operation"] == "GetSecret"][-1]
    assert held["fault"] == "hold"


def test_hold_without_release_ends_at_its_cap_and_unknown_rules_are_404(
    emulator: EmulatorHandle,
) -> None:
    vault = emulator.secret_client()
    vault.set_secret("capped", "value-0")
    emulator.fault({"operation": "GetSecret", "kind": "hold", "match": "capped", "latency_ms": 1})
    assert vault.get_secret("capped").value == "value-0"
    r = requests.post(
        f"{emulator.url}/_emulator/faults/999/release",
        headers={"Authorization": f"Bearer {emulator.server.emulator.admin_token}"},
        verify=emulator.ca_bundle,
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "NotFound")
    with pytest.raises(AssertionError, match="skip must be 0 or more"):
        emulator.fault({"operation": "GetSecret", "kind": "hold", "skip": -1})


def test_no_effect_answers_the_keys_unchanged_and_is_for_regenerate_only(
    emulator: EmulatorHandle,
) -> None:
    """A stale answer: regenerateKey answers 200 with both keys as they are, and nothing
    changes; the kind is refused for an operation that cannot answer without its effect."""
    arm = emulator.mgmt_client()
    rg, name = _rg_account(emulator)
    before = arm.accounts.list_keys(rg, name)
    emulator.fault({"operation": "Accounts_RegenerateKey", "kind": "no_effect"})
    seq = emulator.last_seq
    answered = arm.accounts.regenerate_key(rg, name, "Key2")
    assert (answered.key1, answered.key2) == (before.key1, before.key2)
    after = arm.accounts.list_keys(rg, name)
    assert (after.key1, after.key2) == (before.key1, before.key2)
    entries = [e for e in emulator.log_since(seq) if e["operation"] == "Accounts_RegenerateKey"]
    assert [(e["status"], e["fault"], e["changed"]) for e in entries] == [(200, "no_effect", False)]
    with pytest.raises(AssertionError, match="no_effect is for Accounts_RegenerateKey only"):
        emulator.fault({"operation": "SetSecret", "kind": "no_effect"})
