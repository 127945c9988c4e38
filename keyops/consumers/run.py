"""Gathering evidence for many targets: one :class:`LogSource` per subscription, one target's
failure never stops the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from keyops.consumers.evidence import INGESTION_DELAY, LogTarget, gather_evidence
from keyops.consumers.render import TargetEvidence
from keyops.consumers.source import LogSourceError
from keyops.errors import AuthError, KeyopsError

if TYPE_CHECKING:
    from keyops.consumers.source import LogSource
    from keyops.targets import Target


def log_target(target: Target, source: LogSource) -> LogTarget:
    """The account and, when the target has a vault, the vault's ARM id and the secret. A vault
    keyops cannot find is the target's ``vault_error``: its account's logs are still read."""
    vault_id = error = None
    if target.vault_url:
        try:
            vault_id = source.vault_id(target.vault_url, target.account.subscription_id)
        except AuthError:
            raise
        except (KeyopsError, LogSourceError) as err:
            error = f"{target.vault_url}: {err}"
    return LogTarget(
        name=target.name,
        account_id=target.resource_id,
        vault_id=vault_id,
        secret_name=target.secret_name if vault_id else None,
        vault_error=error,
    )


def gather_all(
    targets: Sequence[Target],
    source_for: Callable[[str], LogSource],
    window: timedelta,
    *,
    ingestion_delay: timedelta = INGESTION_DELAY,
    resource_centric: bool = False,
) -> list[TargetEvidence]:
    """Evidence per target, in order, over the ``window`` up to now on Azure's clock; an Azure
    error on one is that target's error line (an authentication failure, which would fail every
    target alike, is raised)."""
    out = []
    for target in targets:
        source = source_for(target.account.subscription_id)
        try:
            lt = log_target(target, source)
            now = source.service_now()
        except KeyopsError as err:
            if isinstance(err, AuthError):
                raise
            out.append(TargetEvidence(LogTarget(target.name, target.resource_id), None, str(err)))
            continue
        try:
            evidence = gather_evidence(
                source,
                lt,
                window,
                now,
                ingestion_delay=ingestion_delay,
                resource_centric=resource_centric,
            )
        except AuthError:
            raise
        except KeyopsError as err:
            out.append(TargetEvidence(lt, None, str(err)))
            continue
        out.append(TargetEvidence(lt, evidence))
    return out
