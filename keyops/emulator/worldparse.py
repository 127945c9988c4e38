"""Parsing and validation of world documents into :mod:`keyops.emulator.world` dataclasses.

Every error names the field it is about (``accounts[2].kind: ...``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from keyops.emulator.logsworld import parse_logs
from keyops.emulator.world import (
    ACCOUNT_KINDS,
    KEY_FORMATS,
    NETWORK_ACCESS,
    Account,
    Deployment,
    FederatedCredential,
    ManagementGroup,
    Principal,
    RoleAssignment,
    SeedSecret,
    Vault,
    World,
    WorldError,
    WorldSettings,
)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class _Reader:
    """Typed field access that names the field on error."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise WorldError(f"{where}: expected a table/object")
        self.data = data
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, typ: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise WorldError(f"{self.at(key)}: required field missing")
            return default
        value = self.data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise WorldError(f"{self.at(key)}: expected {names}, got {type(value).__name__}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise WorldError(f"{self.at(key)}: {value!r} is not one of {', '.join(choices)}")
        return str(value)

    def items(self, key: str) -> list[_Reader]:
        raw = self.get(key, list, [])
        return [_Reader(item, f"{self.at(key)}[{i}]") for i, item in enumerate(raw)]

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.data) - known)
        if extra:
            raise WorldError(f"{self.at(extra[0])}: unknown field")


def _guid(r: _Reader, key: str) -> str:
    value = str(r.get(key, str))
    if not _GUID.match(value):
        raise WorldError(f"{r.at(key)}: {value!r} is not a GUID")
    return value.lower()


def _str_map(r: _Reader, key: str) -> dict[str, str]:
    raw = r.get(key, dict, {})
    for k, v in raw.items():
        if not isinstance(v, str):
            raise WorldError(f"{r.at(key)}.{k}: expected str")
    return dict(raw)


def _deployment(r: _Reader) -> Deployment:
    r.unknown({"name", "model", "version", "format", "sku", "capacity", "api"})
    return Deployment(
        name=r.get("name", str),
        model=r.get("model", str),
        version=r.get("version", str, "1"),
        format=r.get("format", str, "OpenAI"),
        sku=r.get("sku", str, "Standard"),
        capacity=r.get("capacity", int, 10),
        api=r.choice("api", ("chat", "completions", "embeddings"), "chat"),
    )


def _account(r: _Reader, groups: dict[str, tuple[str, str]]) -> Account:
    r.unknown(
        {
            "name",
            "resource_group",
            "kind",
            "location",
            "custom_subdomain",
            "disable_local_auth",
            "public_network_access",
            "key_format",
            "keys_created",
            "tags",
            "deployments",
            "metrics",
            "count",
            "vault_secret",
        }
    )
    rg = r.get("resource_group", str)
    if rg not in groups:
        raise WorldError(f"{r.at('resource_group')}: no resource group named {rg!r}")
    sub, location = groups[rg]
    name = r.get("name", str)
    if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$", name):
        raise WorldError(f"{r.at('name')}: {name!r} is not a valid account name")
    return Account(
        name=name,
        resource_group=rg,
        subscription_id=sub,
        kind=r.choice("kind", ACCOUNT_KINDS, "OpenAI"),
        location=r.get("location", str, location),
        custom_subdomain=r.get("custom_subdomain", str, None),
        disable_local_auth=r.get("disable_local_auth", bool, False),
        public_network_access=r.choice("public_network_access", NETWORK_ACCESS, "Enabled"),
        key_format=r.choice("key_format", KEY_FORMATS, "annotated"),
        keys_created=r.get("keys_created", str, None),
        tags=_str_map(r, "tags"),
        deployments=tuple(_deployment(d) for d in r.items("deployments")),
        metrics=r.get("metrics", dict, None),
    )


def _fleet(
    r: _Reader, groups: dict[str, tuple[str, str]]
) -> tuple[tuple[Account, ...], list[tuple[str, SeedSecret]]]:
    """Accounts, an entry with ``count = N`` standing for N of them (``<name>-0001``...), and
    the vault secrets their ``vault_secret = "<vault>"`` asks for (``<account>-api-key``, the
    account's Key1, dated like its keys): a compact way to declare a fleet."""
    accounts: list[Account] = []
    seeded: list[tuple[str, SeedSecret]] = []
    for entry in r.items("accounts"):
        template = _account(entry, groups)
        count = entry.get("count", int, None)
        if count is not None and not 1 <= count <= 100_000:
            raise WorldError(f"{entry.at('count')}: expected 1..100000")
        vault = entry.get("vault_secret", str, None)
        for i in range(1, count + 1) if count else [None]:
            acct = template
            if i is not None:
                suffix = f"-{i:04d}"
                sub = f"{acct.custom_subdomain}{suffix}" if acct.custom_subdomain else None
                acct = replace(acct, name=f"{acct.name}{suffix}", custom_subdomain=sub)
            accounts.append(acct)
            if vault is not None:
                secret = SeedSecret(
                    name=f"{acct.name}-api-key",
                    value=None,
                    value_from=f"account:{acct.name}:Key1",
                    created=acct.keys_created,
                    expires=None,
                    enabled=True,
                    content_type=None,
                    tags={"CredentialId": "Key1"},
                )
                seeded.append((vault, secret))
    return tuple(accounts), seeded


