"""A per-account lease that lives in Azure, so two runners cannot rotate one account at once.

The lease is a secret in the target vault (``keyops-lease-<account>-<hash>``). To take it, a run
writes a new version (its value a random token, never a key) tagged with its holder, a claim id
of its own and the time the claim ends, then lists the versions. Only *live* claims count:
enabled and not yet ended on Key Vault's clock.

A claim id names the run, not the version: a claim PUT whose answer was lost and that azure-core
sent again leaves two versions with one claim id, and both are this run's.

Key Vault stamps versions in whole seconds, so two claims can tie. The rules make a double
holder impossible without any waiting:

- first look (right after writing): the run holds the lease only if every other live claim is
  strictly *later* than its own; a tie, or an earlier claim, makes it withdraw and refuse.
- every later look (:meth:`Lease.fence`, before each write to the account or the secret): the
  run keeps the lease only while its own claim is enabled and unexpired and no other live claim
  is strictly *earlier* (one whose write was still in flight at the first look).

Time is Key Vault's, never this machine's: a claim's end is written in Key Vault's time, and
the remaining time is measured against the ``Date`` of Key Vault's latest answer, so a skewed
runner, or one paused while the clock passed its lease, sees that it lost. A run renews its claim
while it works (before each write, when less than half its TTL is left); a renewal that lands
after the claim had already ended does not count. A run that cannot finish its next write before
the claim ends stops before that write.

Release disables the run's versions (those its last look listed, or listed again when the claim
PUT was sent more than once), retried through throttling, server errors and dropped connections;
a crashed run's claim simply ends by its TTL and names its host, pid and start time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from keyops.azure.writeguard import guarded
from keyops.durations import format_duration
from keyops.errors import InputError, KeyopsError, RefusedError, ServiceError
from keyops.rotate.freshness import FRESH_FOR
from keyops.rotate.holder import default_holder
from keyops.secret import SecretValue

if TYPE_CHECKING:
    from keyops.azure.vault import SecretVersion, VaultClient

log = logging.getLogger(__name__)

LEASE_PREFIX = "keyops-lease-"
HOLDER_TAG = "Holder"
ACCOUNT_TAG = "ProviderAddress"
TTL_TAG = "LeaseSeconds"
CLAIM_TAG = "ClaimId"
#: When the claim ends, Unix seconds on Key Vault's clock (moved on by each renewal).
UNTIL_TAG = "LeaseUntil"
LEASE_CONTENT_TYPE = "application/x-keyops-lease"
DEFAULT_LEASE_TTL = timedelta(minutes=15)
MIN_LEASE_TTL = timedelta(minutes=1)
MAX_LEASE_TTL = timedelta(hours=24)
#: How long a run that broke a live claim waits before it reads: the broken holder's last fenced
#: write is sent within FRESH_FOR of its fence; twice that covers its transit.
BREAK_SETTLE = 2 * FRESH_FOR
#: Release attempts (each is idempotent: disabling a disabled version changes nothing).
RELEASE_ATTEMPTS = 4

__all__ = ["DEFAULT_LEASE_TTL", "Lease", "LeaseHeldError", "LeaseLostError", "default_holder"]


class LeaseHeldError(RefusedError):
    """Another run holds the account's lease."""


class LeaseLostError(KeyopsError):
    """This run's lease ended, was broken or was overtaken: it must not write (``fenced``)."""


def check_lease_ttl(ttl: timedelta) -> timedelta:
    """``ttl`` if it is between 1 minute and 24 hours, else an InputError saying so."""
    if not MIN_LEASE_TTL <= ttl <= MAX_LEASE_TTL:
        raise InputError(
            f"--lease-ttl {format_duration(ttl)} is out of range: give 1m to 24h "
            "(long enough for one account's rotation; a crashed run blocks others that long)"
        )
    return ttl


def lease_secret_name(account_id: str, account_name: str) -> str:
    """The lease secret's name for an account (valid Key Vault name, ≤127 characters)."""
    digest = hashlib.sha256(account_id.lower().encode("utf-8")).hexdigest()[:10]
    return f"{LEASE_PREFIX}{account_name[:90]}-{digest}"


def _ttl_of(version: SecretVersion, fallback: timedelta) -> timedelta:
    try:
        return timedelta(seconds=float(version.tags[TTL_TAG]))
    except (KeyError, ValueError, OverflowError):
        return fallback


