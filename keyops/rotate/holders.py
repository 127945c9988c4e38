"""Other secrets holding a key: a regeneration must not kill a secret keyops does not write.

A second app's secret, a DR copy made by hand or a renamed ``secret_name`` may hold the key of
the slot a rotation is about to regenerate; its consumers would break with no warning. Before
regenerating, the rotation compares the key (by digest, never by tags) with the latest value of
every other secret in the target's vaults. Each vault is listed and read once per run (the
index is shared by the run's accounts and threads), not once per account, and its secrets are
read by the accounts waiting for it (paced within Key Vault's limit; see :class:`VaultIndex`).
The same one listing per vault also tells the rotation which accounts are due before it reads
their secrets (:meth:`VaultIndex.listing`). Lease secrets and the target's own secret and
``also_store`` copies are not "others".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyops.config import same_secret
from keyops.errors import RefusedError
from keyops.rotate.lease import LEASE_CONTENT_TYPE, LEASE_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable

    from keyops.azure.vault import SecretVersion, VaultClient
    from keyops.secret import SecretValue
    from keyops.targets import Target


class OtherHolderError(RefusedError):
    """Another secret holds the key about to be regenerated."""

    reason_code = "other-holder"


@dataclass(frozen=True)
class HeldBy:
    """One secret of a vault and the digest of the key its latest version holds."""

    vault_url: str
    secret_name: str
    digest: str


#: Threads that help the accounts waiting for an index read it: with the run's other workers
#: each holding at most one connection, 2 keeps every request on one of the pool's
#: concurrency + 2 connections, and a lone account reads a big vault three at a time.
INDEX_HELPERS = 2


class VaultIndex:
    """The key digests every secret of a vault holds, read once per run per vault.

    The first account to need a vault's index lists it; the secrets are then read by every
    account waiting for that index (and :data:`INDEX_HELPERS` threads), each reading the next
    unread secret until none is left. A waiting worker holds no other connection, so the
    readers stay within the run's pool (concurrency + 2 per host) however many they are, and
    the fleet's pause for the index shrinks as the concurrency grows: with three readers it
    took ~20 s at 1,000 secrets, long enough for servers to close the idle connections of
    every waiting worker (each then opened again, with a new TLS handshake).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vaults: dict[str, list[HeldBy]] = {}
        self._reading: dict[str, _Reading] = {}
        self._listings: dict[str, dict[str, SecretVersion]] = {}
        self._listers: dict[str, threading.Lock] = {}

    def listing(self, vault: VaultClient) -> dict[str, SecretVersion]:
        """Every secret of ``vault`` (its latest version's attributes and tags, no value), by
        lower-case name: listed by the first caller, once per run; the others wait for it.

        A failed listing is not kept: the next caller lists again.
        """
        key = vault.vault_url.lower()
        with self._lock:
            lister = self._listers.setdefault(key, threading.Lock())
        with lister:
            with self._lock:
                if key in self._listings:
                    return self._listings[key]
            found = {v.name.lower(): v for v in vault.list_secrets()}
            with self._lock:
                self._listings[key] = found
            return found

    def held_in(self, vault: VaultClient) -> list[HeldBy]:
        """The secrets of ``vault`` with their digests (listed and read on first use)."""
        key = vault.vault_url.lower()
        with self._lock:
            if key in self._vaults:
                return self._vaults[key]
            reading = self._reading.get(key)
            if reading is None:
                reading = self._reading[key] = _Reading(vault, self.listing)
        try:
            found = reading.join()
        except BaseException:
            with self._lock:
                self._forget(key, reading)  # the next account to need it starts afresh
            raise
        with self._lock:
            self._vaults.setdefault(key, found)
            self._forget(key, reading)
            return self._vaults[key]

    def _forget(self, key: str, reading: _Reading) -> None:
        """Drop ``reading`` as the one under way for ``key`` (under the lock), unless an account
        that left it early already did, or a newer reading took its place."""
        if self._reading.get(key) is reading:
            del self._reading[key]


class _Reading:
    """One vault's index being read by the accounts that wait for it."""

    def __init__(
        self, vault: VaultClient, listing: Callable[[VaultClient], dict[str, SecretVersion]]
    ) -> None:
        self._vault = vault
        self._listing = listing
        self._lock = threading.Lock()
        self._listed = threading.Event()
        self._done = threading.Event()
        self._names: list[str] = []
        self._next = 0
        self._left = 0
        self._found: list[HeldBy | None] = []
        self._error: BaseException | None = None
        self._lister_chosen = False

    def join(self) -> list[HeldBy]:
        """Help read the index until it is complete; its entries (or the reading's error)."""
        with self._lock:
            lister, self._lister_chosen = not self._lister_chosen, True
        if lister:
            self._list()
            for _ in range(min(INDEX_HELPERS, len(self._names) - 1)):
                threading.Thread(target=self._read_all, name="keyops-index", daemon=True).start()
        self._listed.wait()
        self._read_all()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return [held for held in self._found if held is not None]

    def _read_all(self) -> None:
        """Read the next unread secret until none is left."""
        while not self._done.is_set():
            with self._lock:
                at = self._next
                self._next += 1
            if at >= len(self._names):
                return
            self._read(at)

    def _list(self) -> None:
        try:
            self._names = [
                props.name
                for props in self._listing(self._vault).values()
                if props.enabled and not _is_lease(props.name, props.content_type)
            ]
        except BaseException as err:
            self._fail(err)
        else:
            self._found = [None] * len(self._names)
            self._left = len(self._names)
            if not self._names:
                self._done.set()
        finally:
            self._listed.set()

    def _read(self, at: int) -> None:
        try:
            held = _digest_of(self._vault, self._names[at])
        except BaseException as err:
            self._fail(err)
            return
        with self._lock:
            self._found[at] = held
            self._left -= 1
            if self._left == 0:
                self._done.set()

    def _fail(self, err: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = err
            self._next = len(self._names)  # no one starts another read
        self._done.set()


def _digest_of(vault: VaultClient, name: str) -> HeldBy | None:
    latest = vault.get_latest(name)  # None when deleted between the list and the read
    if latest is None or latest.value is None:
        return None
    return HeldBy(vault.vault_url, name, latest.value.strip().digest)


def _is_lease(name: str, content_type: str | None) -> bool:
    return name.lower().startswith(LEASE_PREFIX) or content_type == LEASE_CONTENT_TYPE


def _own(target: Target, held: HeldBy) -> bool:
    if target.vault_url and same_secret(
        held.vault_url, held.secret_name, target.vault_url, target.secret_name
    ):
        return True
    return any(
        same_secret(held.vault_url, held.secret_name, c.vault_url, c.secret_name)
        for c in target.copies
    )


def check_no_other_holder(
    target: Target, key: SecretValue, slot: str, index: VaultIndex, vaults: list[VaultClient]
) -> None:
    """Refuse (:class:`OtherHolderError`, status 6) when a secret that is not the target's own
    holds ``key``, the key of ``slot`` about to be regenerated."""
    digest = key.strip().digest
    for vault in vaults:
        for held in index.held_in(vault):
            if held.digest == digest and not _own(target, held):
                raise OtherHolderError(
                    f"account {target.account.name}: secret {held.secret_name} in vault "
                    f"{vault.name} holds {slot} ({key.fingerprint}), the key this rotation "
                    "would regenerate; its consumers would break. Nothing changed: list it in "
                    "the target's also_store, or make it a target's own secret"
                )
