"""Which accounts a command acts on: the configuration's targets and/or discovery through ARM.

With ``[[targets]]`` in the configuration, the filters (``--resource-group``, ``--account``,
``--tag``) select among them, and a filter that leaves configured targets out says how many and
which; without, the OpenAI and AIServices accounts of a subscription are discovered and every
account gets ``[defaults]``. ``--subscription`` / ``AZURE_SUBSCRIPTION_ID`` and ``--vault-url``
are *defaults* for targets that lack a subscription or a vault, never filters or overrides of
configured ones (where they differ, a note says so). Every command that selects accounts
(``rotate``, ``smoke``, ``audit``, ``usage``, ``scan``, ``run``/``env``/``export``) resolves them
through :func:`select_targets`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from keyops.config import (
    Config,
    SecretCopy,
    Settings,
    TargetSpec,
    check_vault_url,
    render_secret_name,
)
from keyops.errors import ConfigError, InputError, NotFoundError

if TYPE_CHECKING:
    from keyops.azure.arm import Account, AccountsClient, Deployment


@dataclass(frozen=True)
class Target:
    """One account to act on, with its effective settings."""

    name: str
    account: Account
    settings: Settings
    secret_name: str
    line: int | None = None

    @property
    def copies(self) -> tuple[SecretCopy, ...]:
        """The other secrets each rotation writes the same key to (``also_store``)."""
        return self.settings.also_store

    @property
    def resource_id(self) -> str:
        """The account's ARM resource id."""
        return self.account.id

    @property
    def vault_url(self) -> str | None:
        """The vault holding the account's key, if configured."""
        return self.settings.vault_url

    @property
    def deployment(self) -> str | None:
        """The deployment to smoke-test (None: the first chat deployment ARM lists)."""
        return self.settings.deployment

    @property
    def api_version(self) -> str | None:
        """The data-plane api-version (None: the probe's default)."""
        return self.settings.api_version

    @property
    def rotate_after(self) -> timedelta | None:
        """Rotate only when the latest secret version is older than this."""
        return self.settings.rotate_after

    @property
    def grace(self) -> timedelta:
        """The previous key must have been superseded at least this long before it is reused."""
        return self.settings.grace

    @property
    def validity(self) -> timedelta | None:
        """``exp`` of a new secret version is its creation time plus this."""
        return self.settings.validity


@dataclass(frozen=True)
class Selection:
    """What the user asked for: filters (resource group, account, tags) and defaults
    (subscription, vault URL) for targets that lack them."""

    subscription: str | None = None
    resource_group: str | None = None
    account: str | None = None
    tags: Mapping[str, str | None] | None = None
    vault_url: str | None = None

    def matches(self, account: Account) -> bool:
        """Whether an account passes the resource group, name and tag filters."""
        if self.resource_group and account.resource_group.lower() != self.resource_group.lower():
            return False
        if self.account and account.name.lower() != self.account.lower():
            return False
        for key, value in (self.tags or {}).items():
            have = {k.lower(): v for k, v in account.tags.items()}
            if key.lower() not in have or (value is not None and have[key.lower()] != value):
                return False
        return True


def parse_tag_filters(values: Iterable[str]) -> dict[str, str | None]:
    """``key=value`` (or just ``key``: the tag exists) filters from ``--tag`` options."""
    filters: dict[str, str | None] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        if not key.strip():
            raise InputError(f"bad --tag {raw!r} (expected KEY=VALUE or KEY)")
        filters[key.strip()] = value.strip() if sep else None
    return filters


def pick_deployment(deployments: Sequence[Deployment], wanted: str | None) -> Deployment | None:
    """The named deployment (case-insensitive), else the first chat deployment ARM lists."""
    if wanted:
        return next((d for d in deployments if d.name.lower() == wanted.lower()), None)
    return next((d for d in deployments if d.is_chat), None)


ClientFor = Callable[[str], "AccountsClient"]


def _client_for(accounts: AccountsClient | ClientFor) -> ClientFor:
    from keyops.azure.arm import AccountsClient

    if not isinstance(accounts, AccountsClient):
        return accounts
    made: dict[str, AccountsClient] = {accounts.subscription_id.lower(): accounts}

    def client_for(subscription: str) -> AccountsClient:
        key = subscription.lower()
        if key not in made:
            made[key] = accounts.with_subscription(subscription)
        return made[key]

    return client_for


