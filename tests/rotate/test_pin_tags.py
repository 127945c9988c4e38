"""The tags keyops writes on a secret version (keyops.rotate.tags): the validity in whole days
(at least 1), the revoke deadline only beside a pending revoke, and time tags read back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from keyops.rotate import tags as T

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def _tags(**kwargs: object) -> dict[str, str]:
    base: dict[str, object] = {
        "slot": "Key2",
        "account_id": "/subscriptions/s/x/accounts/a",
        "endpoint": "https://a.openai.azure.com/",
        "rotated_at": AT,
        "supersedes": None,
        "validity": None,
        "action": "rotated",
    }
    return T.version_tags(**{**base, **kwargs})  # type: ignore[arg-type]


def test_a_version_carries_the_slot_account_time_and_writer() -> None:
    tags = _tags(supersedes="0123abcd")
    assert tags == {
        "CredentialId": "Key2",
        "ProviderAddress": "/subscriptions/s/x/accounts/a",
        "Endpoint": "https://a.openai.azure.com/",
        "RotatedAt": "2026-03-04T05:06:07Z",
        "Supersedes": "0123abcd",
        "ManagedBy": "keyops",
        "KeyopsAction": "rotated",
    }
    assert _tags()["Supersedes"] == ""  # the first version supersedes nothing


@pytest.mark.parametrize(
    ("validity", "days"),
    [
        (timedelta(days=90), "90"),
        (timedelta(hours=12), "1"),  # rounds to 0 days: never written as less than 1
        (timedelta(hours=1), "1"),
        (timedelta(hours=36), "2"),  # 1.5 days rounds to even: 2
        (timedelta(hours=60), "2"),  # 2.5 days rounds to even: 2
        (timedelta(hours=59, minutes=59), "2"),
        (timedelta(hours=60, minutes=1), "3"),
    ],
)
def test_the_validity_is_written_in_whole_days_at_least_one(validity: timedelta, days: str) -> None:
    assert _tags(validity=validity)[T.VALIDITY_TAG] == days


def test_no_validity_no_validity_tag() -> None:
    assert T.VALIDITY_TAG not in _tags()


def test_the_revoke_deadline_is_written_only_beside_a_pending_revoke() -> None:
    deadline = AT + timedelta(days=7)
    waiting = _tags(revoke_pending=T.REVOKE_WHEN_MOVED, revoke_deadline=deadline)
    assert waiting[T.REVOKE_TAG] == "when-moved"
    assert waiting[T.REVOKE_DEADLINE_TAG] == "2026-03-11T05:06:07Z"
    assert T.rotated_at_of(waiting, T.REVOKE_DEADLINE_TAG) == deadline
    alone = _tags(revoke_deadline=deadline)  # no revoke asked for: no deadline either
    assert T.REVOKE_TAG not in alone and T.REVOKE_DEADLINE_TAG not in alone
    now = _tags(revoke_pending=T.REVOKE_PENDING)
    assert now[T.REVOKE_TAG] == "pending" and T.REVOKE_DEADLINE_TAG not in now


@pytest.mark.parametrize(
    "tags",
    [{}, {"RotatedAt": "yesterday"}, {"RotatedAt": "2026-03-04 05:06:07"}, {"Other": "x"}],
)
def test_a_missing_or_malformed_time_tag_reads_as_none(tags: dict[str, str]) -> None:
    assert T.rotated_at_of(tags) is None


def test_a_time_tag_reads_back_as_aware_utc() -> None:
    read = T.rotated_at_of(_tags())
    assert read == AT and read is not None and read.tzinfo is timezone.utc
