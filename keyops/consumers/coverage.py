"""Where a resource's logs go, and the "no usage evidence" findings when they go nowhere useful.

A resource's diagnostic settings name the log categories it sends and their destinations: only a
Log Analytics workspace can be queried; storage accounts and Event Hubs cannot. The workspace's
retention bounds how far back evidence reaches. Each gap is a
:class:`~keyops.consumers.evidence.CoverageFinding` with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from keyops.consumers.source import LogDestination, LogSource, Workspace, WorkspaceForbidden
from keyops.errors import AuthError, KeyopsError

if TYPE_CHECKING:
    from keyops.consumers.evidence import CoverageFinding, LogTarget, Source

#: The log category each source's evidence comes from, and the category groups that include it.
CATEGORY = {"vault": "AuditEvent", "account": "RequestResponse"}
GROUPS = {"vault": ("audit", "allLogs"), "account": ("allLogs",)}


@dataclass(frozen=True)
class LogRead:
    """What reading one source gave: the table read (None: nothing could be read), its rows, and
    the findings on the way."""

    table: str | None
    rows: tuple[dict[str, Any], ...] = ()
    findings: tuple[CoverageFinding, ...] = field(default=())


def _sends(dest: LogDestination, source: Source) -> bool:
    wanted = {CATEGORY[source].lower(), *(g.lower() for g in GROUPS[source])}
    return any(c.lower() in wanted for c in dest.categories)


def _finding(source: Source, code: str, message: str, fix: str) -> CoverageFinding:
    from keyops.consumers.evidence import CoverageFinding

    return CoverageFinding(source, code, message, fix)


def _resource(target: LogTarget, source: Source) -> str:
    rid = target.vault_id if source == "vault" else target.account_id
    assert rid is not None
    return rid


def _short(rid: str) -> str:
    return rid.rstrip("/").rsplit("/", 1)[-1]


def pick_destination(
    settings: list[LogDestination], source: Source, resource: str
) -> tuple[LogDestination | None, tuple[CoverageFinding, ...]]:
    """The setting that sends the source's category to a workspace, or why there is none."""
    category = CATEGORY[source]
    name = _short(resource)
    sending = [d for d in settings if _sends(d, source)]
    if not sending:
        return None, (
            _finding(
                source,
                "category-not-enabled",
                f"{name}: diagnostic category {category} is not enabled, so there are no logs "
                "of who uses it",
                f"add a diagnostic setting on {name} sending {category} to a Log Analytics "
                "workspace",
            ),
        )
    for dest in sending:
        if dest.workspace_id:
            return dest, ()
    where = " and ".join(
        sorted(
            {"storage" for d in sending if d.storage_account_id}
            | {"Event Hub" for d in sending if d.event_hub}
        )
    )
    return None, (
        _finding(
            source,
            "no-workspace",
            f"{name}: {category} goes to {where or 'no destination'} only, which keyops cannot "
            "query",
            f"also send {category} to a Log Analytics workspace in {name}'s diagnostic setting",
        ),
    )


def table_for(dest: LogDestination, source: Source) -> str:
    """The Log Analytics table the destination writes the source's records to."""
    if source == "vault" and (dest.destination_type or "").lower() == "dedicated":
        return "AZKVAuditLogs"
    return "AzureDiagnostics"


