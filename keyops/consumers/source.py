"""The interface keyops reads logs through, beside its dataclasses and its own errors.

The Azure implementation is :class:`keyops.azure.logs.AzureLogSource` (azure-monitor-query's
``LogsQueryClient`` plus ARM diagnostic settings and workspaces); tests use it against the
emulator. Anything above this interface is plain Python over these dataclasses.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


class LogSourceError(Exception):
    """Base of the errors a :class:`LogSource` raises for a missing-evidence case."""


class WorkspaceForbidden(LogSourceError):
    """403 on the workspace (ARM read or the Logs query): the identity may not read its logs."""

    def __init__(self, workspace: str, detail: str) -> None:
        super().__init__(f"403 on workspace {workspace}: {detail}")
        self.workspace = workspace
        self.detail = detail


@dataclass(frozen=True)
class LogDestination:
    """One diagnostic setting of a resource: which categories go where."""

    name: str
    categories: tuple[str, ...]  # enabled log categories (or category groups: "audit", "allLogs")
    workspace_id: str | None  # ARM id of the Log Analytics workspace
    storage_account_id: str | None
    event_hub: str | None
    #: "Dedicated" sends to resource-specific tables (AZKVAuditLogs); None/"AzureDiagnostics"
    #: to the AzureDiagnostics table.
    destination_type: str | None
    #: When the setting was created (ARM's ``systemData.createdAt``), if ARM says: nothing was
    #: sent before then.
    created_at: datetime | None = None


@dataclass(frozen=True)
class Workspace:
    """A Log Analytics workspace as ARM describes it."""

    id: str  # ARM resource id
    customer_id: str  # the id the Logs query API takes
    retention_days: int


@dataclass(frozen=True)
class LogTable:
    """One result table of a query: rows as column name -> value."""

    rows: tuple[dict[str, Any], ...]
    partial: str | None = None  # the partial-error message when Azure returned a partial result


class LogSource(abc.ABC):
    """Reads diagnostic settings, workspaces and logs."""

    def service_now(self) -> datetime:
        """Now on the service's clock (windows are measured there); this machine's by default."""
        return datetime.now(timezone.utc)

    def own_identity(self) -> frozenset[str]:
        """The object id and client id keyops itself runs as (lower case), so its own reads and
        calls are not taken for a consumer's; none by default."""
        return frozenset()

    @abc.abstractmethod
    def diagnostic_settings(self, resource_id: str) -> list[LogDestination]:
        """The resource's diagnostic settings (``Microsoft.Insights/diagnosticSettings``)."""

    @abc.abstractmethod
    def workspace(self, workspace_id: str) -> Workspace:
        """A workspace by ARM id; :class:`WorkspaceForbidden` on 403."""

    def vault_id(self, vault_url: str, subscription_id: str) -> str:
        """A vault's ARM id from its URL (:class:`~keyops.errors.NotFoundError` if unknown)."""
        raise NotImplementedError

    @abc.abstractmethod
    def query(self, scope: Workspace | str, query: str, start: datetime, end: datetime) -> LogTable:
        """Run ``query`` over ``[start, end]``: on a workspace (by customer id) or, given a
        resource id, resource-centric. :class:`WorkspaceForbidden` on 403."""
