"""Which accounts a command acts on: the configuration's targets and/or discovery through ARM.

With ``[[targets]]`` in the configuration, the discovery flags (``--subscription``,
``--resource-group``, ``--account``, ``--tag``) select among them; without, they discover the
OpenAI and AIServices accounts of a subscription and every account gets ``[defaults]`` (and
``--vault-url``). ``rotate``, ``smoke``, ``audit`` and ``usage`` all resolve targets here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from keyops.config import Config, Settings, TargetSpec, check_vault_url, render_secret_name
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
    """The discovery flags: which accounts (or which configured targets) to act on."""

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


def _target(name: str, account: Account, settings: Settings, line: int | None) -> Target:
    secret = render_secret_name(
        settings.secret_name,
        account=account.name,
        resource_group=account.resource_group,
        subscription=account.subscription_id,
        name=name,
    )
    return Target(name=name, account=account, settings=settings, secret_name=secret, line=line)


def _with_vault(settings: Settings, selection: Selection) -> Settings:
    if selection.vault_url:
        try:
            return replace(settings, vault_url=check_vault_url(selection.vault_url))
        except ValueError as exc:
            raise InputError(f"--vault-url: {exc}") from None
    return settings


def _lookup(
    config: Config,
    spec: TargetSpec,
    client_for: ClientFor,
    cache: dict[tuple[str, str], list[Account]],
    subscription: str | None,
) -> Account:
    from keyops.azure.arm import parse_account_id

    sub = spec.settings.subscription or subscription
    if spec.resource_id:
        ref = parse_account_id(spec.resource_id)
        sub, group, name = ref.subscription_id, ref.resource_group, ref.name
    else:
        group, name = spec.resource_group or "", spec.account or ""
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


def _from_config(
    config: Config, selection: Selection, client_for: ClientFor, subscription: str | None
) -> list[Target]:
    cache: dict[tuple[str, str], list[Account]] = {}
    targets = []
    for spec in config.targets:
        spec_sub = spec.settings.subscription or subscription
        if spec.resource_id:
            from keyops.azure.arm import parse_account_id

            spec_sub = parse_account_id(spec.resource_id).subscription_id
        if selection.subscription and (spec_sub or "").lower() != selection.subscription.lower():
            continue
        account = _lookup(config, spec, client_for, cache, subscription)
        if selection.matches(account):
            settings = _with_vault(spec.settings, selection)
            targets.append(_target(spec.name, account, settings, spec.line))
    if not targets:
        raise InputError(
            f"no target in {config.where()} matches the selection ({_describe(selection)})"
        )
    return targets


def _describe(selection: Selection) -> str:
    parts = [
        f"--subscription {selection.subscription}" if selection.subscription else "",
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
) -> list[Target]:
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
            f"{_describe(replace(selection, subscription=None))}: no OpenAI or AIServices "
            f"account matches in subscription {subscription}"
        )
    settings = _with_vault(config.defaults, selection)
    return [_target(a.name, a, settings, None) for a in chosen]


def resolve_targets(
    config: Config,
    accounts: AccountsClient | ClientFor,
    selection: Selection | None = None,
    *,
    default_subscription: str | None = None,
) -> list[Target]:
    """The targets a command acts on, in configuration (or ARM) order.

    ``accounts`` is an :class:`~keyops.azure.arm.AccountsClient` (clients for other
    subscriptions are derived from it) or a function from subscription id to client. The
    subscription is ``selection.subscription``, else ``[defaults] subscription``, else
    ``default_subscription``, else ``AZURE_SUBSCRIPTION_ID``. A configured account that does not
    exist is a ConfigError naming its line; an ``--account``, ``--resource-group`` or
    ``--tag`` that matches nothing is an InputError naming the filter.
    """
    selection = selection or Selection()
    client_for = _client_for(accounts)
    subscription = (
        selection.subscription
        or config.defaults.subscription
        or default_subscription
        or os.environ.get("AZURE_SUBSCRIPTION_ID")
    )
    if config.targets:
        return _from_config(config, selection, client_for, subscription)
    return _discover(config, selection, client_for, subscription)
