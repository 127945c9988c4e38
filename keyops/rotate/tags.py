"""The tags keyops writes on a secret version, and the content type.

``CredentialId`` (the slot) and ``ProviderAddress`` (the account's resource id) follow Azure's
dual-credential rotation sample, so tools written for it read keyops' secrets too. Tags are
hints for people and tools; the rotation decides by comparing values, never by tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

CONTENT_TYPE = "text/plain"
CREDENTIAL_TAG = "CredentialId"
PROVIDER_TAG = "ProviderAddress"
ENDPOINT_TAG = "Endpoint"
ROTATED_AT_TAG = "RotatedAt"
ROTATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SUPERSEDES_TAG = "Supersedes"
VALIDITY_TAG = "ValidityPeriodDays"
MANAGED_BY_TAG = "ManagedBy"
ACTION_TAG = "KeyopsAction"
#: ``pending`` while a ``--revoke-previous now`` of the superseded slot is not done yet,
#: ``when-moved`` while a ``--revoke-previous when-moved`` waits for consumers to move.
REVOKE_TAG = "RevokePrevious"
REVOKE_PENDING = "pending"
REVOKE_WHEN_MOVED = "when-moved"
REVOKE_DONE = "done"
#: When a ``when-moved`` revoke stops waiting (``--max-wait`` after the store): RotatedAt format.
REVOKE_DEADLINE_TAG = "RevokeDeadline"


def version_tags(
    *,
    slot: str,
    account_id: str,
    endpoint: str,
    rotated_at: datetime,
    supersedes: str | None,
    validity: timedelta | None,
    action: str,
    revoke_pending: str | None = None,
    revoke_deadline: datetime | None = None,
) -> dict[str, str]:
    """Tags for a new secret version (all values well under Key Vault's 512 characters)."""
    tags = {
        CREDENTIAL_TAG: slot,
        PROVIDER_TAG: account_id,
        ENDPOINT_TAG: endpoint,
        ROTATED_AT_TAG: rotated_at.strftime(ROTATED_AT_FORMAT),
        SUPERSEDES_TAG: supersedes or "",
        MANAGED_BY_TAG: "keyops",
        ACTION_TAG: action,
    }
    if validity is not None:
        tags[VALIDITY_TAG] = str(max(1, round(validity.total_seconds() / 86400)))
    if revoke_pending:
        tags[REVOKE_TAG] = revoke_pending
    if revoke_pending and revoke_deadline is not None:
        tags[REVOKE_DEADLINE_TAG] = revoke_deadline.strftime(ROTATED_AT_FORMAT)
    return tags


def rotated_at_of(tags: Mapping[str, str], name: str = ROTATED_AT_TAG) -> datetime | None:
    """The ``RotatedAt`` (or another time tag's) time of a version's tags (aware UTC), or None
    if absent or malformed."""
    try:
        return datetime.strptime(tags[name], ROTATED_AT_FORMAT).replace(tzinfo=timezone.utc)
    except (KeyError, ValueError):
        return None