def make_target(name: str, account: Account, settings: Settings, line: int | None) -> Target:
    """The target of a configured (or discovered) account, its secret name rendered."""
    secret = render_secret_name(
        settings.secret_name,
        account=account.name,
        resource_group=account.resource_group,
        subscription=account.subscription_id,
        name=name,
    )
    return Target(name=name, account=account, settings=settings, secret_name=secret, line=line)


@dataclass(frozen=True)
class Resolved:
    """The selected targets and the notes the user should see on stderr (one line each)."""

    targets: list[Target]
    notes: list[str] = field(default_factory=list)


def _with_vault(settings: Settings, selection: Selection) -> Settings:
    if selection.vault_url and not settings.vault_url:
        try:
            return replace(settings, vault_url=check_vault_url(selection.vault_url))
        except ValueError as exc:
            raise InputError(f"--vault-url: {exc}") from None
    return settings


def _spec_subscription(spec: TargetSpec) -> str | None:
    if spec.resource_id:
        from keyops.azure.arm import parse_account_id

        return parse_account_id(spec.resource_id).subscription_id
    return spec.settings.subscription


def _lookup(
    config: Config,
    spec: TargetSpec,
    client_for: ClientFor,
    cache: dict[tuple[str, str], list[Account]],
    subscription: str | None,
) -> Account:
    sub = _spec_subscription(spec) or subscription
    group, name = spec.resource_group or "", spec.account or ""
    if spec.resource_id:
        from keyops.azure.arm import parse_account_id

        ref = parse_account_id(spec.resource_id)
        group, name = ref.resource_group, ref.name
    if not sub:
        raise ConfigError(
            f"{config.where(spec.line)}: target {spec.name!r} has no subscription "
            "(set subscription, or pass --subscription / AZURE_SUBSCRIPTION_ID)"
        )
    key = (sub.lower(), group.lower())
    if key not in cache:
        try:
            cache[key] = client_for(sub).list_accounts(group)
        except NotFoundError:
            cache[key] = []
    found = next((a for a in cache[key] if a.name.lower() == name.lower()), None)
    if found is None:
        raise ConfigError(
            f"{config.where(spec.line)}: target {spec.name!r}: no account {name!r} "
            f"in resource group {group!r} of subscription {sub}"
        )
    if not found.is_openai:
        raise ConfigError(
            f"{config.where(spec.line)}: target {spec.name!r}: account {name!r} is "
            f"of kind {found.kind}, not OpenAI or AIServices"
        )
    return found


def _shown(names: Sequence[str], limit: int = 5) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


def _default_notes(
    config: Config, targets: Sequence[Target], selection: Selection, subscription: str | None
) -> list[str]:
    """Where a subscription or vault given as a default differs from configured ones."""
    notes = []
    if subscription:
        other = [
            t.name for t in targets if t.account.subscription_id.lower() != subscription.lower()
        ]
        if other:
            notes.append(
                f"subscription {subscription} is only a default for targets without one, not a "
                f"filter: {len(other)} target(s) of {config.where()} in other subscriptions "
                f"included: {_shown(other)}"
            )
    if selection.vault_url:
        wanted = selection.vault_url.rstrip("/").lower()
        other = [t.name for t in targets if t.vault_url and t.vault_url.lower() != wanted]
        if other:
            notes.append(
                f"--vault-url {selection.vault_url} is a default for targets without one: "
                f"{len(other)} target(s) keep the vault_url of {config.where()}: {_shown(other)}"
            )
    return notes


def _from_config(
    config: Config, selection: Selection, client_for: ClientFor, subscription: str | None
) -> Resolved:
    cache: dict[tuple[str, str], list[Account]] = {}
    targets, left_out = [], []
    for spec in config.targets:
        account = _lookup(config, spec, client_for, cache, subscription)
        if not selection.matches(account):
            left_out.append(spec.name)
            continue
        settings = _with_vault(spec.settings, selection)
        targets.append(make_target(spec.name, account, settings, spec.line))
    if not targets:
        raise InputError(
            f"no target in {config.where()} matches the selection ({_describe(selection)})"
        )
    notes = _default_notes(config, targets, selection, subscription)
    if left_out:
        notes.append(
            f"{_describe(selection)} leaves out {len(left_out)} of {len(config.targets)} "
            f"configured targets: {_shown(left_out)}"
        )
    return Resolved(targets, notes)


def _describe(selection: Selection) -> str:
    parts = [
        f"--resource-group {selection.resource_group}" if selection.resource_group else "",
        f"--account {selection.account}" if selection.account else "",
        *(
            f"--tag {k}={v}" if v is not None else f"--tag {k}"
            for k, v in (selection.tags or {}).items()
        ),
    ]
    return " ".join(p for p in parts if p) or "no filters"


