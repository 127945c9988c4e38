"""Pins of the lease's figures and edges, with keyops' vault client against the emulator.

Key Vault's clock is what the lease measures against (the ``Date`` of its latest answer, plus the
time since). Where a test needs it at an exact instant, the vault client's clock is a
:class:`FrozenClock` (a ServerClock whose reading the test sets), while the emulator still stamps
every version; version times are set through the emulator's admin API. Nobody sleeps.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from keyops.azure.serverclock import ServerClock
from keyops.azure.vault import SecretVersion, VaultClient
from keyops.errors import InputError
from keyops.rotate.freshness import FRESH_FOR
from keyops.rotate.lease import (
    BREAK_SETTLE,
    CLAIM_TAG,
    HOLDER_TAG,
    LEASE_CONTENT_TYPE,
    TTL_TAG,
    UNTIL_TAG,
    Lease,
    LeaseHeldError,
    LeaseLostError,
    lease_secret_name,
)
from keyops.secret import SecretValue
from keyops.targets import Target
from tests.rotate.conftest import Rig

WEU = "contoso-aiservices-weu"
TTL = timedelta(minutes=10)


class FrozenClock(ServerClock):
    """Key Vault's time as the runner reads it, held at ``at`` until the test moves it."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime | None:
        return self.at


def frozen(rig: Rig) -> tuple[VaultClient, FrozenClock]:
    """The rig's vault client with its clock frozen at the emulator's current whole second."""
    vault = rig.services.vault(rig.vault_url)
    now = int(rig.emu.admin("GET", "clock")["now"])
    clock = FrozenClock(datetime.fromtimestamp(now, tz=timezone.utc))
    vault.clock = clock
    return vault, clock


def lease(vault: VaultClient, target: Target, holder: str = "me", ttl: timedelta = TTL) -> Lease:
    return Lease(vault, target.resource_id, target.account.name, holder, ttl)


def rival_claim(
    rig: Rig, vault: VaultClient, target: Target, created: int, **tags: str
) -> SecretVersion:
    """Another runner's claim (its own tags), stamped ``created`` (Unix seconds) by the emulator."""
    name = lease_secret_name(target.resource_id, target.account.name)
    written = vault.set_secret(
        name, SecretValue("another-runners-token"), content_type=LEASE_CONTENT_TYPE, tags=tags
    )
    set_times(rig, name, written.version, created=created)
    return written


def set_times(rig: Rig, name: str, version: str, **times: int) -> None:
    rig.emu.admin("POST", f"vaults/kv-keyops-prod/secrets/{name}/versions/{version}", times)


def versions(vault: VaultClient, lease_: Lease) -> dict[str, SecretVersion]:
    return {v.version: v for v in vault.list_versions(lease_.name)}


def ts(when: datetime) -> int:
    return int(when.timestamp())


def next_second(rig: Rig) -> int:
    """The emulator's next whole second (Unix seconds)."""
    return int(float(rig.emu.admin("GET", "clock")["now"])) + 1


def enter(rig: Rig, second: int) -> bool:
    """Move the emulator's clock to just inside ``second``; False if it is already past it."""
    now = float(rig.emu.admin("GET", "clock")["now"])
    if now >= second:
        return False
    rig.emu.admin("POST", "clock", {"advance": second + 0.01 - now})
    return True


# --- the name and the TTL ----------------------------------------------------------------------


def test_the_lease_secret_is_named_by_account_name_and_a_hash_of_its_id() -> None:
    """Every keyops version must find every other's lease: the name is part of the protocol."""
    account_id = "/subscriptions/S/resourceGroups/RG/providers/X/accounts/" + "n" * 100
    digest = hashlib.sha256(account_id.lower().encode("utf-8")).hexdigest()
    name = lease_secret_name(account_id, "n" * 100)
    assert name == f"keyops-lease-{'n' * 90}-{digest[:10]}"
    assert len(name) == 114


@pytest.mark.parametrize(
    ("ttl", "accepted"),
    [
        (timedelta(seconds=59), False),
        (timedelta(seconds=60), True),
        (timedelta(seconds=61), True),
        (timedelta(hours=24) - timedelta(seconds=1), True),
        (timedelta(hours=24), True),
        (timedelta(hours=24, seconds=1), False),
    ],
)
def test_the_ttl_is_taken_from_one_minute_to_a_day_inclusive(
    ttl: timedelta, accepted: bool
) -> None:
    if accepted:
        assert Lease(None, "/a", "a", "me", ttl).ttl == ttl  # type: ignore[arg-type]
    else:
        with pytest.raises(InputError, match="1m to 24h"):
            Lease(None, "/a", "a", "me", ttl)  # type: ignore[arg-type]


