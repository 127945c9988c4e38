"""World-file declarations for the logs that say who uses a key.

Three tables, all optional (a world without them has no workspace, no diagnostic setting and no
consumer), plus one setting::

    [settings]
    ingestion_delay = "2m"        # how late log records become queryable (default "0s")

    [[workspaces]]                # Microsoft.OperationalInsights/workspaces
    name = "ops-logs"
    resource_group = "rg-ops"
    retention_days = 30           # default 30
    readers = ["ops-reader"]      # principals allowed to query it (default: all principals)
    claims = "uri"                # caller claims as claim URIs (..._objectidentifier_g) or
                                  # "short" names (identity_claim_oid_g, claim.oid); real records
                                  # show both. Default: URIs in AZKVAuditLogs, short names in
                                  # AzureDiagnostics

    [[diagnostic_settings]]       # Microsoft.Insights/diagnosticSettings on a vault or account
    resource = "vault:kv-main"    # or "account:aoai-1"
    name = "to-ops"               # default "keyops-logs"
    categories = ["AuditEvent"]   # or "RequestResponse", or a group: "audit", "allLogs"
    workspace = "ops-logs"        # a workspaces[] name (optional)
    storage_account = "/subscriptions/.../storageAccounts/logs"   # optional
    event_hub = "/subscriptions/.../authorizationRules/send"      # optional
    destination_type = "Dedicated"  # AZKVAuditLogs; default "AzureDiagnostics"
    created = "-2d"               # when it was created (systemData.createdAt); records from
                                  # before then are not sent. Default: long before any record

    [[consumers]]                 # an app that reads a secret and calls the data plane
    name = "billing-api"
    ip = "10.20.0.4"              # its caller IP in the logs
    principal = "billing-app"     # a principals[] name: its object id / app id in the logs
    account = "aoai-1"            # the account it calls (optional: a reader only)
    auth = "key"                  # "key" (the key it holds) or "token" (its principal's token)
    secret = "kv-main/aoai-1-api-key"  # the vault secret it reads its key from (optional)
    version = "<id>"              # pin a secret version instead of reading the latest (optional)
    key_slot = "Key1"             # no secret: a key pasted by hand, held from `start` on
    refresh = "24h"               # re-reads the secret on this interval (default "24h")
    calls_every = "5m"            # one data-plane call per interval (default: none)
    start = "-2h"                 # its first activity (default: when the world is made)

Consumers act as the emulator clock advances (lazily, when a request comes; no threads): each
refresh is a ``SecretGet`` in the vault's ``AuditEvent`` log; each call a ``RequestResponse`` record
on the account, answered 200 while the key it holds is one of the account's keys and 401 once it
is not (a premature revoke shows up as its 401s, in logs and metrics). Its owner moves it to Entra
ID (or back) with the admin API, as a human changes the app's config: ``POST
/_emulator/consumers/{name}`` ``{"auth": "token"}``; later calls carry its principal's token
(its object id in the logs) and it stops reading the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyops.emulator.world import _REL, _UNITS, WorldError

CATEGORIES = ("AuditEvent", "RequestResponse", "Audit", "audit", "allLogs")


@dataclass(frozen=True)
class WorkspaceDecl:
    """A Log Analytics workspace."""

    name: str
    resource_group: str
    subscription_id: str
    retention_days: int
    readers: tuple[str, ...] | None
    #: How Key Vault records name the caller's claims: "short", "uri", or None (per table).
    claims: str | None = None

    @property
    def id(self) -> str:
        """The ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.OperationalInsights/workspaces/{self.name}"
        )


@dataclass(frozen=True)
class DiagnosticDecl:
    """A diagnostic setting on a vault or account."""

    resource: str  # "vault:<name>" | "account:<name>"
    name: str
    categories: tuple[str, ...]
    workspace: str | None
    storage_account: str | None
    event_hub: str | None
    destination_type: str | None
    #: When it was created (relative like "-2d", or ISO 8601); None: before any record.
    created: str | None = None


@dataclass(frozen=True)
class ConsumerDecl:
    """An app that reads a secret and/or calls an account's data plane on a schedule."""

    name: str
    ip: str
    principal: str | None
    account: str | None
    auth: str
    secret: str | None  # "<vault>/<secret>"
    version: str | None
    key_slot: str | None
    refresh: str
    calls_every: str | None
    start: str | None


@dataclass(frozen=True)
class LogsWorld:
    """The logs part of a world."""

    workspaces: tuple[WorkspaceDecl, ...] = ()
    diagnostic_settings: tuple[DiagnosticDecl, ...] = ()
    consumers: tuple[ConsumerDecl, ...] = ()
    ingestion_delay: str = "0s"


