"""The evidence a rotation reads before deciding (keyops.rotate.lookback), end to end on the
emulator with the evidence handed in: who still reads the superseded version stops the
regenerate of its key, a key caller no version accounts for is named, a when-moved revoke goes
once everyone moved, and a superseded version that is gone leaves nothing to reason about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keyops.rotate import Action, RotationRecord, rotate_account
from keyops.rotate.moved import ConsumerCheck
from keyops.targets import Target
from keyops.usedby import EvidenceView
from tests.rotate.conftest import Rig, options
from tests.rotate.runner import WEU
from tests.support.evidence import Caller, HandedEvidence, Reader, evidence

SECRET = f"{WEU}-api-key"
APP = "11111111-0000-0000-0000-000000000001"
JOB = "11111111-0000-0000-0000-000000000002"
DUE = timedelta(days=30)


def _rotated_once(rig: Rig, **extra: object) -> tuple[str, str]:
    """A first rotation: the latest version holds Key2 and supersedes the one holding Key1
    (still live). Returns (previous, current) version ids."""
    previous = rig.latest(SECRET).version
    first = rotate_account(
        rig.target(WEU), rig.services, options(force=True, confirm_breaking_consumers=True, **extra)
    )
    assert (first.action, first.slot) == (Action.ROTATED, "Key2"), first.reason
    return previous, rig.latest(SECRET).version


def _kv_now(rig: Rig) -> datetime:
    now = rig.services.vault(rig.vault_url).clock.now()
    assert now is not None
    return now


def _rotate_with(rig: Rig, ev: EvidenceView, **extra: object) -> RotationRecord:
    check = ConsumerCheck(HandedEvidence(ev))
    return rotate_account(
        rig.target(WEU, rotate_after=DUE), rig.services, options(consumers=check, **extra)
    )


@dataclass
class _Asked(HandedEvidence):
    """Hands out the evidence and notes how far back each read asked."""

    lookbacks: list[timedelta] = field(default_factory=list)

    def evidence(self, target: Target, lookback: timedelta, now: datetime) -> EvidenceView:
        self.lookbacks.append(lookback)
        return super().evidence(target, lookback, now)


def _key_caller(ip: str, now: datetime) -> Caller:
    return Caller("key", ip, 40, now - timedelta(days=3), now - timedelta(minutes=30))


def test_a_reader_of_the_superseded_version_stops_the_regenerate_of_its_key(rig: Rig) -> None:
    previous, current = _rotated_once(rig)
    rig.backdate(SECRET, "-40d")  # due: the next rotation regenerates Key1, the previous key
    now = _kv_now(rig)
    ev = evidence(
        now,
        (
            Reader(JOB, "10.0.0.9", previous, now - timedelta(hours=5)),
            Reader(APP, "10.0.0.4", current, now - timedelta(hours=1)),
        ),
    )
    seq = rig.emu.last_seq
    record = _rotate_with(rig, ev)
    assert (record.action, record.reason_code) == (Action.REFUSED, "key-in-use"), record.reason
    assert f"regenerating Key1 breaks {JOB} at 10.0.0.9 (read 5h" in record.reason
    assert APP not in record.reason
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_no_one_holds_a_superseded_key_that_is_already_gone(rig: Rig) -> None:
    previous, _ = _rotated_once(rig)
    rig.backdate(SECRET, "-40d")
    target = rig.target(WEU)
    rig.services.accounts(target.account.subscription_id).regenerate_key(target.resource_id, "Key1")
    now = _kv_now(rig)
    ev = evidence(now, (Reader(JOB, "10.0.0.9", previous, now - timedelta(hours=5)),))
    record = _rotate_with(rig, ev)
    # The superseded version's key is in no slot now: reading it breaks no one any more.
    assert (record.action, record.slot) == (Action.ROTATED, "Key1"), record.reason


def test_a_key_caller_no_reader_accounts_for_is_named_in_a_warning(rig: Rig) -> None:
    _, current = _rotated_once(rig)
    rig.backdate(SECRET, "-40d")
    now = _kv_now(rig)
    ev = evidence(
        now,
        (
            Reader(APP, "10.0.0.4", current, now - timedelta(hours=1)),
            # Other versions, sorting before and after the current id: no reader of it there.
            Reader(JOB, "192.0.2.9", "0" * 32, now - timedelta(hours=1)),
            Reader(JOB, "192.0.2.10", "f" * 32 + "z", now - timedelta(hours=1)),
        ),
        (
            _key_caller("10.0.0.4", now),
            _key_caller("192.0.2.7", now),
            _key_caller("192.0.2.9", now),
            _key_caller("192.0.2.10", now),
        ),
    )
    record = _rotate_with(rig, ev)
    assert record.action is Action.ROTATED, record.reason
    (warning,) = [w for w in record.warnings if "key caller" in w]
    # Each caller named once, in the evidence's order ("last 30m ago" on Key Vault's clock).
    named = warning.split(" if that is the key they hold")[0]
    assert named.startswith("regenerating Key1 breaks a key caller at 192.0.2.7 (40 key calls")
    assert named.count("a key caller at ") == 3 and ", a key caller at 192.0.2.9 (40 key" in named
    assert ", a key caller at 192.0.2.10 (40 key" in named
    assert "10.0.0.4" not in warning


def test_a_when_moved_revoke_goes_once_every_reader_moved(rig: Rig) -> None:
    start = _kv_now(rig) if rig.latest(SECRET) else None
    assert start is not None
    reader = _Asked(evidence(start))
    _, current = _rotated_once(rig, revoke_when_moved=True, consumers=ConsumerCheck(reader))
    tags = rig.latest(SECRET).tags
    # By default the logs are read 8 days back, and the revoke waits up to 7 days.
    assert tags["RevokePrevious"] == "when-moved" and set(reader.lookbacks) == {timedelta(days=8)}
    stored = datetime.strptime(tags["RotatedAt"], "%Y-%m-%dT%H:%M:%SZ")
    assert tags["RevokeDeadline"] == (stored + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    now = _kv_now(rig)
    ev = evidence(now, (Reader(APP, "10.0.0.4", current, now),), delay=timedelta(0))
    record = _rotate_with(rig, ev, revoke_when_moved=True)
    assert (record.action, record.reason_code) == (Action.REVOKED, "revoke-moved"), record.reason
    assert record.regenerated == ["Key1"]


def test_a_superseded_version_that_is_gone_leaves_nothing_to_reason_about(rig: Rig) -> None:
    _rotated_once(rig)
    rig.backdate(SECRET, "-40d")
    latest = rig.latest(SECRET)
    purged = "0" * 32
    vault = rig.services.vault(rig.vault_url)
    vault.update_tags(SECRET, latest.version, {**latest.tags, "Supersedes": purged})
    now = _kv_now(rig)
    ev = evidence(now, (Reader(JOB, "10.0.0.9", purged, now - timedelta(hours=5)),))
    record = _rotate_with(rig, ev)
    assert (record.action, record.slot) == (Action.ROTATED, "Key1"), record.reason


def test_a_first_store_reads_the_evidence_without_a_version_to_compare(rig: Rig) -> None:
    now = _kv_now(rig) if rig.latest(SECRET) else None
    assert now is not None
    ev = evidence(now, (), (_key_caller("192.0.2.7", now),))
    check = ConsumerCheck(HandedEvidence(ev))
    record = rotate_account(
        rig.target("contoso-openai-eus"), rig.services, options(consumers=check)
    )
    assert (record.action, record.slot) == (Action.ADOPTED, "Key1"), record.reason