def test_before_any_claim_no_time_is_left(rig: Rig) -> None:
    target = rig.target(WEU)
    assert lease(rig.services.vault(rig.vault_url), target).remaining() == timedelta(0)


# --- what a claim writes -----------------------------------------------------------------------


def test_a_claim_carries_its_holder_account_ttl_id_and_end_on_key_vaults_clock(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target, "ci@runner-3 pid 7")
    mine.acquire()
    (claim,) = versions(vault, mine).values()
    assert claim.enabled and claim.content_type == LEASE_CONTENT_TYPE
    assert claim.tags == {
        HOLDER_TAG: "ci@runner-3 pid 7",
        "ProviderAddress": target.resource_id,
        TTL_TAG: "600",
        CLAIM_TAG: mine.claim_id,
        UNTIL_TAG: str(ts(clock.at) + 600),
    }
    assert mine.remaining() == TTL
    mine.release()
    assert not any(v.enabled for v in versions(vault, mine).values())


def test_a_claim_is_a_random_token_and_a_64_bit_claim_id_new_for_each_run(rig: Rig) -> None:
    """What a claim sends: a 128-bit random value (never a key) and a 64-bit claim id, which
    other runners, of any keyops version, compare with theirs."""
    target = rig.target(WEU)
    vault, _clock = frozen(rig)
    first, second = lease(vault, target), lease(vault, target)
    assert first.claim_id != second.claim_id
    first.acquire()
    latest = vault.get_latest(first.name)
    assert latest is not None and latest.value is not None
    assert re.fullmatch("[0-9a-f]{32}", latest.value.reveal())
    assert re.fullmatch("[0-9a-f]{16}", latest.tags[CLAIM_TAG])
    assert latest.tags[CLAIM_TAG] == first.claim_id
    first.release()


# --- when another runner's claim ends -----------------------------------------------------------


@pytest.mark.parametrize(("offset", "held"), [(-1, True), (0, False), (1, False)])
def test_a_rival_claim_holds_until_exactly_its_end(rig: Rig, offset: int, held: bool) -> None:
    """A claim whose end is Key Vault's now has ended: the next runner takes the lease."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    rival_claim(rig, vault, target, now - 60, **{HOLDER_TAG: "rival", UNTIL_TAG: str(now - offset)})
    mine = lease(vault, target)
    if held:
        with pytest.raises(LeaseHeldError, match=r"another rotation is in progress \(rival"):
            mine.acquire()
    else:
        mine.acquire()
        assert mine.remaining() == TTL
    mine.release()


@pytest.mark.parametrize(("age", "held"), [(119, True), (120, False)])
def test_a_claim_without_an_end_tag_lasts_its_ttl_from_its_creation(
    rig: Rig, age: int, held: bool
) -> None:
    """A claim written without ``LeaseUntil`` (an older writer) ends at created + LeaseSeconds."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    rival_claim(rig, vault, target, ts(clock.at) - age, **{HOLDER_TAG: "old", TTL_TAG: "120"})
    mine = lease(vault, target)
    if held:
        with pytest.raises(LeaseHeldError):
            mine.acquire()
    else:
        mine.acquire()
    mine.release()


@pytest.mark.parametrize(
    ("tags", "lasts"),
    [
        # An unreadable end: created + LeaseSeconds.
        ({UNTIL_TAG: "soon", TTL_TAG: "120"}, 120),
        ({UNTIL_TAG: "1e400", TTL_TAG: "120"}, 120),
        # No readable end or TTL: created + this run's own TTL.
        ({TTL_TAG: "forever"}, 600),
        ({TTL_TAG: "1e400"}, 600),
        ({}, 600),
    ],
)
def test_a_claim_with_unreadable_tags_lasts_what_can_be_read(
    rig: Rig, tags: dict[str, str], lasts: int
) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    rival_claim(rig, vault, target, now - lasts + 1, **tags)
    with pytest.raises(LeaseHeldError, match="another run"):
        lease(vault, target).acquire()
    clock.at += timedelta(seconds=1)
    taken = lease(vault, target)
    taken.acquire()
    taken.release()