def _with_account_secrets(vaults: list[Vault], seeded: list[tuple[str, SeedSecret]]) -> list[Vault]:
    by_name = {v.name: v for v in vaults}
    for vault, _ in seeded:
        if vault not in by_name:
            raise WorldError(f"accounts: vault_secret names no vault called {vault!r}")
    return [
        replace(v, secrets=v.secrets + tuple(s for name, s in seeded if name == v.name))
        for v in vaults
    ]


def _secret(r: _Reader) -> SeedSecret:
    r.unknown(
        {"name", "value", "value_from", "created", "expires", "enabled", "content_type", "tags"}
    )
    value = r.get("value", str, None)
    value_from = r.get("value_from", str, None)
    if (value is None) == (value_from is None):
        raise WorldError(f"{r.where}: exactly one of value, value_from is required")
    if value_from is not None and not re.match(r"^account:[^:]+:Key[12]$", value_from):
        raise WorldError(f"{r.at('value_from')}: expected 'account:<name>:Key1|Key2'")
    return SeedSecret(
        name=r.get("name", str),
        value=value,
        value_from=value_from,
        created=r.get("created", str, None),
        expires=r.get("expires", str, None),
        enabled=r.get("enabled", bool, True),
        content_type=r.get("content_type", str, None),
        tags=_str_map(r, "tags"),
    )


def _principal(r: _Reader) -> Principal:
    r.unknown(
        {"name", "client_id", "object_id", "secret", "managed_identity", "federated_credentials"}
    )
    feds = []
    for f in r.items("federated_credentials"):
        f.unknown({"issuer", "subject", "audience"})
        feds.append(
            FederatedCredential(
                issuer=f.get("issuer", str),
                subject=f.get("subject", str),
                audience=f.get("audience", str, "api://AzureADTokenExchange"),
            )
        )
    return Principal(
        name=r.get("name", str),
        client_id=_guid(r, "client_id"),
        object_id=_guid(r, "object_id"),
        secret=r.get("secret", str, None),
        managed_identity=r.get("managed_identity", bool, False),
        federated_credentials=tuple(feds),
    )


_GROUP_NAME = re.compile(r"^[A-Za-z0-9_.()-]{1,90}$")
_GROUP_SCOPE = re.compile(r"^/providers/Microsoft\.Management/managementGroups/([^/]*)/?$", re.I)


def _management_groups(r: _Reader, subs: set[str], tenant: str) -> tuple[ManagementGroup, ...]:
    """Management groups: Azure's names, each once, each subscription in one group at most,
    each parent a known group (or the tenant root, named by the tenant id: every world has it,
    above every group and every subscription in none), no cycle."""
    groups: list[ManagementGroup] = []
    names: set[str] = set()
    placed: dict[str, str] = {}
    for g in r.items("management_groups"):
        g.unknown({"name", "parent", "subscriptions"})
        name = g.get("name", str)
        if not _GROUP_NAME.match(name):
            raise WorldError(
                f"{g.at('name')}: {name!r} is not a management group name (1 to 90 letters, "
                "digits, '-', '_', '.', '(' or ')')"
            )
        if name.lower() == tenant:
            raise WorldError(
                f"{g.at('name')}: {name!r} is the tenant root group, which every world has "
                "(a subscription in no group is in it): leave it out"
            )
        if name.lower() in names:
            raise WorldError(f"{g.at('name')}: a management group {name!r} is declared already")
        names.add(name.lower())
        members = [str(sub).lower() for sub in g.get("subscriptions", list, [])]
        for sub in members:
            if sub not in subs:
                raise WorldError(f"{g.at('subscriptions')}: unknown subscription {sub!r}")
            if sub in placed:
                raise WorldError(
                    f"{g.at('subscriptions')}: subscription {sub!r} is already in {placed[sub]!r}"
                )
            placed[sub] = name
        parent = g.get("parent", str, None)
        top = parent is None or parent.lower() == tenant  # under the tenant root
        groups.append(ManagementGroup(name, None if top else parent, tuple(members)))
    parents = {g.name.lower(): (g.parent or "").lower() for g in groups}
    for i, group in enumerate(groups):
        where = f"management_groups[{i}].parent"
        if group.parent is not None and group.parent.lower() not in names:
            raise WorldError(f"{where}: no management group {group.parent!r}")
        seen, up = {group.name.lower()}, parents[group.name.lower()]
        while up:
            if up in seen:
                raise WorldError(f"{where}: {group.name!r} is its own ancestor")
            seen.add(up)
            up = parents[up]
    return tuple(groups)


