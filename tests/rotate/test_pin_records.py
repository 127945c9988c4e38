"""One account's record and the run's summary line (keyops.rotate.records), figure by figure."""

from __future__ import annotations

import pytest

from keyops.exitcodes import ExitStatus
from keyops.rotate.records import Action, RotationRecord, exit_status, failure_summary


def _failed(status: int | None, account: str = "a", reason: str = "r") -> RotationRecord:
    return RotationRecord(
        "t", account, "/a", action=Action.FAILED, reason=reason, error_status=status
    )


def test_the_json_record_holds_every_field_with_timings_to_the_millisecond() -> None:
    record = RotationRecord(
        "prod",
        "acct",
        "/subscriptions/s/x/accounts/acct",
        action=Action.ROTATED,
        reason="due",
        reason_code="due",
        slot="Key2",
        previous_slot="Key1",
        regenerated=["Key2"],
        vault_url="https://v.vault.azure.net",
        secret_name="acct-key",
        secret_version="v2",
        supersedes="v1",
        fingerprint="sha256:ab12",
        deployment="gpt",
        timings={"read": 0.12345, "store": 2.0004999, "test": 1.0005001},
        warnings=["w"],
        outside_change="Key1",
    )
    assert record.to_dict() == {
        "schema": "keyops.rotation/v1",
        "target": "prod",
        "account": "acct",
        "account_id": "/subscriptions/s/x/accounts/acct",
        "action": "rotated",
        "planned": None,
        "reason": "due",
        "reason_code": "due",
        "slot": "Key2",
        "previous_slot": "Key1",
        "regenerated": ["Key2"],
        "secret": {
            "vault_url": "https://v.vault.azure.net",
            "name": "acct-key",
            "version": "v2",
            "supersedes": "v1",
            "fingerprint": "sha256:ab12",
        },
        "deployment": "gpt",
        "dry_run": False,
        "timings": {"read": 0.123, "store": 2.0, "test": 1.001},
        "warnings": ["w"],
        "outside_change": "Key1",
    }


@pytest.mark.parametrize(
    ("action", "ok"),
    [
        (Action.ROTATED, True),
        (Action.ADOPTED, True),
        (Action.REVOKED, True),
        (Action.REPAIRED, True),
        (Action.SKIPPED, True),
        (Action.PLANNED, True),
        (Action.REFUSED, False),
        (Action.FAILED, False),
    ],
)
def test_only_a_refusal_or_a_failure_is_not_ok(action: Action, ok: bool) -> None:
    assert RotationRecord("t", "a", "/a", action=action).ok is ok


def test_a_failure_without_a_status_of_its_own_counts_as_status_1() -> None:
    assert exit_status([_failed(None), _failed(None)]) is ExitStatus.FAILED
    # One failure with no status beside one denied: not one shared cause.
    assert exit_status([_failed(None), _failed(4)]) is ExitStatus.FAILED
    assert exit_status([_failed(4), _failed(4)]) is ExitStatus.AUTH


def test_an_attention_record_beside_a_refusal_exits_1() -> None:
    attention = RotationRecord("t", "a", "/a", action=Action.ROTATED, outside_change="Key2")
    refused = RotationRecord("t", "b", "/b", action=Action.REFUSED)
    assert exit_status([refused, attention]) is ExitStatus.FAILED


def test_the_summary_names_the_cause_the_count_and_the_first_reason() -> None:
    line = failure_summary([_failed(3, "one", "bad toml"), _failed(3, "two", "also bad")])
    assert line == (
        "every account to rotate failed: configuration error (2 accounts); e.g. one: bad toml"
    )
    denied = [_failed(4, f"a{i}", f"denied {i}") for i in range(3)]
    skipped = RotationRecord("t", "s", "/s", action=Action.SKIPPED)
    assert failure_summary([skipped, *denied, skipped]) == (
        "every account to rotate failed: access denied (3 accounts, 2 skipped); e.g. a0: denied 0"
    )
    assert failure_summary([skipped, *denied[:2], skipped, skipped, skipped]) == (
        "every account to rotate failed: access denied (2 accounts, 4 skipped); e.g. a0: denied 0"
    )


def test_no_summary_when_a_failure_stands_alone_or_another_account_did_something() -> None:
    assert failure_summary([_failed(5)]) is None
    assert (
        failure_summary([_failed(5), RotationRecord("t", "s", "/s", action=Action.SKIPPED)]) is None
    )
    planned = RotationRecord("t", "p", "/p", action=Action.PLANNED)
    assert failure_summary([_failed(5), _failed(5), planned]) is None


def test_a_fleet_of_hundreds_denied_alike_exits_with_the_denial() -> None:
    """300 accounts (counts past CPython's small-int cache), every one denied: status 4 and
    one summary line, as for three."""
    denied = [_failed(4, f"a{i}", f"denied {i}") for i in range(300)]
    skipped = [RotationRecord("t", f"s{i}", "/s", action=Action.SKIPPED) for i in range(20)]
    assert exit_status([*denied, *skipped]) is ExitStatus.AUTH
    assert failure_summary([*denied, *skipped]) == (
        "every account to rotate failed: access denied (300 accounts, 20 skipped); "
        "e.g. a0: denied 0"
    )
