"""Azure access shared by the commands: target-selection options and one session of clients."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyops.cli.context import AppContext
from keyops.cli.params import check_subscription_option, check_vault_url_option
from keyops.errors import ConfigError, InputError

if TYPE_CHECKING:
    from keyops.azure.arm import AccountsClient
    from keyops.azure.vault import VaultClient
    from keyops.config import Config
    from keyops.targets import Target

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(fn: F) -> F:
    """The selection flags every command that acts on accounts shares.

    ``--subscription`` and ``--vault-url`` are defaults for targets without their own (never
    filters); ``--resource-group``, ``--account`` and ``--tag`` are filters.
    """
    options = [
        click.option(
            "--subscription",
            envvar="KEYOPS_SUBSCRIPTION",
            callback=check_subscription_option,
            help="Subscription to discover accounts in, and the default for configured targets "
            "without one (default: AZURE_SUBSCRIPTION_ID); not a filter.",
        ),
        click.option(
            "--resource-group",
            "-g",
            envvar="KEYOPS_RESOURCE_GROUP",
            help="Only accounts in this resource group.",
        ),
        click.option(
            "--account", "-a", envvar="KEYOPS_ACCOUNT", help="Only this account (by name)."
        ),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            envvar="KEYOPS_TAG",
            metavar="KEY[=VALUE]",
            help="Only accounts with this tag (repeatable; all must match).",
        ),
        click.option(
            "--vault-url",
            envvar="KEYOPS_VAULT_URL",
            callback=check_vault_url_option,
            help="Vault holding the keys, for targets without a vault_url in the configuration.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def probe_options(*, attempts: int, workers: int, per: str) -> Callable[[F], F]:
    """How ``smoke`` and ``audit`` make their data-plane calls: ``--api-version``,
    ``--timeout``, ``--attempts`` (per ``per``, e.g. ``target``) and ``--workers``."""
    options = [
        click.option(
            "--api-version", help="Data-plane api-version for the calls (default: 2024-10-21)."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds to wait for each data-plane answer.",
        ),
        click.option(
            "--attempts",
            type=click.IntRange(min=1, max=10),
            default=attempts,
            show_default=True,
            help=f"Attempts per {per} (429 and 5xx are retried).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1, max=64),
            default=workers,
            show_default=True,
            help="Accounts called in parallel.",
        ),
    ]

    def decorate(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def resolve_cli_targets(
    app: AppContext,
    accounts: AccountsClient | Callable[[str], AccountsClient],
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
) -> list[Target]:
    """The one selection path of the CLI: targets from the configuration and the selection
    flags (``accounts``: a client, or a function from subscription to client such as
    :meth:`AzureSession.accounts_for`); its notes (defaults that differ from configured
    values, configured targets a filter left out) go to stderr."""
    from keyops.config import load_config
    from keyops.render import diag
    from keyops.targets import Selection, parse_tag_filters, select_targets

    selection = Selection(
        subscription=subscription,
        resource_group=resource_group,
        account=account,
        tags=parse_tag_filters(tags),
        vault_url=vault_url,
    )
    resolved = select_targets(
        load_config(app.config), accounts, selection, default_subscription=default_subscription(app)
    )
    for note in resolved.notes:
        diag(f"note: {note}")
    return resolved.targets


#: A vault for targets whose configuration names none (``keyops emulator env`` sets it).
VAULT_URL_ENV = "KEYOPS_VAULT_URL"


def load_cli_config(app: AppContext) -> Config:
    """The configuration (``--config``, ``KEYOPS_CONFIG`` or ./keyops.toml), with
    ``KEYOPS_VAULT_URL`` as the vault of ``[defaults]`` and of every target that names none: a
    default, never an override of a configured vault (``--vault-url`` is the override)."""
    from dataclasses import replace

    from keyops.config import check_vault_url, load_config

    config = load_config(app.config)
    fallback = os.environ.get(VAULT_URL_ENV, "").strip()
    if not fallback:
        return config
    try:
        check_vault_url(fallback)
    except ValueError as exc:
        raise ConfigError(f"{VAULT_URL_ENV}: {exc}") from None

    def filled(settings: Any) -> Any:
        return settings if settings.vault_url else replace(settings, vault_url=fallback)

    targets = tuple(replace(t, settings=filled(t.settings)) for t in config.targets)
    return replace(config, defaults=filled(config.defaults), targets=targets)


def default_subscription(app: AppContext) -> str | None:
    """The emulator's subscription, when running against it."""
    return app.env.emulator.subscription_id if app.env.emulator else None


class AzureSession:
    """The Azure clients one command run makes (on first use), closed together at the end.

    Thread-safe: commands hand :meth:`accounts_for` and :meth:`vault` to parallel workers.
    Closing matters beyond tidiness: an idle keep-alive connection holds a server's graceful
    shutdown (the emulator's, in tests).
    """

    def __init__(self, app: AppContext, subscription: str | None = None) -> None:
        self.app = app
        self.subscription = subscription
        self._credential: Any = None
        self._accounts: dict[str, AccountsClient] = {}
        self._vaults: dict[str, VaultClient] = {}
        self._lock = threading.RLock()

    def credential(self) -> Any:
        """The identity keyops runs as (azure-identity's chain for the environment)."""
        from keyops.azure.identity import build_credential

        with self._lock:
            if self._credential is None:
                self._credential = build_credential(self.app.env)
            return self._credential

    def accounts(self) -> AccountsClient:
        """The ARM client for the first subscription that applies: ``--subscription``, the
        configuration's, ``AZURE_SUBSCRIPTION_ID``, the emulator's."""
        sub = self.subscription or self._configured_subscription
        if not sub:
            raise InputError("no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID")
        return self.accounts_for(sub)

    @cached_property
    def _configured_subscription(self) -> str | None:
        from keyops.config import load_config

        return (
            load_config(self.app.config).defaults.subscription
            or os.environ.get("AZURE_SUBSCRIPTION_ID")
            or default_subscription(self.app)
        )

    def accounts_for(self, subscription: str) -> AccountsClient:
        """One ARM client per subscription."""
        from keyops.azure.arm import AccountsClient

        with self._lock:
            key = subscription.lower()
            if key not in self._accounts:
                self._accounts[key] = AccountsClient(self.app.env, self.credential(), subscription)
            return self._accounts[key]

    def vault(self, url: str) -> VaultClient:
        """One VaultClient per vault URL."""
        from keyops.azure.vault import VaultClient

        with self._lock:
            if url not in self._vaults:
                self._vaults[url] = VaultClient(self.app.env, self.credential(), url)
            return self._vaults[url]

    def close(self) -> None:
        """Close every client made."""
        with self._lock:
            for client in [*self._vaults.values(), *self._accounts.values(), self._credential]:
                if client is not None:
                    client.close()
            self._vaults.clear()
            self._accounts.clear()
            self._credential = None

    def __enter__(self) -> AzureSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
