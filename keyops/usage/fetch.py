"""Gather what ``keyops usage`` analyses: metrics per account, rotations, the key-use policy.

This is the one module of :mod:`keyops.usage` that talks to Azure, through the adapters in
:mod:`keyops.azure` (imported lazily): Azure Monitor for hourly metrics, Key Vault for the
rotations keyops recorded as secret-version tags, ARM's account properties for the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from keyops.errors import KeyopsError
from keyops.rotate.records import Action
from keyops.rotate.tags import ACTION_TAG, CREDENTIAL_TAG, PROVIDER_TAG, rotated_at_of
from keyops.usage.model import HOUR, KeyUsagePolicy, Rotation, UsageSeries

if TYPE_CHECKING:
    from keyops.azure.vault import SecretVersion
    from keyops.targets import Target


@dataclass(frozen=True)
class UsageInputs:
    """Everything fetched for one report, plus the accounts that could not be read."""

    series: tuple[UsageSeries, ...]
    rotations: tuple[Rotation, ...]
    policy: KeyUsagePolicy
    problems: tuple[KeyopsError, ...]


def window(
    days: float, now: datetime | None = None, include_current_hour: bool = False
) -> tuple[datetime, int]:
    """The start (an hour boundary) and length in hours of a window ending at the current hour.

    The current hour itself is left out unless asked for: Azure Monitor serves it partially
    filled and a few minutes late, so it would read as a drop in every account.
    """
    now = now or datetime.now(timezone.utc)
    hours = max(1, round(days * 24))
    end = now.replace(minute=0, second=0, microsecond=0)
    if include_current_hour:
        end += timedelta(hours=1)
    return end - timedelta(seconds=HOUR * hours), hours


def rotations_from_versions(resource_id: str, versions: Iterable[SecretVersion]) -> list[Rotation]:
    """Rotations recorded on a secret's versions (adoptions regenerate nothing: skipped).

    A rotation that regenerated slot S killed the value of the latest earlier version that held
    S (its ``CredentialId``): that is the version left-behind consumers still use. (The
    ``Supersedes`` tag names the version just before, which holds the *other*, working key.)
    """
    ordered = sorted(versions, key=lambda v: v.created or datetime.min.replace(tzinfo=timezone.utc))
    last_with_slot: dict[str, str] = {}
    found = []
    for v in ordered:
        tags = dict(v.tags)
        slot = tags.get(CREDENTIAL_TAG)
        rotated = _rotation_of(resource_id, v, tags)
        if rotated is not None:
            found.append(replace(rotated, previous_version=last_with_slot.get(rotated.slot)))
        if slot:
            last_with_slot[slot] = v.version
    return found


def _rotation_of(resource_id: str, v: SecretVersion, tags: dict[str, str]) -> Rotation | None:
    if tags.get(ACTION_TAG, Action.ROTATED.value) != Action.ROTATED.value:
        return None
    if tags.get(PROVIDER_TAG, resource_id).lower() != resource_id.lower():
        return None
    at = rotated_at_of(tags)
    if at is None:
        return None
    return Rotation(
        resource_id=resource_id,
        rotated_at=at,
        slot=tags.get(CREDENTIAL_TAG, "unknown"),
        secret_name=v.name,
        secret_version=v.version,
    )


def trim_leading_silence(series: UsageSeries, keep_from: datetime) -> UsageSeries:
    """Drop the silent hours before a resource's first traffic, but never inside the window.

    Azure Monitor returns no data points for the time before a resource existed (or before it
    had traffic); as zeros they would look like a long outage and poison the baselines.
    """
    limit = int(keep_from.timestamp())
    first = 0
    while (
        first < series.hours
        and series.timestamps[first] < limit
        and series.requests_total[first] == 0
        and series.prompt_tokens[first] == 0
        and series.generated_tokens[first] == 0
    ):
        first += 1
    return drop_first_hours(series, first)


def clip_to_window(series: UsageSeries, start: datetime) -> UsageSeries:
    """Only the hours from ``start`` on (history read for baselines is not shown)."""
    first = 0
    while first < series.hours and series.timestamps[first] < int(start.timestamp()):
        first += 1
    return drop_first_hours(series, first)


def drop_first_hours(series: UsageSeries, first: int) -> UsageSeries:
    """The series without its first ``first`` hours."""
    if first == 0:
        return series
    return UsageSeries(
        series.resource_id,
        series.name,
        series.timestamps[first:],
        series.requests_total[first:],
        {code: values[first:] for code, values in series.requests_by_status.items()},
        series.prompt_tokens[first:],
        series.generated_tokens[first:],
    )


def gather(
    targets: Sequence[Target],
    metrics_for: Callable[[str], Any],
    vault_for: Callable[[str], Any],
    *,
    start: datetime,
    hours: int,
    keys_unused: Iterable[str] = (),
    workers: int = 8,
    report_from: datetime | None = None,
    on_done: Callable[[], None] | None = None,
) -> UsageInputs:
    """Fetch series and rotations for every target, in parallel; one failure never stops all.

    ``metrics_for(subscription)`` gives a :class:`keyops.azure.metrics.MetricsClient`,
    ``vault_for(url)`` a :class:`keyops.azure.vault.VaultClient`. Accounts named in
    ``keys_unused`` and accounts with local auth disabled are expected to see no key use.
    Silent hours before ``report_from`` that precede a resource's first traffic are dropped.
    """

    def one(target: Target) -> tuple[UsageSeries | None, list[Rotation], KeyopsError | None]:
        try:
            return fetch_one(target)
        finally:
            if on_done is not None:
                on_done()

    def fetch_one(
        target: Target,
    ) -> tuple[UsageSeries | None, list[Rotation], KeyopsError | None]:
        account = target.account
        try:
            series = metrics_for(account.subscription_id).hourly_usage(
                account.id, account.name, start, hours
            )
        except KeyopsError as exc:
            return None, [], exc
        series = trim_leading_silence(series, report_from or start)
        rotations: list[Rotation] = []
        if target.vault_url:
            try:
                versions = vault_for(target.vault_url).list_versions(target.secret_name)
                rotations = rotations_from_versions(account.id, versions)
            except KeyopsError as exc:
                return series, [], type(exc)(f"rotations unknown: {exc.message}")
        return series, rotations, None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, targets))
    unused = {n.lower() for n in keys_unused}
    policy = KeyUsagePolicy.of(
        keys_expected_unused=[
            t.account.id
            for t in targets
            if t.account.disable_local_auth or t.account.name.lower() in unused
        ],
        local_auth_disabled=[t.account.id for t in targets if t.account.disable_local_auth],
    )
    return UsageInputs(
        series=tuple(s for s, _, _ in results if s is not None),
        rotations=tuple(r for _, rs, _ in results for r in rs),
        policy=policy,
        problems=tuple(p for _, _, p in results if p),
    )