def read_log(
    source_api: LogSource,
    source: Source,
    target: LogTarget,
    start: datetime,
    now: datetime,
    window: timedelta,
    resource_centric: bool,
) -> LogRead:
    """Read one source's records for the target, turning each gap into a finding."""
    from keyops.consumers.queries import account_query, vault_query

    resource = _resource(target, source)
    dest, findings = pick_destination(source_api.diagnostic_settings(resource), source, resource)
    if dest is None:
        return LogRead(None, (), findings)
    assert dest.workspace_id is not None
    table = table_for(dest, source)
    if source == "vault":
        assert target.secret_name is not None
        query = vault_query(table, resource, target.secret_name)
    else:
        query = account_query(resource)
    found: list[CoverageFinding] = []
    try:
        scope, gaps = _scope(
            source_api, source, dest.workspace_id, resource, window, resource_centric
        )
        found.extend(gaps)
        rows = source_api.query(scope, query, start, now)
    except WorkspaceForbidden as err:
        found.append(_forbidden(source, err))
        return LogRead(None, (), tuple(found))
    except AuthError:
        raise  # fails every target alike: the run's error, not this source's
    except KeyopsError as err:
        # One source's refused query (a 400, a service error) loses that source's evidence
        # only: the other source's records still say who uses the key.
        found.append(
            _finding(
                source,
                "query-failed",
                f"{_short(resource)}: the logs query failed ({err})",
                "rerun later; if it persists, rerun with --debug and report the error",
            )
        )
        return LogRead(None, (), tuple(found))
    if dest.created_at is not None and dest.created_at > start:
        found.append(_started_late(source, resource, dest, start))
    if rows.partial:
        found.append(
            _finding(
                source,
                "partial-result",
                f"{_short(resource)}: the query returned a partial result ({rows.partial})",
                "narrow --window, or rerun later",
            )
        )
    extra: tuple[dict[str, Any], ...] = ()
    if source == "vault":
        assert target.secret_name is not None
        extra = _other_table(source_api, scope, table, resource, target.secret_name, start, now)
    return LogRead(table, rows.rows + extra, tuple(found))


def _other_table(
    source_api: LogSource,
    scope: Workspace | str,
    table: str,
    resource: str,
    secret: str,
    start: datetime,
    now: datetime,
) -> tuple[dict[str, Any], ...]:
    """The vault's reads in the table its setting does not name now: a setting switched between
    AzureDiagnostics and resource-specific ("Dedicated") mode left the earlier records there."""
    from keyops.consumers.queries import vault_query

    other = "AzureDiagnostics" if table == "AZKVAuditLogs" else "AZKVAuditLogs"
    try:
        return source_api.query(scope, vault_query(other, resource, secret), start, now).rows
    except AuthError:
        raise
    except (KeyopsError, WorkspaceForbidden):
        return ()  # a table the workspace never had is Azure's 400: nothing was ever there


def _scope(
    source_api: LogSource,
    source: Source,
    workspace_id: str,
    resource: str,
    window: timedelta,
    resource_centric: bool,
) -> tuple[Workspace | str, tuple[CoverageFinding, ...]]:
    """Where to query (the workspace, or the resource when resource-centric) and what the
    workspace's retention leaves out. In resource-centric mode a 403 on the workspace's ARM read
    only makes its retention unknown: the query needs read on the resource, not the workspace."""
    try:
        workspace = source_api.workspace(workspace_id)
    except WorkspaceForbidden as err:
        if not resource_centric:
            raise
        return resource, (
            _finding(
                source,
                "retention-unknown",
                f"403 on workspace {_short(workspace_id)} ({err.detail}): its retention is "
                "unknown, so consumers seen only before it would be missed",
                "grant the identity Reader on the workspace, or keep --window within its retention",
            ),
        )
    short = timedelta(days=workspace.retention_days) < window
    gaps = (_retention(source, workspace, window),) if short else ()
    return (resource if resource_centric else workspace), gaps


def _started_late(
    source: Source, resource: str, dest: LogDestination, start: datetime
) -> CoverageFinding:
    assert dest.created_at is not None
    when = dest.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _finding(
        source,
        "logs-start-late",
        f"{_short(resource)}: diagnostic setting {dest.name} was created {when}, after the "
        f"window's start: consumers seen only before then are missed",
        f"narrow --window to start after {when}",
    )


def _retention(source: Source, workspace: Workspace, window: timedelta) -> CoverageFinding:
    days = window.total_seconds() / 86400
    return _finding(
        source,
        "retention-short",
        f"workspace {_short(workspace.id)} keeps {workspace.retention_days}d of logs, shorter "
        f"than the {days:g}d window: consumers seen only before then are missed",
        f"raise the workspace's retention to at least {days:g}d, or narrow --window",
    )


def _forbidden(source: Source, err: WorkspaceForbidden) -> CoverageFinding:
    return _finding(
        source,
        "workspace-forbidden",
        f"403 on workspace {_short(err.workspace)}: keyops may not read the logs ({err.detail})",
        "grant the identity Log Analytics Reader on the workspace (or Reader on the resource "
        "and use --resource-centric)",
    )
