"""Azure Monitor Logs for ``keyops consumers``: the :class:`~keyops.consumers.source.LogSource`
that reads diagnostic settings and workspaces through ARM and runs KQL through
azure-monitor-query's ``LogsQueryClient`` (per workspace, or resource-centric).

azure-mgmt-monitor 7 no longer has diagnostic settings and keyops does not depend on
azure-mgmt-loganalytics for one GET, so those ARM reads go as plain requests through the
management client's own pipeline (its credential, retries and TLS settings).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from keyops.azure.tls import sdk_transport
from keyops.cloud import AzureEnvironment
from keyops.consumers.source import (
    LogDestination,
    LogSource,
    LogSourceError,
    LogTable,
    Workspace,
    WorkspaceForbidden,
)
from keyops.errors import ConfigError, NotFoundError

DIAGNOSTIC_API = "2021-05-01-preview"
WORKSPACE_API = "2022-10-01"
RESOURCES_API = "2021-04-01"
SUBSCRIPTION_API = "2022-12-01"


class AzureLogSource(LogSource):
    """Diagnostic settings and workspaces from ARM; logs from the Logs query API."""

    def __init__(self, env: AzureEnvironment, credential: Any, subscription_id: str) -> None:
        from azure.mgmt.monitor import MonitorManagementClient

        try:
            from azure.monitor.query import LogsQueryClient
        except ImportError:
            # A keyops dependency, but an environment synced before it was added lacks it: say
            # what to install rather than fail as an internal error.
            raise ConfigError(
                "reading logs needs the azure-monitor-query package, which this environment "
                "lacks: install azure-monitor-query (a keyops dependency: reinstalling keyops "
                "brings it)"
            ) from None

        self._env = env
        self._credential = credential
        self._own: frozenset[str] | None = None
        self._subscription = subscription_id
        self._skew: timedelta | None = None
        self._arm = MonitorManagementClient(
            credential,
            subscription_id,
            base_url=env.resource_manager,
            credential_scopes=[env.management_scope],
            transport=sdk_transport(env.verify),
            retry_total=4,
        )
        self._logs = LogsQueryClient(
            credential,
            endpoint=env.logs_endpoint,
            audience=env.logs_scope.removesuffix("/.default"),
            transport=sdk_transport(env.verify),
            retry_total=4,
        )

    def _get(self, path: str, params: str, what: str, target: str) -> Any:
        url = f"{self._env.resource_manager.rstrip('/')}{quote(path)}?api-version={params}"
        return self._get_url(url, what, target)

    def _get_url(self, url: str, what: str, target: str) -> Any:
        from azure.core.rest import HttpRequest

        from keyops.azure.errors import azure_errors

        with azure_errors(what, target):
            response = self._arm._send_request(HttpRequest("GET", url))
            self._note_date(response.headers.get("Date"))
            if response.status_code == 403:
                raise WorkspaceForbidden(target, _message(response))
            response.raise_for_status()
            return response.json()

    def _note_date(self, header: str | None) -> None:
        from email.utils import parsedate_to_datetime

        if header and self._skew is None:
            try:
                served = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                return
            self._skew = served - datetime.now(timezone.utc)

    def service_now(self) -> datetime:
        """Now on Azure's clock (its ``Date`` header), not this machine's: the window and the
        ingestion hold-back are measured where the logs are stamped, so a skewed local clock
        neither hides fresh records nor claims coverage that is not there yet."""
        if self._skew is None:
            self._get(f"/subscriptions/{self._subscription}", SUBSCRIPTION_API, "read clock", "ARM")
        return datetime.now(timezone.utc) + (self._skew or timedelta(0))

    def own_identity(self) -> frozenset[str]:
        """The object id in keyops's own management token, and its configured client id."""
        if self._own is None:
            import os

            from keyops.azure.authorization import current_principal_id

            ids = {current_principal_id(self._credential, self._env)}
            client = os.environ.get("AZURE_CLIENT_ID") or (
                self._env.emulator.raw.get("client_id") if self._env.emulator else None
            )
            if client:
                ids.add(str(client))
            self._own = frozenset(i.lower() for i in ids)
        return self._own

    def diagnostic_settings(self, resource_id: str) -> list[LogDestination]:
        """``GET {resourceId}/providers/Microsoft.Insights/diagnosticSettings``."""
        path = f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings"
        name = resource_id.rsplit("/", 1)[-1]
        try:
            body = self._get(path, DIAGNOSTIC_API, "read diagnostic settings", name)
        except WorkspaceForbidden as err:
            from keyops.errors import AuthError

            raise AuthError(
                f"read diagnostic settings on {name}: 403 ({err.detail}); grant Monitoring "
                "Reader (or Reader) on the resource"
            ) from None
        return [_destination(item) for item in body.get("value") or []]

    def workspace(self, workspace_id: str) -> Workspace:
        """``GET .../Microsoft.OperationalInsights/workspaces/{name}``."""
        body = self._get(workspace_id, WORKSPACE_API, "read workspace", workspace_id)
        props = body.get("properties") or {}
        return Workspace(
            id=str(body.get("id") or workspace_id),
            customer_id=str(props.get("customerId") or ""),
            retention_days=int(props.get("retentionInDays") or 30),
        )

    def query(self, scope: Workspace | str, query: str, start: datetime, end: datetime) -> LogTable:
        """Run ``query`` over ``[start, end]`` on a workspace or resource-centric."""
        from azure.core.exceptions import HttpResponseError
        from azure.monitor.query import LogsQueryPartialResult

        from keyops.azure.errors import azure_errors

        where = scope.id if isinstance(scope, Workspace) else scope
        with azure_errors("query logs", where.rsplit("/", 1)[-1]):
            try:
                if isinstance(scope, Workspace):
                    result = self._logs.query_workspace(
                        scope.customer_id, query, timespan=(start, end)
                    )
                else:
                    result = self._logs.query_resource(scope, query, timespan=(start, end))
            except HttpResponseError as err:
                if err.status_code == 403:
                    raise WorkspaceForbidden(where, err.reason or "Forbidden") from None
                raise
        partial = None
        if isinstance(result, LogsQueryPartialResult):
            partial = str(getattr(result.partial_error, "message", "partial result"))
            tables = result.partial_data
        else:
            tables = result.tables
        rows: list[dict[str, Any]] = []
        for table in tables[:1]:
            names = list(table.columns)
            rows.extend(dict(zip(names, row, strict=True)) for row in table.rows)
        return LogTable(tuple(rows), partial)

    def vault_id(self, vault_url: str, subscription_id: str) -> str:
        """A vault's ARM id from its URL: by name among the vaults of ``subscription_id``, then
        of every other subscription the identity can see (a vault often lives in a shared one)."""
        name = (urlsplit(vault_url).hostname or "").split(".", 1)[0]
        if self._env.emulator is not None:  # its vault URLs are local: the name is listed
            for vault in self._env.emulator.vaults:
                if vault.url.rstrip("/") == vault_url.rstrip("/"):
                    name = vault.name
        found = self._vault_in(subscription_id, name)
        if found is None:
            others = self._list("/subscriptions", SUBSCRIPTION_API, "list subscriptions", "ARM")
            for sub in others:
                sid = str(sub.get("subscriptionId") or "")
                if sid and sid.lower() != subscription_id.lower():
                    try:
                        found = self._vault_in(sid, name)
                    except LogSourceError:
                        continue  # a subscription it may see but not list: search on
                    if found is not None:
                        break
        if found is None:
            raise NotFoundError(f"no vault named {name!r} in the subscriptions this identity sees")
        return found

    def _vault_in(self, subscription_id: str, name: str) -> str | None:
        try:
            vaults = self._list(
                f"/subscriptions/{subscription_id}/resources",
                RESOURCES_API + "&$filter=" + quote("resourceType eq 'Microsoft.KeyVault/vaults'"),
                "list vaults",
                subscription_id,
            )
        except WorkspaceForbidden:
            # _get's 403 names a workspace; here it is the subscription's resource list.
            raise LogSourceError(
                f"403 listing the vaults of subscription {subscription_id}: grant Reader on it"
            ) from None
        for item in vaults:
            if str(item.get("name", "")).lower() == name.lower():
                return str(item["id"])
        return None

    def _list(self, path: str, params: str, what: str, target: str) -> list[dict[str, Any]]:
        """Every page of an ARM list (``nextLink`` followed)."""
        body = self._get(path, params, what, target)
        items = list(body.get("value") or [])
        while body.get("nextLink"):
            body = self._get_url(str(body["nextLink"]), what, target)
            items.extend(body.get("value") or [])
        return items

    def close(self) -> None:
        """Close both pipelines."""
        self._arm.close()
        self._logs.close()


def _message(response: Any) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def _destination(item: dict[str, Any]) -> LogDestination:
    props = item.get("properties") or {}
    categories = tuple(
        str(entry.get("category") or entry.get("categoryGroup"))
        for entry in props.get("logs") or []
        if entry.get("enabled") and (entry.get("category") or entry.get("categoryGroup"))
    )
    return LogDestination(
        name=str(item.get("name", "")),
        categories=categories,
        workspace_id=props.get("workspaceId"),
        storage_account_id=props.get("storageAccountId"),
        event_hub=props.get("eventHubAuthorizationRuleId") or props.get("eventHubName"),
        destination_type=props.get("logAnalyticsDestinationType"),
        created_at=_created(item.get("systemData")),
    )


def _created(system: Any) -> datetime | None:
    text = system.get("createdAt") if isinstance(system, dict) else None
    if not text:
        return None
    from keyops.consumers.queries import parse_time

    try:
        return parse_time(text)
    except ValueError:
        return None  # unknown is no claim: the start-late check is skipped