def seconds(text: str, where: str) -> float:
    """A duration (``30s``, ``5m``, ``24h``, ``7d``) in seconds; WorldError names ``where``."""
    m = _REL.match(text.strip())
    if not m or float(m.group(1)) < 0:
        raise WorldError(f"{where}: {text!r} is not a duration such as 30s, 5m, 24h or 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _duration(r: Any, key: str, default: str | None) -> str | None:
    value = _opt(r, key) if default is None else r.get(key, str, default)
    if value is not None and seconds(value, r.at(key)) <= 0:
        raise WorldError(f"{r.at(key)}: must be longer than 0s")
    return value


def _opt(r: Any, key: str) -> str | None:
    value = r.get(key, str, None)
    return None if value is None else str(value)


def _workspace(r: Any, groups: dict[str, tuple[str, str]], principals: set[str]) -> WorkspaceDecl:
    r.unknown({"name", "resource_group", "retention_days", "readers", "claims"})
    rg = r.get("resource_group", str)
    if rg not in groups:
        raise WorldError(f"{r.at('resource_group')}: no resource group named {rg!r}")
    days = r.get("retention_days", int, 30)
    if not 1 <= days <= 4383:
        raise WorldError(f"{r.at('retention_days')}: expected 1..4383")
    readers = r.get("readers", list, None)
    if readers is not None:
        for who in readers:
            if who not in principals:
                raise WorldError(f"{r.at('readers')}: unknown principal {who!r}")
    return WorkspaceDecl(
        name=r.get("name", str),
        resource_group=rg,
        subscription_id=groups[rg][0],
        retention_days=days,
        readers=None if readers is None else tuple(readers),
        claims=_claims(r),
    )


def _claims(r: Any) -> str | None:
    form = _opt(r, "claims")
    if form not in (None, "short", "uri"):
        raise WorldError(f"{r.at('claims')}: expected 'short' or 'uri'")
    return form


def _diagnostic(r: Any, vaults: set[str], accounts: set[str], spaces: set[str]) -> DiagnosticDecl:
    r.unknown(
        {
            "resource",
            "name",
            "categories",
            "workspace",
            "storage_account",
            "event_hub",
            "destination_type",
            "created",
        }
    )
    resource = r.get("resource", str)
    kind, _, name = resource.partition(":")
    if (kind, name in (vaults if kind == "vault" else accounts)) not in {
        ("vault", True),
        ("account", True),
    }:
        raise WorldError(
            f"{r.at('resource')}: {resource!r} names no vault:<name> or account:<name>"
        )
    categories = r.get("categories", list)
    for c in categories:
        if c not in CATEGORIES:
            raise WorldError(f"{r.at('categories')}: {c!r} is not one of {', '.join(CATEGORIES)}")
    workspace = _opt(r, "workspace")
    if workspace is not None and workspace not in spaces:
        raise WorldError(f"{r.at('workspace')}: no workspace named {workspace!r}")
    return DiagnosticDecl(
        resource=resource,
        name=r.get("name", str, "keyops-logs"),
        categories=tuple(categories),
        workspace=workspace,
        storage_account=_opt(r, "storage_account"),
        event_hub=_opt(r, "event_hub"),
        destination_type=r.choice(
            "destination_type", ("Dedicated", "AzureDiagnostics"), "AzureDiagnostics"
        ),
        created=_time(r, "created"),
    )


def _time(r: Any, key: str) -> str | None:
    from keyops.emulator.world import relative_time

    value = _opt(r, key)
    if value is not None:
        relative_time(value, 0.0, r.at(key))  # refuses a malformed time now, not at start
    return value


def _consumer(r: Any, vaults: set[str], accounts: set[str], principals: set[str]) -> ConsumerDecl:
    r.unknown(
        {
            "name",
            "ip",
            "principal",
            "account",
            "auth",
            "secret",
            "version",
            "key_slot",
            "refresh",
            "calls_every",
            "start",
        }
    )
    principal, account, secret = _opt(r, "principal"), _opt(r, "account"), _opt(r, "secret")
    auth = r.choice("auth", ("key", "token"), "key")
    if principal is not None and principal not in principals:
        raise WorldError(f"{r.at('principal')}: unknown principal {principal!r}")
    if account is not None and account not in accounts:
        raise WorldError(f"{r.at('account')}: no account named {account!r}")
    if secret is not None and secret.partition("/")[0] not in vaults:
        raise WorldError(f"{r.at('secret')}: expected '<vault>/<secret>' naming a declared vault")
    if secret is not None and principal is None:
        raise WorldError(f"{r.at('secret')}: a consumer that reads a secret needs a principal")
    if auth == "token" and principal is None:
        raise WorldError(f"{r.at('auth')}: a token consumer needs a principal")
    key_slot = _opt(r, "key_slot")
    if key_slot is not None and key_slot not in ("Key1", "Key2"):
        raise WorldError(f"{r.at('key_slot')}: expected Key1 or Key2")
    if account is not None and auth == "key" and secret is None and key_slot is None:
        raise WorldError(f"{r.where}: a key consumer needs a secret to read or a key_slot")
    return ConsumerDecl(
        name=r.get("name", str),
        ip=r.get("ip", str),
        principal=principal,
        account=account,
        auth=auth,
        secret=secret,
        version=_opt(r, "version"),
        key_slot=key_slot,
        refresh=str(_duration(r, "refresh", "24h")),
        calls_every=_duration(r, "calls_every", None),
        start=_opt(r, "start"),
    )


def parse_logs(
    r: Any,
    groups: dict[str, tuple[str, str]],
    vaults: set[str],
    accounts: set[str],
    principals: set[str],
    ingestion_delay: str,
) -> LogsWorld:
    """The logs part of a world document (``r`` is worldparse's field reader)."""
    seconds(ingestion_delay, "settings.ingestion_delay")
    spaces = tuple(_workspace(w, groups, principals) for w in r.items("workspaces"))
    names = {w.name for w in spaces}
    return LogsWorld(
        workspaces=spaces,
        diagnostic_settings=tuple(
            _diagnostic(d, vaults, accounts, names) for d in r.items("diagnostic_settings")
        ),
        consumers=tuple(_consumer(c, vaults, accounts, principals) for c in r.items("consumers")),
        ingestion_delay=ingestion_delay,
    )
