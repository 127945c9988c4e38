"""Other secrets holding a key: a regeneration must not kill a secret keyops does not write.

A second app's secret, a DR copy made by hand or a renamed ``secret_name`` may hold the key of
the slot a rotation is about to regenerate; its consumers would break with no warning. Before
regenerating, the rotation compares the key (by digest, never by tags) with the latest value of
every other secret in the target's vaults. Each vault is listed and read once per run (the
index is shared by the run's accounts and threads), not once per account, and its secrets are
read by :data:`INDEX_READERS` threads at once (paced within Key Vault's limit): a third of the
time one reader takes, while staying inside the run's connection pool (concurrency + 2), since
a worker still busy elsewhere may hold a connection. Lease secrets and the target's
own secret and ``also_store`` copies are not "others".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyops.config import same_secret
from keyops.errors import NotFoundError, RefusedError
from keyops.rotate.lease import LEASE_CONTENT_TYPE, LEASE_PREFIX

if TYPE_CHECKING:
    from keyops.azure.vault import VaultClient
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


#: Concurrent reads of one vault's index: with the run's concurrency - 1 other workers possibly
#: mid-request, 3 keeps every request on one of the pool's concurrency + 2 connections.
INDEX_READERS = 3


class VaultIndex:
    """The key digests every secret of a vault holds, read once per run per vault."""

    def __init__(self, workers: int = INDEX_READERS) -> None:
        self._workers = max(1, min(workers, INDEX_READERS))
        self._lock = threading.Lock()
        self._vaults: dict[str, list[HeldBy]] = {}
        self._reading: dict[str, threading.Lock] = {}

    def held_in(self, vault: VaultClient) -> list[HeldBy]:
        """The secrets of ``vault`` with their digests (listed and read on first use)."""
        key = vault.vault_url.lower()
        with self._lock:
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:  # one reader per vault; the others wait for its index
            if key not in self._vaults:
                self._vaults[key] = _read(vault, self._workers)
            return self._vaults[key]


def _read(vault: VaultClient, workers: int) -> list[HeldBy]:
    names = [
        props.name
        for props in vault.list_secrets()
        if props.enabled and not _is_lease(props.name, props.content_type)
    ]

    def digest_of(name: str) -> HeldBy | None:
        try:
            latest = vault.get_latest(name)
        except NotFoundError:  # deleted between the list and the read
            return None
        if latest is None or latest.value is None:
            return None
        return HeldBy(vault.vault_url, name, latest.value.strip().digest)

    if len(names) <= 1 or workers == 1:
        found = [digest_of(name) for name in names]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(names))) as pool:
            found = list(pool.map(digest_of, names))
    return [held for held in found if held is not None]


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