def _discover(
    config: Config, selection: Selection, client_for: ClientFor, subscription: str | None
) -> Resolved:
    if not subscription:
        raise InputError(
            "no subscription to discover accounts in: pass --subscription or set "
            "AZURE_SUBSCRIPTION_ID (or list [[targets]] in keyops.toml)"
        )
    try:
        accounts = client_for(subscription).list_accounts(selection.resource_group)
    except NotFoundError as exc:
        if not selection.resource_group:
            raise
        # The user's filter names a group that is not there: a wrong argument, like an
        # unknown --account, not a service failure.
        raise InputError(f"--resource-group {selection.resource_group}: {exc}") from None
    chosen = [a for a in accounts if a.is_openai and selection.matches(a)]
    if not chosen and (selection.resource_group or selection.account or selection.tags):
        raise InputError(
            f"{_describe(selection)}: no OpenAI or AIServices "
            f"account matches in subscription {subscription}"
        )
    settings = _with_vault(config.defaults, selection)
    targets = [make_target(a.name, a, settings, None) for a in chosen]
    notes = _default_notes(config, targets, selection, selection.subscription)
    return Resolved(targets, notes)


def select_targets(
    config: Config,
    accounts: AccountsClient | ClientFor,
    selection: Selection | None = None,
    *,
    default_subscription: str | None = None,
) -> Resolved:
    """The targets a command acts on, in configuration (or ARM) order, with notes for stderr.

    ``accounts`` is an :class:`~keyops.azure.arm.AccountsClient` (clients for other
    subscriptions are derived from it) or a function from subscription id to client. A target
    without a subscription of its own (in its entry or ``[defaults]``) takes
    ``selection.subscription``, else ``AZURE_SUBSCRIPTION_ID``, else ``default_subscription``;
    discovery searches that subscription. A configured account that does not exist is a
    ConfigError naming its line; an ``--account``, ``--resource-group`` or ``--tag`` that
    matches nothing is an InputError naming the filter.
    """
    selection = selection or Selection()
    client_for = _client_for(accounts)
    fallback = (
        selection.subscription or os.environ.get("AZURE_SUBSCRIPTION_ID") or default_subscription
    )
    if config.targets:
        return _from_config(config, selection, client_for, fallback)
    return _discover(config, selection, client_for, config.defaults.subscription or fallback)


def resolve_targets(
    config: Config,
    accounts: AccountsClient | ClientFor,
    selection: Selection | None = None,
    *,
    default_subscription: str | None = None,
) -> list[Target]:
    """:func:`select_targets` without its notes (for callers that have no stderr)."""
    return select_targets(
        config, accounts, selection, default_subscription=default_subscription
    ).targets


def check_one_writer(targets: Sequence[Target]) -> None:
    """Refuse (ConfigError, status 3) two targets on one account, or two writing one secret.

    Two targets on one account regenerate each other's key: the second run's "inactive" slot is
    the key the first just stored. Two accounts rendered to one secret name (a template without
    ``{account}``), or a copy naming another target's secret, make one secret hold two accounts'
    keys. Resource ids and secret names compare case-insensitively, as Azure does.
    """
    by_account: dict[str, Target] = {}
    for target in targets:
        first = by_account.setdefault(target.resource_id.lower(), target)
        if first is not target:
            raise ConfigError(
                f"targets {first.name!r} and {target.name!r} both rotate account "
                f"{target.account.name} ({target.resource_id}): one writer per account; keep "
                "one target and list the other secrets in its also_store"
            )
    writers: dict[tuple[str, str], Target] = {}
    for target in targets:
        for vault, name in _written(target):
            first = writers.setdefault((vault.rstrip("/").lower(), name.lower()), target)
            if first is not target:
                raise ConfigError(
                    f"targets {first.name!r} and {target.name!r} both write secret {name} in "
                    f"{vault}: use a secret_name template with {{account}} (or {{name}}) so "
                    "each account has its own secret"
                )


def _written(target: Target) -> list[tuple[str, str]]:
    main = [(target.vault_url, target.secret_name)] if target.vault_url else []
    copies = [(c.vault_url, c.secret_name) for c in target.copies]
    seen: set[tuple[str, str]] = set()
    for vault, name in [*main, *copies]:
        key = (vault.rstrip("/").lower(), name.lower())
        if key in seen:
            raise ConfigError(
                f"target {target.name!r}: also_store names its own secret {name} in {vault}"
            )
        seen.add(key)
    return [*main, *copies]
