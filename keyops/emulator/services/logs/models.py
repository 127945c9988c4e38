"""State of the emulated Azure Monitor Logs: workspaces, diagnostic settings and log records.

Records are kept per workspace as compact events (one append each, O(1)) with the time they
happened and the time they become queryable (``+ ingestion delay``); :mod:`.tables` renders them
into ``AZKVAuditLogs`` or ``AzureDiagnostics`` rows at query time. Which workspace and table an
event goes to follows the resource's diagnostic settings *at the time it happens*, as in Azure.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from keyops.emulator.logsworld import DiagnosticDecl, WorkspaceDecl, seconds

if TYPE_CHECKING:
    from keyops.emulator.core.context import Emulator

#: The log category of each record kind, and the category groups that include it.
KIND_CATEGORY = {"audit": "AuditEvent", "request": "RequestResponse"}
_KIND_GROUPS = {
    "audit": {"audit", "alllogs", "auditevent"},
    "request": {"alllogs", "requestresponse"},
}


def logs_state(emu: Emulator) -> dict[str, Any]:
    """The service's section of the store."""
    section: dict[str, Any] = emu.store.section("logs")
    section.setdefault("diagnostic", {})
    section.setdefault("records", {})
    section.setdefault("created", {})
    section.setdefault("consumers", {})
    section.setdefault("ingestion_delay", seconds(emu.world.logs.ingestion_delay, "ingestion"))
    return section