def _assignment_scope(a: _Reader, groups: set[str]) -> str:
    """A role assignment's scope; one at a management group names one of ``groups`` (the
    declared groups and the tenant root, lower case)."""
    scope = str(a.get("scope", str))
    at_group = _GROUP_SCOPE.match(scope)
    if at_group is None and scope.lower().startswith("/providers/microsoft.management/"):
        raise WorldError(f"{a.at('scope')}: {scope!r} is not a management group's scope")
    if at_group is not None:
        name = at_group.group(1).lower()
        if name not in groups:
            raise WorldError(
                f"{a.at('scope')}: no management group {at_group.group(1)!r} (declare it under "
                "management_groups, or name the tenant root by the tenant id)"
            )
    return scope


def parse(data: Any, source: str = "<world>") -> World:
    """Validate a decoded world document; :class:`WorldError` names the first bad field."""
    r = _Reader(data, "")
    r.unknown(
        {
            "tenant_id",
            "seed",
            "settings",
            "subscriptions",
            "management_groups",
            "resource_groups",
            "accounts",
            "vaults",
            "principals",
            "role_assignments",
            "workspaces",
            "diagnostic_settings",
            "consumers",
        }
    )
    subs = [(_guid(s, "id"), s.get("name", str, "Subscription")) for s in r.items("subscriptions")]
    if not subs:
        raise WorldError("subscriptions: at least one subscription is required")
    tenant = _guid(r, "tenant_id")
    management_groups = _management_groups(r, {sub for sub, _name in subs}, tenant)
    groups: dict[str, tuple[str, str]] = {}
    rgs = []
    for g in r.items("resource_groups"):
        g.unknown({"name", "location", "subscription"})
        sub = g.get("subscription", str, subs[0][0]).lower()
        if sub not in {s[0] for s in subs}:
            raise WorldError(f"{g.at('subscription')}: unknown subscription {sub!r}")
        name, location = g.get("name", str), g.get("location", str, "eastus")
        groups[name] = (sub, location)
        rgs.append((sub, name, location))
    accounts, seeded = _fleet(r, groups)
    vaults = []
    for v in r.items("vaults"):
        v.unknown({"name", "resource_group", "secrets"})
        rg = v.get("resource_group", str)
        if rg not in groups:
            raise WorldError(f"{v.at('resource_group')}: no resource group named {rg!r}")
        vaults.append(
            Vault(
                name=v.get("name", str),
                resource_group=rg,
                subscription_id=groups[rg][0],
                secrets=tuple(_secret(s) for s in v.items("secrets")),
            )
        )
    vaults = _with_account_secrets(vaults, seeded)
    principals = tuple(_principal(p) for p in r.items("principals"))
    if not principals:
        raise WorldError("principals: at least one principal is required")
    names = {p.name for p in principals}
    assignments = []
    group_names = {tenant, *(g.name.lower() for g in management_groups)}
    for a in r.items("role_assignments"):
        a.unknown({"principal", "role", "scope"})
        who = a.get("principal", str)
        if who not in names:
            raise WorldError(f"{a.at('principal')}: unknown principal {who!r}")
        scope = _assignment_scope(a, group_names)
        assignments.append(RoleAssignment(principal=who, role=a.get("role", str), scope=scope))
    s = _Reader(r.get("settings", dict, {}), "settings")
    s.unknown({"propagation_delay", "default_principal", "local_auth_delay", "ingestion_delay"})
    settings = WorldSettings(
        propagation_delay=s.get("propagation_delay", float, 0.0),
        local_auth_delay=s.get("local_auth_delay", float, 300.0),
        default_principal=s.get("default_principal", str, ""),
    )
    if settings.default_principal and settings.default_principal not in names:
        raise WorldError(
            f"settings.default_principal: unknown principal {settings.default_principal!r}"
        )
    logs = parse_logs(
        r,
        groups,
        {v.name for v in vaults},
        {a.name for a in accounts},
        names,
        s.get("ingestion_delay", str, "0s"),
    )
    return World(
        tenant_id=tenant,
        seed=r.get("seed", int, 1),
        subscriptions=tuple(subs),
        resource_groups=tuple(rgs),
        accounts=accounts,
        vaults=tuple(vaults),
        principals=principals,
        role_assignments=tuple(assignments),
        settings=settings,
        source=source,
        logs=logs,
        management_groups=management_groups,
    )
