"""``--revoke-previous when-moved`` verdicts at their boundaries (keyops.rotate.moved): a read
exactly at the store counts as moved, the grace period ends exactly at ``stored + grace``, logs
reaching exactly to the store are enough; and each verdict's line, figure by figure."""

from __future__ import annotations

from datetime import timedelta

from keyops.rotate.moved import UNPROVABLE, holders_of, revoke_verdict
from tests.rotate.test_when_moved import APP, GRACE, JOB, NOW, STORED, V
from tests.support.evidence import Caller, Reader, evidence

SECOND = timedelta(seconds=1)


def _caller(ip: str) -> Caller:
    return Caller("key", ip, 40, NOW - timedelta(days=7), NOW - timedelta(minutes=30))


def test_a_read_of_the_current_version_exactly_at_the_store_counts_as_moved() -> None:
    at_store = evidence(NOW, (Reader(APP, "10.0.0.4", "v1", STORED),), (_caller("10.0.0.4"),))
    assert revoke_verdict(at_store, V, GRACE, NOW).ready
    before = evidence(
        NOW, (Reader(APP, "10.0.0.4", "v1", STORED - SECOND),), (_caller("10.0.0.4"),)
    )
    verdict = revoke_verdict(before, V, GRACE, NOW)
    assert not verdict.ready
    assert verdict.lagging == (
        "a key caller at 10.0.0.4 (40 key calls, last 30m ago; no reader there moved)",
    )
    assert verdict.reason == f"still on the previous key: {verdict.lagging[0]}; {UNPROVABLE}"


def test_every_lagging_reader_and_caller_is_named_in_order() -> None:
    ev = evidence(
        NOW,
        (
            Reader(JOB, "10.0.0.9", "v0", NOW - timedelta(hours=5)),
            Reader(APP, None, "v0", NOW - timedelta(days=3), display="billing-api"),
            Reader(APP, "10.0.0.4", "v1", NOW - timedelta(hours=1)),
        ),
        (_caller("10.0.0.4"), _caller("192.0.2.7"), Caller("aad", "192.0.2.8", 3, NOW, NOW)),
    )
    assert revoke_verdict(ev, V, GRACE, NOW).lagging == (
        f"{JOB} at 10.0.0.9 (read version v0 5h ago)",
        "billing-api (read version v0 3d ago)",
        "a key caller at 192.0.2.7 (40 key calls, last 30m ago; no reader there moved)",
    )


def test_logs_reaching_exactly_to_the_store_are_enough() -> None:
    reader = (Reader(APP, "10.0.0.4", "v1", NOW - timedelta(hours=1)),)
    exactly = evidence(NOW, reader, delay=NOW - STORED)
    assert revoke_verdict(exactly, V, GRACE, NOW).ready
    short = evidence(NOW, reader, delay=NOW - STORED + SECOND)
    verdict = revoke_verdict(short, V, GRACE, NOW)
    assert (verdict.ready, verdict.lagging) == (False, ())
    assert verdict.reason == (
        "the logs reach only to 2026-06-01 09:59:59Z (ingestion delay), before version v1 was "
        "stored: reads since are not visible yet"
    )


def test_incomplete_logs_block_until_exactly_the_end_of_the_grace_period() -> None:
    reader = (Reader(APP, "10.0.0.4", "v1", NOW - timedelta(hours=1)),)
    gap = "no diagnostic setting on kv"
    fix = f"{gap} (fix: enable the diagnostic setting)"
    end = STORED + GRACE
    inside = revoke_verdict(evidence(end, reader, gap=gap), V, GRACE, end - SECOND)
    assert (inside.ready, inside.lagging) == (False, ())
    assert inside.reason == f"inside the grace period a revoke needs complete logs, and {fix}"
    at_end = revoke_verdict(evidence(end, reader, gap=gap), V, GRACE, end)
    assert at_end.ready
    assert at_end.reason == (
        f"past the grace period; the logs are incomplete ({fix}) and show no one lagging; "
        f"{UNPROVABLE}"
    )


def test_a_ready_verdict_counts_the_readers_of_the_current_version() -> None:
    ev = evidence(
        NOW,
        (
            Reader(APP, "10.0.0.4", "v1", NOW - timedelta(hours=1)),
            Reader(JOB, "10.0.0.9", "v1", NOW - timedelta(minutes=5)),
            Reader(JOB, "10.0.0.10", "v-other", NOW - timedelta(minutes=5)),
        ),
    )
    verdict = revoke_verdict(ev, V, GRACE, NOW)
    assert verdict == type(verdict)(
        True, (), f"every reader seen (2) reads version v1; {UNPROVABLE}"
    )


def test_the_holders_of_a_version_are_its_readers_only() -> None:
    ev = evidence(
        NOW,
        (
            Reader(APP, "10.0.0.4", "v0", NOW - timedelta(hours=1)),
            Reader(JOB, "10.0.0.9", "v1", NOW - timedelta(hours=2)),
            Reader(None, "10.0.0.5", "v0", NOW - timedelta(days=2)),
        ),
    )
    assert holders_of(ev, "v0", NOW) == [
        f"{APP} at 10.0.0.4 (read 1h ago)",
        "an unknown identity at 10.0.0.5 (read 2d ago)",
    ]


def test_only_readers_of_the_current_version_itself_have_moved() -> None:
    """Versions are ids, not an order: readers of a version sorting after the current one
    ("v2") or before it ("v-other") have not moved, and a key caller at their IP still lags.
    The ids are built at run time, as the logs' parser and the vault each make their own."""
    current = "".join(["v", "1"])
    versions = type(V)(previous=V.previous, current=current, stored_at=STORED)
    ev = evidence(
        NOW,
        (
            Reader(APP, "10.0.0.4", "v1", NOW - timedelta(hours=1)),
            Reader(JOB, "10.0.0.9", "v2", NOW - timedelta(minutes=5)),
            Reader(JOB, "10.0.0.10", "v-other", NOW - timedelta(minutes=5)),
        ),
        (_caller("10.0.0.9"), _caller("10.0.0.10")),
    )
    verdict = revoke_verdict(ev, versions, GRACE, NOW)
    assert verdict.lagging == (
        "a key caller at 10.0.0.9 (40 key calls, last 30m ago; no reader there moved)",
        "a key caller at 10.0.0.10 (40 key calls, last 30m ago; no reader there moved)",
    )
    clean = evidence(NOW, ev.readers)
    assert revoke_verdict(clean, versions, GRACE, NOW).reason.startswith(
        "every reader seen (1) reads version v1"
    )