def customer_id(workspace: WorkspaceDecl) -> str:
    """A workspace's customer id: a GUID derived from its ARM id (stable across restarts)."""
    digest = hashlib.sha256(workspace.id.lower().encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def workspaces(emu: Emulator) -> tuple[WorkspaceDecl, ...]:
    """Every workspace of the world."""
    return emu.world.logs.workspaces


def workspace_by_id(emu: Emulator, arm_id: str) -> WorkspaceDecl | None:
    """A workspace by ARM id (case-insensitive)."""
    return next((w for w in workspaces(emu) if w.id.lower() == arm_id.lower()), None)


def workspace_by_customer_id(emu: Emulator, cid: str) -> WorkspaceDecl | None:
    """A workspace by customer id."""
    return next((w for w in workspaces(emu) if customer_id(w) == cid.lower()), None)


def resource_ids(emu: Emulator) -> list[str]:
    """ARM ids of the vaults and accounts (the resources that have diagnostic settings)."""
    return [v.id for v in emu.world.vaults] + [a.id for a in emu.world.accounts]


def resource_id(emu: Emulator, ref: str) -> str | None:
    """The ARM id of ``vault:<name>`` / ``account:<name>``."""
    kind, _, name = ref.partition(":")
    pool = emu.world.vaults if kind == "vault" else emu.world.accounts
    return next((r.id for r in pool if r.name == name), None)


def setting_body(emu: Emulator, decl: DiagnosticDecl) -> dict[str, Any]:
    """A diagnostic setting's ``properties`` as ARM stores it."""
    space = next((w for w in workspaces(emu) if w.name == decl.workspace), None)
    return {
        "workspaceId": space.id if space else None,
        "storageAccountId": decl.storage_account,
        "eventHubAuthorizationRuleId": decl.event_hub,
        "eventHubName": None,
        "logAnalyticsDestinationType": (
            "Dedicated" if decl.destination_type == "Dedicated" else None
        ),
        "logs": [
            {
                "category": None if c in ("audit", "allLogs", "Audit") else c,
                "categoryGroup": c if c in ("audit", "allLogs", "Audit") else None,
                "enabled": True,
            }
            for c in decl.categories
        ],
        "metrics": [],
    }


def seed(emu: Emulator) -> None:
    """Diagnostic settings from the world; consumers start at their declared times."""
    from keyops.emulator.world import relative_time

    now = emu.clock.now()
    for i, decl in enumerate(emu.world.logs.diagnostic_settings):
        rid = resource_id(emu, decl.resource)
        if rid is not None:
            created = (
                relative_time(decl.created, now, f"diagnostic_settings[{i}].created")
                if decl.created
                else None
            )
            put_setting(emu, rid, decl.name, setting_body(emu, decl), created)
    from keyops.emulator.services.logs.consumers import seed_consumers

    seed_consumers(emu)


def settings_of(emu: Emulator, rid: str) -> dict[str, Any]:
    """The diagnostic settings of a resource, by name."""
    found: dict[str, Any] = logs_state(emu)["diagnostic"].get(rid.lower(), {})
    return found


def put_setting(
    emu: Emulator, rid: str, name: str, properties: dict[str, Any], created: float | None
) -> None:
    """Create or replace a diagnostic setting; ``created`` (None: before any record) is kept
    from its first creation, as ARM's ``systemData.createdAt``."""
    logs_state(emu)["diagnostic"].setdefault(rid.lower(), {})[name] = properties
    made = logs_state(emu)["created"].setdefault(rid.lower(), {})
    if name not in made:
        made[name] = created


def created_at(emu: Emulator, rid: str, name: str) -> float | None:
    """When a setting was created (None: before any record)."""
    found: float | None = logs_state(emu)["created"].get(rid.lower(), {}).get(name)
    return found


def delete_setting(emu: Emulator, rid: str, name: str) -> bool:
    """Delete a diagnostic setting; whether it existed."""
    settings = logs_state(emu)["diagnostic"].get(rid.lower(), {})
    if name not in settings:
        return False
    del settings[name]
    logs_state(emu)["created"].get(rid.lower(), {}).pop(name, None)
    return True


def _sends(properties: dict[str, Any], kind: str) -> bool:
    for entry in properties.get("logs") or []:
        names = {str(entry.get("category") or "").lower(), str(entry.get("categoryGroup") or "")}
        if entry.get("enabled") and {n.lower() for n in names} & _KIND_GROUPS[kind]:
            return True
    return False


def append(emu: Emulator, rid: str, kind: str, event: dict[str, Any]) -> int:
    """Send one event of ``kind`` ("audit" | "request") on resource ``rid`` to every workspace
    its diagnostic settings name for that category; how many copies were kept."""
    state = logs_state(emu)
    kept = 0
    for name, properties in settings_of(emu, rid).items():
        target = properties.get("workspaceId")
        if not target or not _sends(properties, kind):
            continue
        since = created_at(emu, rid, name)
        if since is not None and float(event["t"]) < since:
            continue  # a replayed event from before the setting existed was never sent
        dedicated = str(properties.get("logAnalyticsDestinationType") or "") == "Dedicated"
        table = "AZKVAuditLogs" if kind == "audit" and dedicated else "AzureDiagnostics"
        space = workspace_by_id(emu, str(target))
        record = {
            **event,
            "claims": space.claims if space is not None else None,
            "kind": kind,
            "table": table,
            "resource": rid,
            "ingest": float(event["t"]) + float(state["ingestion_delay"]),
        }
        state["records"].setdefault(str(target).lower(), []).append(record)
        kept += 1
    return kept


def visible(emu: Emulator, workspace: WorkspaceDecl, table: str, now: float) -> list[Any]:
    """The workspace's records of ``table`` that have been ingested by ``now``."""
    records = logs_state(emu)["records"].get(workspace.id.lower(), [])
    return [r for r in records if r["table"] == table and float(r["ingest"]) <= now]


def queryable(emu: Emulator, workspace_id: str, now: float) -> list[Any]:
    """The workspace's records a query sees at ``now``: ingested, and not older than its
    retention (Azure purges them)."""
    space = workspace_by_id(emu, workspace_id)
    oldest = now - (space.retention_days if space else 30) * 86400.0
    return [
        r
        for r in logs_state(emu)["records"].get(workspace_id.lower(), [])
        if float(r["ingest"]) <= now and float(r["t"]) >= oldest
    ]
