"""Several copies, one writer: the secrets of a target's ``also_store``.

A key published to a DR vault or a second app's secret is written by the same rotation that
writes the target's own secret, so one account has one writer. Each copy is written right after
the primary, fenced (the run still holds the account's lease) and read back, before the
rotation finishes. A copy left behind by a crash between the primary and the copies still
holds the previous key, which keeps working until the next rotation; that rotation brings the
copy up to date *instead of* regenerating (consumers of the copy then get their grace period)
and refuses for this run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from keyops.errors import KeyopsError, RefusedError
from keyops.rotate import tags as T
from keyops.rotate.holders import check_no_other_holder

if TYPE_CHECKING:
    from keyops.azure.arm import AccountKeys, KeySlot
    from keyops.rotate.steps import AccountRun
    from keyops.secret import SecretValue


class CopyMismatchError(KeyopsError):
    """A copy read back does not hold the key just written to it."""

    reason_code = "copy-conflict"


class StaleCopyError(RefusedError):
    """A copy held the key about to be regenerated; it was brought up to date instead."""

    reason_code = "copy-stale"


def _fence(run: AccountRun) -> None:
    if run.lease is not None:
        from keyops.rotate.fence import write_budget  # fence imports steps, which imports us

        # A run whose lease ended, was broken or was overtaken stops before writing.
        run.lease.fence(write_budget(run))


def store_copies(
    run: AccountRun,
    key: SecretValue,
    tags: Mapping[str, str],
    expires_on: datetime | None,
) -> None:
    """Write ``key`` to every copy of the target, each fenced and read back."""
    for copy in run.target.copies:
        _fence(run)
        vault = run.services.vault(copy.vault_url)
        version = vault.set_secret(
            copy.secret_name,
            key,
            content_type=T.CONTENT_TYPE,
            tags=dict(tags),
            expires_on=expires_on,
        )
        latest = vault.get_latest(copy.secret_name)
        if latest is None or latest.value is None or latest.value.digest != key.digest:
            found = latest.value.fingerprint if latest and latest.value else "nothing"
            raise CopyMismatchError(
                f"copy {copy}: latest version holds {found}, not the version {version.version} "
                f"({key.fingerprint}) just stored; another writer?"
            )


def before_regenerate(run: AccountRun, keys: AccountKeys, slot: KeySlot) -> None:
    """The guards a regeneration of ``slot`` passes first: no copy and no other secret of the
    target's vaults may hold its key."""
    doomed = keys.slot(slot)
    for copy in run.target.copies:
        vault = run.services.vault(copy.vault_url)
        latest = vault.get_latest(copy.secret_name)
        if latest is None or latest.value is None or latest.value.strip() != doomed.strip():
            continue
        primary = run.vault.get_latest(run.target.secret_name)
        if primary is None or primary.value is None:
            # Nothing to bring the copy up to date from (the primary was deleted or disabled
            # since the run read it): regenerating would break the copy's consumers.
            raise StaleCopyError(
                f"account {run.target.account.name}: copy {copy} still holds {slot} "
                f"({doomed.fingerprint}), the key this rotation would regenerate, and the "
                f"primary secret {run.target.secret_name} in vault {run.vault.name} has no "
                "value to bring it up to date with (deleted or disabled since this run read "
                "it). Nothing changed: restore the primary, then rotate again"
            )
        _fence(run)
        vault.set_secret(
            copy.secret_name,
            primary.value.strip(),
            content_type=T.CONTENT_TYPE,
            tags=dict(primary.tags),
            expires_on=primary.expires_on,
        )
        raise StaleCopyError(
            f"account {run.target.account.name}: copy {copy} still held {slot} "
            f"({doomed.fingerprint}), the key this rotation would regenerate; it now holds "
            f"the current key ({primary.value.fingerprint}). Nothing regenerated: rotate again "
            "after the grace period, when its consumers have fetched it"
        )
    vaults = [run.vault, *(run.services.vault(c.vault_url) for c in run.target.copies)]
    check_no_other_holder(run.target, doomed, slot, run.services.holders, vaults)
