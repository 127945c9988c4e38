"""A per-account lease that lives in Azure, so two runners cannot rotate one account at once.

The lease is a secret in the target vault (``keyops-lease-<account>-<hash>``). To take it, a run
writes a new version (its value a random token, never a key) tagged with its holder and a TTL,
then lists the versions. Only *live* claims count: enabled and younger than their own TTL.

Key Vault stamps versions in whole seconds, so two claims can tie. The rules make a double
holder impossible without any waiting:

- first look (right after writing): the run holds the lease only if every other live claim is
  strictly *later* than its own; a tie, or an earlier claim, makes it withdraw and refuse.
- second look (:meth:`Lease.confirm`, just before regenerating): the run keeps the lease unless
  another live claim is strictly *earlier* (one whose write was still in flight at the first look).

Of two claims in the same second, at least one sees the other at its first look (each write is
visible before its writer lists), so at least one withdraws; if both see each other, both
withdraw and both runs refuse — safe, and the next run proceeds. Release disables the holder's
version; a crashed run's version simply outlives its TTL.

Ages are measured on Key Vault's clock (the ``created`` of the version just written), not on
this machine's, so skewed runners — or the emulator's moved clock — agree on who is live.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keyops.errors import KeyopsError, RefusedError
from keyops.secret import SecretValue

if TYPE_CHECKING:
    from keyops.azure.vault import SecretVersion, VaultClient

log = logging.getLogger(__name__)

LEASE_PREFIX = "keyops-lease-"
HOLDER_TAG = "Holder"
ACCOUNT_TAG = "ProviderAddress"
TTL_TAG = "LeaseSeconds"
LEASE_CONTENT_TYPE = "application/x-keyops-lease"
DEFAULT_LEASE_TTL = timedelta(minutes=15)


class LeaseHeldError(RefusedError):
    """Another run holds the account's lease."""


def lease_secret_name(account_id: str, account_name: str) -> str:
    """The lease secret's name for an account (valid Key Vault name, ≤127 characters)."""
    digest = hashlib.sha256(account_id.lower().encode("utf-8")).hexdigest()[:10]
    return f"{LEASE_PREFIX}{account_name[:90]}-{digest}"


def default_holder() -> str:
    """Who holds a lease, for the message a rival sees: user@host, pid, CI run if any."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    run = os.environ.get("GITHUB_RUN_ID") or os.environ.get("BUILD_BUILDID")
    suffix = f" run {run}" if run else ""
    return f"{user}@{socket.gethostname()} pid {os.getpid()}{suffix}"[:250]


def _ttl_of(version: SecretVersion, fallback: timedelta) -> timedelta:
    try:
        return timedelta(seconds=float(version.tags[TTL_TAG]))
    except (KeyError, ValueError):
        return fallback


@dataclass
class Lease:
    """One run's claim on one account, in one vault."""

    vault: VaultClient
    account_id: str
    account_name: str
    holder: str
    ttl: timedelta = DEFAULT_LEASE_TTL
    version: SecretVersion | None = None
    _acquired_at: float = 0.0
    _released: bool = False

    @property
    def name(self) -> str:
        """The lease secret's name."""
        return lease_secret_name(self.account_id, self.account_name)

    def _server_now(self) -> datetime:
        assert self.version is not None and self.version.created is not None
        elapsed = time.monotonic() - self._acquired_at
        return self.version.created + timedelta(seconds=elapsed)

    def _rivals(self, versions: list[SecretVersion]) -> list[SecretVersion]:
        """Other live claims, earliest first."""
        assert self.version is not None
        now = self._server_now()
        live = [
            v
            for v in versions
            if v.enabled
            and v.created is not None
            and v.created + _ttl_of(v, self.ttl) > now
            and v.version != self.version.version
        ]
        live.sort(key=lambda v: (v.created.timestamp() if v.created else 0.0, v.version))
        return live

    def _check(self, ties_lose: bool) -> None:
        assert self.version is not None and self.version.created is not None
        mine = self.version.created
        versions = self.vault.list_versions(self.name)
        if not any(v.version == self.version.version and v.enabled for v in versions):
            # Another run broke this lease (--break-lease): it acts on the account now.
            self._released = True
            raise LeaseHeldError(
                f"account {self.account_name}: this run's lease {self.name} was broken by "
                "another run; nothing changed"
            )
        for rival in self._rivals(versions):
            assert rival.created is not None
            if rival.created < mine or (ties_lose and rival.created == mine):
                self.release()
                raise self._refuse(rival)

    def _refuse(self, winner: SecretVersion) -> LeaseHeldError:
        holder = winner.tags.get(HOLDER_TAG, "another run")
        since = winner.created.strftime("%Y-%m-%d %H:%M:%SZ") if winner.created else "?"
        ends = winner.created + _ttl_of(winner, self.ttl) if winner.created else None
        until = ends.strftime("%H:%M:%SZ") if ends else "?"
        return LeaseHeldError(
            f"account {self.account_name}: another rotation is in progress ({holder}, since "
            f"{since}, lease {self.name} expires {until}); nothing changed"
        )

    def break_live(self) -> list[str]:
        """Withdraw every live claim on this account (a crashed run's); return their holders.

        Only for an operator who knows the holder is gone (``--break-lease``): a run still alive
        notices at its next check that its lease was broken, and stops before regenerating.
        """
        broken = []
        for v in self.vault.list_versions(self.name):
            if v.enabled:
                self.vault.set_enabled(self.name, v.version, False)
                broken.append(v.tags.get(HOLDER_TAG, "unknown holder"))
        for holder in broken:
            log.warning("account %s: broke the lease held by %s", self.account_name, holder)
        return broken

    def acquire(self) -> None:
        """Take the lease or raise :class:`LeaseHeldError` (after withdrawing this claim)."""
        token = SecretValue(secrets.token_hex(16))
        tags = {
            HOLDER_TAG: self.holder,
            ACCOUNT_TAG: self.account_id,
            TTL_TAG: str(int(self.ttl.total_seconds())),
        }
        self.version = self.vault.set_secret(
            self.name, token, content_type=LEASE_CONTENT_TYPE, tags=tags
        )
        self._acquired_at = time.monotonic()
        if self.version.created is None:
            raise KeyopsError(f"lease {self.name}: Key Vault returned no created time")
        self._check(ties_lose=True)

    def confirm(self) -> None:
        """Check that no earlier claim has surfaced since :meth:`acquire`; else withdraw."""
        self._check(ties_lose=False)

    def release(self) -> None:
        """Withdraw this run's claim (best effort: an unreleased lease expires by its TTL)."""
        if self.version is None or self._released:
            return
        self._released = True
        try:
            self.vault.set_enabled(self.name, self.version.version, False)
        except KeyopsError as exc:
            log.warning("could not release lease %s (it expires by itself): %s", self.name, exc)
