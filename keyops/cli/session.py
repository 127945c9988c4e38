"""Azure access shared by the commands: target-selection options and one session of clients."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyops.cli.context import AppContext
from keyops.errors import InputError

if TYPE_CHECKING:
    from keyops.azure.arm import AccountsClient
    from keyops.azure.vault import VaultClient
    from keyops.targets import Target

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(fn: F) -> F:
    """The discovery flags shared by ``smoke`` and ``audit``."""
    options = [
        click.option(
            "--subscription",
            envvar="KEYOPS_SUBSCRIPTION",
            help="Subscription id (default: configuration, AZURE_SUBSCRIPTION_ID).",
        ),
        click.option("--resource-group", "-g", help="Only accounts in this resource group."),
        click.option("--account", "-a", help="Only this account (by name)."),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="KEY[=VALUE]",
            help="Only accounts with this tag (repeatable).",
        ),
        click.option(
            "--vault-url",
            envvar="KEYOPS_VAULT_URL",
            help="Vault holding the keys (overrides the configuration).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def resolve_cli_targets(
    app: AppContext,
    accounts: AccountsClient,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
) -> list[Target]:
    """Targets from the configuration and the discovery flags."""
    from keyops.config import load_config
    from keyops.targets import Selection, parse_tag_filters, resolve_targets

    selection = Selection(
        subscription=subscription,
        resource_group=resource_group,
        account=account,
        tags=parse_tag_filters(tags),
        vault_url=vault_url,
    )
    return resolve_targets(
        load_config(app.config), accounts, selection, default_subscription=default_subscription(app)
    )


def default_subscription(app: AppContext) -> str | None:
    """The emulator's subscription, when running against it."""
    return app.env.emulator.subscription_id if app.env.emulator else None


class AzureSession:
    """The Azure clients one command run makes (on first use), closed together at the end.

    Closing matters beyond tidiness: an idle keep-alive connection holds a server's graceful
    shutdown (the emulator's, in tests).
    """

    def __init__(self, app: AppContext, subscription: str | None) -> None:
        self.app = app
        self.subscription = subscription
        self._credential: Any = None
        self._accounts: AccountsClient | None = None
        self._vaults: dict[str, VaultClient] = {}
        self._lock = threading.Lock()

    def credential(self) -> Any:
        """The identity keyops runs as (azure-identity's chain for the environment)."""
        from keyops.azure.identity import build_credential

        with self._lock:
            if self._credential is None:
                self._credential = build_credential(self.app.env)
            return self._credential

    def accounts(self) -> AccountsClient:
        """An AccountsClient for the first subscription that applies."""
        from keyops.azure.arm import AccountsClient
        from keyops.config import load_config

        if self._accounts is None:
            sub = (
                self.subscription
                or load_config(self.app.config).defaults.subscription
                or default_subscription(self.app)
                or os.environ.get("AZURE_SUBSCRIPTION_ID")
            )
            if not sub:
                raise InputError(
                    "no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID"
                )
            self._accounts = AccountsClient(self.app.env, self.credential(), sub)
        return self._accounts

    def vault(self, url: str) -> VaultClient:
        """One VaultClient per vault URL."""
        from keyops.azure.vault import VaultClient

        credential = self.credential()
        with self._lock:
            if url not in self._vaults:
                self._vaults[url] = VaultClient(self.app.env, credential, url)
            return self._vaults[url]

    def close(self) -> None:
        """Close every client made."""
        for client in [*self._vaults.values(), self._accounts, self._credential]:
            if client is not None:
                client.close()

    def __enter__(self) -> AzureSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def accounts_for(accounts: AccountsClient) -> Callable[[str], AccountsClient]:
    """``accounts`` for its own subscription, a derived client for any other."""

    def client_for(subscription: str) -> AccountsClient:
        if subscription.lower() == accounts.subscription_id.lower():
            return accounts
        return accounts.with_subscription(subscription)

    return client_for