def claim_end(version: SecretVersion, fallback_ttl: timedelta) -> datetime | None:
    """When a claim ends on Key Vault's clock (its ``LeaseUntil``, else created + TTL)."""
    try:
        return datetime.fromtimestamp(float(version.tags[UNTIL_TAG]), tz=timezone.utc)
    except (KeyError, ValueError, OverflowError, OSError):
        pass
    if version.created is None:
        return None
    return version.created + _ttl_of(version, fallback_ttl)


def _stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%SZ") if when else "?"


def _order(v: SecretVersion) -> tuple[float, str]:
    return (v.created.timestamp() if v.created else 0.0, v.version)


@dataclass
class Lease:
    """One run's claim on one account, in one vault."""

    vault: VaultClient
    account_id: str
    account_name: str
    holder: str
    ttl: timedelta = DEFAULT_LEASE_TTL
    version: SecretVersion | None = None
    claim_id: str = field(default_factory=lambda: secrets.token_hex(8))
    _until: datetime | None = None
    _released: bool = False
    #: The lease secret's versions as the latest look listed them (None: no look yet).
    _listing: list[SecretVersion] | None = None
    #: Whether the claim PUT was sent more than once (azure-core retried it).
    _resent: bool = False

    def __post_init__(self) -> None:
        check_lease_ttl(self.ttl)

    @property
    def name(self) -> str:
        """The lease secret's name."""
        return lease_secret_name(self.account_id, self.account_name)

    def _now(self) -> datetime:
        now = self.vault.clock.now()
        if now is None:  # no answer has come back yet: nothing to measure against
            raise ServiceError(f"lease {self.name}: Key Vault sent no Date header")
        return now

    def _live(self, v: SecretVersion, now: datetime) -> bool:
        end = claim_end(v, self.ttl)
        return v.enabled and end is not None and end > now

    def remaining(self) -> timedelta:
        """How long this run's claim still lasts, on Key Vault's clock (as last seen)."""
        if self._until is None:
            return timedelta(0)
        return self._until - self._now()

    def _look(self, ties_lose: bool) -> None:
        versions = self._listing = self.vault.list_versions(self.name)
        now = self._now()
        mine = [v for v in versions if v.tags.get(CLAIM_TAG) == self.claim_id]
        held = [v for v in mine if v.enabled]
        if not held:
            # Another run broke this lease (--break-lease): it acts on the account now.
            self._released = True
            raise LeaseLostError(
                f"account {self.account_name}: this run's lease {self.name} was broken by "
                "another run (fenced); it stopped before its next write"
            )
        ends = [e for e in (claim_end(v, self.ttl) for v in held) if e is not None]
        self._until = max(ends) if ends else None
        if self._until is None or self._until <= now:
            self.release()
            raise LeaseLostError(
                f"account {self.account_name}: this run's lease {self.name} ended at "
                f"{_stamp(self._until)} (Key Vault time {_stamp(now)}) before its next write "
                "(fenced): another run may act on the account now"
            )
        first = min(mine, key=_order)
        assert first.created is not None
        rivals = sorted(
            (v for v in versions if v.tags.get(CLAIM_TAG) != self.claim_id and self._live(v, now)),
            key=_order,
        )
        for rival in rivals:
            assert rival.created is not None
            if rival.created < first.created or (ties_lose and rival.created == first.created):
                self.release()
                raise self._refuse(rival) if ties_lose else self._overtaken(rival)

    def _refuse(self, winner: SecretVersion) -> LeaseHeldError:
        holder = winner.tags.get(HOLDER_TAG, "another run")
        return LeaseHeldError(
            f"account {self.account_name}: another rotation is in progress ({holder}, since "
            f"{_stamp(winner.created)}, lease {self.name} ends "
            f"{_stamp(claim_end(winner, self.ttl))}); nothing changed"
        )

    def _overtaken(self, rival: SecretVersion) -> LeaseLostError:
        holder = rival.tags.get(HOLDER_TAG, "another run")
        return LeaseLostError(
            f"account {self.account_name}: an earlier claim on lease {self.name} ({holder}) "
            "surfaced (fenced); this run stopped before its next write"
        )

    def break_live(self) -> list[str]:
        """Withdraw every live claim on this account (a crashed run's); return their holders.

        Only for an operator who knows the holder is gone (``--break-lease``): a run still alive
        finds at its next fence — before each write — that its lease was broken, and stops; a key
        it had already regenerated is then never stored. A write it had fenced just before the
        break may still be on its way: it is sent only within :data:`FRESH_FOR` of its fence, so
        when a broken claim had not yet ended, this run waits that long (twice over, for the
        write's transit) before it reads anything, and then sees that write.
        """
        broken = []
        live = False
        versions = self.vault.list_versions(self.name)
        now = self.vault.clock.now()
        for v in versions:
            if v.enabled:
                self.vault.set_enabled(self.name, v.version, False)
                broken.append(v.tags.get(HOLDER_TAG, "unknown holder"))
                end = claim_end(v, self.ttl)
                live = live or now is None or end is None or end > now
        for holder in broken:
            log.warning("account %s: broke the lease held by %s", self.account_name, holder)
        if live:
            time.sleep(BREAK_SETTLE)
        return broken

    def acquire(self) -> None:
        """Take the lease or raise :class:`LeaseHeldError` (after withdrawing this claim).

        Call it inside the ``try`` whose ``finally`` calls :meth:`release`: a claim can be
        written even when its answer is lost.
        """
        token = SecretValue(secrets.token_hex(16))
        now = self.vault.clock.now()
        tags = {
            HOLDER_TAG: self.holder,
            ACCOUNT_TAG: self.account_id,
            TTL_TAG: str(int(self.ttl.total_seconds())),
            CLAIM_TAG: self.claim_id,
        }
        if now is not None:
            tags[UNTIL_TAG] = str(int((now + self.ttl).timestamp()))
        sent: list[None] = []
        with guarded(lambda: sent.append(None)):  # called before each attempt of the PUT
            self.version = self.vault.set_secret(
                self.name, token, content_type=LEASE_CONTENT_TYPE, tags=tags
            )
        self._resent = len(sent) > 1
        if self.version.created is None:
            raise ServiceError(f"lease {self.name}: Key Vault returned no created time")
        self._look(ties_lose=True)

    def _renew(self) -> None:
        assert self.version is not None and self._until is not None
        until = self._now() + self.ttl
        tags = {**self.version.tags, UNTIL_TAG: str(int(until.timestamp()))}
        renewed = self.vault.update_tags(self.name, self.version.version, tags)
        if renewed.updated is not None and renewed.updated >= self._until:
            # The renewal landed after the claim had ended: a rival may hold the lease now.
            self.release()
            raise LeaseLostError(
                f"account {self.account_name}: this run's lease {self.name} ended at "
                f"{_stamp(self._until)} before its renewal landed (fenced)"
            )
        self.version = renewed

    def fence(self, needed: timedelta) -> None:
        """Before a write: still this run's lease, and ``needed`` of it left; else raise.

        Renews the claim first when less than half its TTL is left. Raises
        :class:`LeaseLostError` when the lease ended, was broken or was overtaken, or when the
        write could not finish before it ends.
        """
        self._look(ties_lose=False)
        if self.remaining() < self.ttl / 2:
            self._renew()
            self._look(ties_lose=False)
        left = self.remaining()
        if left < needed:
            self.release()
            raise LeaseLostError(
                f"account {self.account_name}: this run's lease {self.name} has "
                f"{format_duration(left)} left, less than the {format_duration(needed)} its next "
                "write may take (fenced); rerun with a longer --lease-ttl"
            )

    def release(self) -> None:
        """Withdraw this run's claim, retrying through transient failures.

        Every version carrying this run's claim id is disabled (a retried claim PUT leaves
        two). Failing that, the claim ends by its TTL.
        """
        if self._released:
            return
        for attempt in range(1, RELEASE_ATTEMPTS + 1):
            try:
                self._disable_mine()
            except (ServiceError, KeyopsError) as exc:
                if isinstance(exc, LeaseHeldError) or attempt == RELEASE_ATTEMPTS:
                    log.warning(
                        "could not release lease %s (it ends by its TTL): %s", self.name, exc
                    )
                    return
                continue
            self._released = True
            return

    def _disable_mine(self) -> None:
        # A claim PUT sent once is one version, in every look's listing: the last look's is
        # used. One that azure-core sent again (an attempt timed out or lost its answer) may
        # have left a version the server wrote after that look, so the versions are listed
        # again, as they are without a look (the claim's answer was lost). An attempt processed
        # even after this listing ends by its TTL, as a crashed run's claim does: it holds
        # other runs off, and never lets two runs write.
        listing = None if self._resent else self._listing
        if listing is None:
            listing = self.vault.list_versions(self.name)
        for v in listing:
            if v.enabled and v.tags.get(CLAIM_TAG) == self.claim_id:
                self.vault.set_enabled(self.name, v.version, False)