def test_a_refusal_names_the_holder_when_it_claimed_and_when_its_claim_ends(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    rival_claim(
        rig, vault, target, now - 90, **{HOLDER_TAG: "ops@jump pid 9", UNTIL_TAG: str(now + 30)}
    )
    mine = lease(vault, target)
    with pytest.raises(LeaseHeldError) as refused:
        mine.acquire()
    since = datetime.fromtimestamp(now - 90, tz=timezone.utc)
    ends = datetime.fromtimestamp(now + 30, tz=timezone.utc)
    assert str(refused.value) == (
        f"account {WEU}: another rotation is in progress (ops@jump pid 9, since "
        f"{since:%Y-%m-%d %H:%M:%SZ}, lease {mine.name} ends {ends:%Y-%m-%d %H:%M:%SZ}); "
        "nothing changed"
    )


# --- this run's own claim: its end, its renewal, the time a write needs --------------------------


def test_a_claim_has_ended_at_exactly_its_end(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    clock.at += TTL - timedelta(seconds=1)
    mine.fence(timedelta(0))  # one second left: renewed, still held
    mine.release()
    ended = lease(vault, target)
    ended.acquire()
    clock.at += TTL
    with pytest.raises(LeaseLostError, match=r"ended at .* before its next write"):
        ended.fence(timedelta(0))


@pytest.mark.parametrize(("left", "renewed"), [(301, False), (300, False), (299, True)])
def test_a_claim_is_renewed_when_less_than_half_its_ttl_is_left(
    rig: Rig, left: int, renewed: bool
) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    until = ts(clock.at) + 600
    clock.at += TTL - timedelta(seconds=left)
    seq = rig.emu.last_seq
    mine.fence(timedelta(0))
    updates = rig.calls(seq, "UpdateSecret")
    assert len(updates) == (1 if renewed else 0)
    (claim,) = versions(vault, mine).values()
    assert claim.tags[UNTIL_TAG] == str(ts(clock.at) + 600 if renewed else until)
    assert mine.remaining() == (TTL if renewed else timedelta(seconds=left))
    mine.release()


@pytest.mark.parametrize(("needed", "fenced"), [(399, False), (400, False), (401, True)])
def test_a_write_that_needs_more_than_is_left_is_fenced(
    rig: Rig, needed: int, fenced: bool
) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    clock.at += timedelta(seconds=200)  # 400 s left: no renewal
    if not fenced:
        mine.fence(timedelta(seconds=needed))
        mine.release()
        return
    with pytest.raises(LeaseLostError) as stopped:
        mine.fence(timedelta(seconds=needed))
    assert f"has 6m40s left, less than the 6m{needed - 360}s its next write" in str(stopped.value)
    assert not any(v.enabled for v in versions(vault, mine).values())  # released


def test_a_renewal_that_lands_after_the_claim_ended_does_not_count(rig: Rig) -> None:
    """A runner whose clock reading is behind: its claim looks alive to it, but Key Vault stamps
    the renewal after the claim's end, so a rival may hold the lease: it stops, released."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    (claim,) = versions(vault, mine).values()
    past = ts(clock.at) - 5  # the claim ended 5 s ago on Key Vault's clock
    vault.update_tags(mine.name, claim.version, {**claim.tags, UNTIL_TAG: str(past)})
    clock.at = datetime.fromtimestamp(past - 1, tz=timezone.utc)
    with pytest.raises(LeaseLostError, match="before its renewal landed"):
        mine.fence(timedelta(0))
    assert not any(v.enabled for v in versions(vault, mine).values())


# --- ties --------------------------------------------------------------------------------------


def test_a_same_second_claim_surfacing_after_the_first_look_does_not_overtake(rig: Rig) -> None:
    """Once held, only a strictly earlier claim overtakes this run (one in flight at its first
    look); a claim stamped in the same second as its own does not, nor does a later one."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    (claim,) = versions(vault, mine).values()
    assert claim.created is not None
    end = {UNTIL_TAG: str(ts(clock.at) + 600)}
    rival_claim(rig, vault, target, ts(claim.created), **end)
    rival_claim(rig, vault, target, ts(claim.created) + 1, **end)
    mine.fence(timedelta(0))
    clock.at += timedelta(seconds=301)  # and through a renewal, which looks again
    mine.fence(timedelta(0))
    assert mine.remaining() == TTL
    rival_claim(rig, vault, target, ts(claim.created) - 1, **{HOLDER_TAG: "earlier", **end})
    with pytest.raises(LeaseLostError, match=r"an earlier claim on lease .* \(earlier\) surfaced"):
        mine.fence(timedelta(0))


def test_a_claim_tied_with_a_rivals_at_the_first_look_withdraws(rig: Rig) -> None:
    """Key Vault stamps whole seconds: a rival claim stamped in the same second as this run's
    makes it withdraw (the rival does too), so two runs never both hold the lease. The rival is
    stamped with the emulator's next second and the claim is sent just inside it; a claim that
    lands a second later (the machine was slow) proves nothing and is tried again."""
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    for _ in range(5):
        second = next_second(rig)
        rival = rival_claim(rig, vault, target, second, **{UNTIL_TAG: str(second + 600)})
        mine = lease(vault, target)
        if enter(rig, second):  # the claim is sent at once, early in the rival's second
            try:
                mine.acquire()
                refused = False
            except LeaseHeldError:
                refused = True
            listed = versions(vault, mine)
            own = next(v for v in listed.values() if v.tags.get(CLAIM_TAG) == mine.claim_id)
            if own.created is not None and ts(own.created) == second:
                assert refused and not own.enabled
                return
            mine.release()
        vault.set_enabled(mine.name, rival.version, False)
    pytest.fail("no claim landed in its rival's second in five tries (machine too slow)")


# --- breaking a lease --------------------------------------------------------------------------


def test_breaking_an_ended_claim_withdraws_it_without_waiting(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    ended = rival_claim(rig, vault, target, now - 700, **{HOLDER_TAG: "gone", UNTIL_TAG: str(now)})
    breaker = lease(vault, target, "breaker")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="keyops.rotate.lease"):
        assert breaker.break_live() == ["gone"]
    assert time.monotonic() - started < BREAK_SETTLE
    assert f"account {WEU}: broke the lease held by gone" in caplog.messages
    assert versions(vault, breaker)[ended.version].enabled is False


def test_breaking_a_claim_that_ends_a_second_later_waits(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    rival_claim(rig, vault, target, now - 599, **{HOLDER_TAG: "alive", UNTIL_TAG: str(now + 1)})
    started = time.monotonic()
    assert lease(vault, target, "breaker").break_live() == ["alive"]
    assert time.monotonic() - started >= BREAK_SETTLE >= 2 * FRESH_FOR  # twice a fence's trust


def test_breaking_with_nothing_held_writes_nothing(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, _ = frozen(rig)
    held = lease(vault, target, "done")
    held.acquire()
    held.release()
    seq = rig.emu.last_seq
    assert lease(vault, target, "breaker").break_live() == []
    assert rig.writes_since(seq) == []


# --- release -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("refusals", "released"), [(3, True), (4, False)])
def test_release_is_tried_four_times_then_left_to_the_ttl(
    rig: Rig, caplog: pytest.LogCaptureFixture, refusals: int, released: bool
) -> None:
    """Each 409 fails one attempt (azure-core does not retry it): the fourth attempt is the
    last; after it the claim is left to end by its TTL, and the run says so."""
    target = rig.target(WEU)
    vault, _ = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    rule = {"operation": "UpdateSecret", "match": "keyops-lease", "kind": "status"}
    rig.emu.fault({**rule, "status": 409, "times": refusals})
    seq = rig.emu.last_seq
    with caplog.at_level(logging.WARNING, logger="keyops.rotate.lease"):
        mine.release()
    attempts = rig.calls(seq, "UpdateSecret")
    assert len(attempts) == (refusals + 1 if released else 4)
    (claim,) = versions(vault, mine).values()
    assert claim.enabled is not released
    gave_up = [m for m in caplog.messages if m.startswith(f"could not release lease {mine.name}")]
    assert len(gave_up) == (0 if released else 1)
    if not released:
        assert "(it ends by its TTL)" in gave_up[0]


# --- which rival a refusal names -----------------------------------------------------------------


def test_a_refusal_names_the_earliest_of_several_earlier_claims(rig: Rig) -> None:
    """Claims are ordered by when Key Vault stamped them, not by their version ids: here the
    earliest claim has the larger id."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    end = {UNTIL_TAG: str(now + 600)}
    a = rival_claim(rig, vault, target, now - 20, **{HOLDER_TAG: "a", **end})
    b = rival_claim(rig, vault, target, now - 20, **{HOLDER_TAG: "b", **end})
    earliest, later = (a, b) if a.version > b.version else (b, a)
    name = lease_secret_name(target.resource_id, target.account.name)
    set_times(rig, name, earliest.version, created=now - 30)
    with pytest.raises(LeaseHeldError) as refused:
        lease(vault, target).acquire()
    assert f"in progress ({earliest.tags[HOLDER_TAG]}, since " in str(refused.value)
    assert later.version < earliest.version


# --- claims told apart by their id only -----------------------------------------------------------


@pytest.mark.parametrize("rival_id", ["0000000000000001", "fffffffffffffffe"])
def test_only_this_runs_claim_id_is_its_own(rig: Rig, rival_id: str) -> None:
    """A rival's claim (its id sorting before or after this run's) is never taken for this
    run's: an earlier one refuses it; a later one with a far end does not keep this run's ended
    claim alive; and this run's release leaves the rival's claim alone."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    earlier = rival_claim(
        rig, vault, target, now - 5, **{CLAIM_TAG: rival_id, UNTIL_TAG: str(now + 60)}
    )
    with pytest.raises(LeaseHeldError):
        Lease(vault, target.resource_id, WEU, "me", TTL, claim_id="8000000000000000").acquire()
    vault.set_enabled(earlier.name, earlier.version, False)
    mine = Lease(vault, target.resource_id, WEU, "me", TTL, claim_id="8000000000000000")
    mine.acquire()
    (own,) = (v for v in versions(vault, mine).values() if v.enabled)
    assert own.created is not None
    later = rival_claim(
        rig, vault, target, ts(own.created) + 1, **{CLAIM_TAG: rival_id, UNTIL_TAG: str(now + 7200)}
    )
    clock.at += TTL
    with pytest.raises(LeaseLostError, match="ended at"):
        mine.fence(timedelta(0))
    assert versions(vault, mine)[later.version].enabled  # released: its own claim only


def test_a_claim_past_its_end_has_ended(rig: Rig) -> None:
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    clock.at += TTL + timedelta(seconds=1)
    with pytest.raises(LeaseLostError, match="ended at"):
        mine.fence(timedelta(0))


def test_a_rival_stamped_after_this_runs_claim_does_not_hold_it_off(rig: Rig) -> None:
    """A claim Key Vault stamped later than this run's (here: a second later) is the rival's
    to withdraw at its own first look; this run holds the lease."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    now = ts(clock.at)
    rival_claim(rig, vault, target, now + 5, **{UNTIL_TAG: str(now + 600)})
    mine = lease(vault, target)
    mine.acquire()
    assert mine.remaining() == TTL
    mine.release()


def test_a_renewal_stamped_at_exactly_the_claims_end_does_not_count(rig: Rig) -> None:
    """The claim's end is set to Key Vault's next second and the fence is sent just inside it;
    the runner's reading lags a second behind, so its fence renews, and Key Vault stamps the
    renewal in that very second: the claim had ended when the renewal landed. A renewal stamped
    a second later (the machine was slow) proves nothing and is tried again."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    for _ in range(5):
        mine = lease(vault, target)
        mine.acquire()
        (claim,) = (v for v in versions(vault, mine).values() if v.enabled)
        second = next_second(rig)
        vault.update_tags(mine.name, claim.version, {**claim.tags, UNTIL_TAG: str(second)})
        clock.at = datetime.fromtimestamp(second - 1, tz=timezone.utc)
        if enter(rig, second):  # the fence is sent at once, early in the claim's last second
            try:
                mine.fence(timedelta(0))
                lost = False
            except LeaseLostError:
                lost = True
            renewed = versions(vault, mine)[claim.version]
            assert renewed.updated is not None
            if ts(renewed.updated) == second:
                assert lost and not renewed.enabled
                return
        mine.release()
    pytest.fail("no renewal landed in the claim's last second in five tries (machine too slow)")


def test_a_claim_made_without_a_ttl_lasts_15_minutes(rig: Rig) -> None:
    """The README's default ``--lease-ttl 15m``: a library caller who gives none gets it too."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = Lease(vault, target.resource_id, target.account.name, "me")
    mine.acquire()
    (claim,) = versions(vault, mine).values()
    assert (claim.tags[TTL_TAG], claim.tags[UNTIL_TAG]) == ("900", str(ts(clock.at) + 900))
    assert mine.remaining() == timedelta(minutes=15)
    mine.release()


def test_a_lease_released_once_is_not_released_again(rig: Rig) -> None:
    """Every path out of a run releases (the protocol's finally after a fence that released):
    the second release sends nothing."""
    target = rig.target(WEU)
    vault, _ = frozen(rig)
    mine = lease(vault, target)
    mine.acquire()
    mine.release()
    seq = rig.emu.last_seq
    mine.release()
    assert rig.emu.operations_since(seq) == []


def resent_claim(rig: Rig, target: Target) -> tuple[VaultClient, FrozenClock, Lease]:
    """A lease acquired on a frozen clock whose claim PUT lost its answer and was sent again:
    two versions carry its claim."""
    vault, clock = frozen(rig)
    vault.list_versions("warm-up")  # its challenge first: the claim PUT is the next request
    rig.emu.fault(
        {"operation": "SetSecret", "kind": "drop_after", "match": "keyops-lease", "times": 1}
    )
    mine = lease(vault, target)
    mine.acquire()
    return vault, clock, mine


def test_a_claim_sent_twice_lasts_until_its_renewed_end(rig: Rig) -> None:
    """The claim PUT's answer was lost and azure-core sent it again: two versions carry this
    run's claim, and a renewal moves the end of one. The lease lasts until the later end."""
    target = rig.target(WEU)
    vault, clock, mine = resent_claim(rig, target)
    assert len(versions(vault, mine)) == 2
    clock.at += timedelta(seconds=301)  # less than half the TTL left: the next fence renews
    mine.fence(timedelta(0))
    assert mine.remaining() == TTL
    clock.at += timedelta(seconds=300)  # past the first end, well before the renewed one
    mine.fence(timedelta(0))
    mine.release()


def test_a_claim_sent_twice_is_as_old_as_its_first_copy(rig: Rig) -> None:
    """The two copies of a resent claim were stamped 2 s apart, and a rival's claim in between
    surfaces: this run's claim is the earlier, so the rival does not overtake it."""
    target = rig.target(WEU)
    vault, clock, mine = resent_claim(rig, target)
    first, second = sorted(versions(vault, mine))
    start = ts(clock.at)
    set_times(rig, mine.name, first, created=start)
    set_times(rig, mine.name, second, created=start + 2)
    rival_claim(rig, vault, target, start + 1, **{UNTIL_TAG: str(start + 600)})
    mine.fence(timedelta(0))  # not overtaken
    assert mine.remaining() == TTL
    mine.release()


def test_a_broken_lease_is_not_released_again(rig: Rig) -> None:
    """The run that broke this lease disabled its claim (both copies of a claim sent twice): the
    check that finds it so ends the run (fenced), and the release on the way out sends nothing,
    not even the listing a resent claim's release makes."""
    target = rig.target(WEU)
    vault, _, mine = resent_claim(rig, target)
    for claim in versions(vault, mine).values():
        vault.set_enabled(mine.name, claim.version, False)  # what --break-lease does to each
    with pytest.raises(LeaseLostError, match="was broken by another run"):
        mine.fence(timedelta(0))
    seq = rig.emu.last_seq
    mine.release()
    assert rig.emu.operations_since(seq) == []


def test_renewal_starts_below_half_the_ttl_rounded_to_the_microsecond(rig: Rig) -> None:
    """A library caller's TTL of 60.000003 s: half of it is 30.000002 s (timedelta rounds half
    to even), so 30.000001 s left renews the claim."""
    target = rig.target(WEU)
    vault, clock = frozen(rig)
    mine = lease(vault, target, ttl=timedelta(seconds=60, microseconds=3))
    mine.acquire()  # its end is a whole second: 60 s from now
    clock.at += timedelta(seconds=29, microseconds=999_999)
    assert mine.remaining() == timedelta(seconds=30, microseconds=1)
    seq = rig.emu.last_seq
    mine.fence(timedelta(0))
    assert len(rig.calls(seq, "UpdateSecret")) == 1  # renewed
    mine.release()
