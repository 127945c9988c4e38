"""``--revoke-previous when-moved`` and the evidence's grace guard, as decisions (no server):
who read which version and who called with a key, in; revoke, wait, refuse, out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from keyops.rotate.moved import UNPROVABLE, Versions, revoke_verdict
from keyops.rotate.plan import Policy, Step, decide
from keyops.rotate.tags import (
    REVOKE_DEADLINE_TAG,
    REVOKE_TAG,
    REVOKE_WHEN_MOVED,
    SUPERSEDES_TAG,
)
from tests.rotate.test_plan import K1, K2, state, version
from tests.support.evidence import Caller, Reader, evidence

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
STORED = NOW - timedelta(hours=2)
GRACE = timedelta(hours=24)
V = Versions(previous="v0", current="v1", stored_at=STORED)
APP = "11111111-0000-0000-0000-000000000001"
JOB = "11111111-0000-0000-0000-000000000002"


def read(oid: str, ip: str, version: str, ago: timedelta) -> Reader:
    return Reader(oid, ip, version, NOW - ago)


def key_calls(ip: str, last: timedelta, first: timedelta = timedelta(days=7)) -> Caller:
    return Caller("key", ip, 40, NOW - first, NOW - last)


def test_a_reader_still_on_the_previous_version_blocks_and_is_named() -> None:
    ev = evidence(
        NOW,
        (
            read(APP, "10.0.0.4", "v1", timedelta(hours=1)),
            read(JOB, "10.0.0.9", "v0", timedelta(hours=5)),
        ),
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert not verdict.ready
    assert verdict.lagging and JOB in verdict.lagging[0] and "10.0.0.9" in verdict.lagging[0]
    assert UNPROVABLE in verdict.reason


def test_everyone_moved_with_complete_logs_is_ready_inside_grace() -> None:
    ev = evidence(
        NOW,
        (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),),
        (key_calls("10.0.0.4", timedelta(minutes=30)),),
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert verdict.ready and not verdict.lagging
    assert UNPROVABLE in verdict.reason


def test_a_key_caller_where_no_reader_moved_blocks() -> None:
    """An app configured by hand with the key: it calls, it never reads the vault."""
    ev = evidence(
        NOW,
        (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),),
        (key_calls("192.0.2.7", timedelta(minutes=30)),),
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert not verdict.ready and "192.0.2.7" in verdict.reason


def test_a_weekly_key_caller_seen_days_ago_still_blocks() -> None:
    ev = evidence(
        NOW,
        (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),),
        (key_calls("198.51.100.3", timedelta(days=6), first=timedelta(days=6)),),
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert not verdict.ready and "198.51.100.3" in verdict.reason and "6d ago" in verdict.reason


def test_reads_inside_the_ingestion_delay_are_not_taken_as_moved() -> None:
    """Stored 5 minutes ago, logs 10 minutes late: nobody can be seen to have moved yet."""
    versions = replace(V, stored_at=NOW - timedelta(minutes=5))
    ev = evidence(NOW, ())
    verdict = revoke_verdict(ev, versions, GRACE, NOW)
    assert not verdict.ready and "ingestion delay" in verdict.reason


def test_incomplete_logs_never_revoke_inside_grace() -> None:
    ev = evidence(
        NOW, (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),), gap="kv: AuditEvent not enabled"
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert not verdict.ready and "AuditEvent not enabled" in verdict.reason
    later = revoke_verdict(ev, V, GRACE, STORED + GRACE + timedelta(minutes=1))
    assert later.ready and "past the grace period" in later.reason


def _pending(deadline: datetime | None = None) -> object:
    tags = {REVOKE_TAG: REVOKE_WHEN_MOVED, SUPERSEDES_TAG: "v0"}
    if deadline is not None:
        tags[REVOKE_DEADLINE_TAG] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
    return version(K2, timedelta(hours=2), **tags)


POLICY = Policy(rotate_after=timedelta(days=30), grace=GRACE, when_moved=True)


def test_a_ready_verdict_revokes_the_previous_slot() -> None:
    ev = evidence(NOW, (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),))
    s = state(_pending(), superseded_value=K1, moved=revoke_verdict(ev, V, GRACE, NOW))
    d = decide(s, POLICY, NOW)
    assert (d.step, d.code, d.slot) == (Step.REVOKE, "revoke-moved", "Key1")


def test_a_lagging_consumer_is_a_wait_with_a_warning_then_a_refusal_at_the_deadline() -> None:
    ev = evidence(NOW, (read(JOB, "10.0.0.9", "v0", timedelta(hours=5)),))
    moved = revoke_verdict(ev, V, GRACE, NOW)
    waiting = decide(
        state(_pending(NOW + timedelta(days=1)), superseded_value=K1, moved=moved), POLICY, NOW
    )
    assert (waiting.step, waiting.code) == (Step.SKIP, "revoke-waiting")
    assert waiting.warning is not None and JOB in waiting.warning
    late = decide(
        state(_pending(NOW - timedelta(minutes=1)), superseded_value=K1, moved=moved), POLICY, NOW
    )
    assert (late.step, late.code) == (Step.REFUSE, "revoke-lagging")
    assert JOB in late.reason and "--revoke-previous now" in late.reason


def test_a_previous_key_already_gone_is_not_revoked_again() -> None:
    """Someone regenerated the previous slot by hand: nothing is left to revoke."""
    ev = evidence(NOW, (read(APP, "10.0.0.4", "v1", timedelta(hours=1)),))
    moved = revoke_verdict(ev, V, GRACE, NOW)
    gone = state(_pending(), superseded_value=K1.__class__("c" * 32), moved=moved)
    assert decide(gone, POLICY, NOW).step is Step.SKIP


def test_without_the_mode_a_when_moved_tag_only_warns() -> None:
    d = decide(state(_pending(), superseded_value=K1), replace(POLICY, when_moved=False), NOW)
    assert d.step is Step.SKIP and d.warning is not None
    assert "--revoke-previous when-moved" in d.warning


def test_the_grace_guard_names_who_still_reads_the_key_and_refuses() -> None:
    old = version(K2, timedelta(days=40), **{SUPERSEDES_TAG: "v0"})
    s = state(old, superseded_value=K1, in_use_by=(f"{JOB} at 10.0.0.9 (read 3d ago)",))
    d = decide(s, POLICY, NOW)
    assert (d.step, d.code) == (Step.REFUSE, "key-in-use") and JOB in d.reason
    confirmed = decide(s, replace(POLICY, confirm_breaking=True), NOW)
    assert confirmed.step is Step.ROTATE
