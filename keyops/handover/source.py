"""Which key to hand over, and where its endpoint is: a configured target or a vault secret.

``--target NAME`` takes the vault, the secret name and the account endpoint from ``keyops.toml``
(the account is looked up in ARM); ``--vault URL --secret NAME`` reads that secret, and the
endpoint comes from ``--endpoint``, else the secret's ``Endpoint`` tag (``keyops rotate`` writes
it), else the account its ``ProviderAddress`` tag names. With neither, a configuration with a
single target means that target. Keys are sent only to ``https://`` endpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from keyops.errors import ConfigError, InputError, ServiceError
from keyops.secret import SecretValue, check_key_text

if TYPE_CHECKING:
    from keyops.azure.arm import AccountsClient
    from keyops.azure.vault import SecretVersion, VaultClient
    from keyops.config import Config

log = logging.getLogger(__name__)

#: The variables the OpenAI SDKs and Azure's samples read.
DEFAULT_KEY_VARIABLE = "AZURE_OPENAI_API_KEY"
DEFAULT_ENDPOINT_VARIABLE = "AZURE_OPENAI_ENDPOINT"


@dataclass(frozen=True)
class Variable:
    """A variable to hand over; a :class:`SecretValue` value is a secret (masked first)."""

    name: str
    value: SecretValue | str

    @property
    def secret(self) -> bool:
        """Whether the value must be masked."""
        return isinstance(self.value, SecretValue)

    def text(self) -> str:
        """The value itself (revealed: only for the one place it is handed to)."""
        return self.value.reveal() if isinstance(self.value, SecretValue) else self.value


@dataclass(frozen=True)
class KeyRequest:
    """The selection options of ``run``/``env``/``export``."""

    target: str | None = None
    vault_url: str | None = None
    secret_name: str | None = None
    endpoint: str | None = None
    account: str | None = None

    def check(self) -> None:
        """Refuse contradictory or incomplete selections (InputError)."""
        if self.target and self.secret_name:
            raise InputError("--target names its own secret; give --target or --secret, not both")
        if self.account and (self.target or self.secret_name):
            raise InputError(
                "--account finds the account's secret by the configured secret_name; give "
                "--account, --target or --secret, one of them"
            )
        if not self.target and not self.account and bool(self.vault_url) != bool(self.secret_name):
            raise InputError("--vault and --secret go together (or use --target NAME)")
        if self.vault_url:
            from keyops.config import check_vault_url

            try:
                check_vault_url(self.vault_url)
            except ValueError as exc:
                raise InputError(f"--vault: {exc}") from None
        if self.endpoint:
            check_endpoint(self.endpoint)


@dataclass(frozen=True)
class Handover:
    """A key read from Key Vault and the endpoint it is for."""

    key: SecretValue
    endpoint: str
    vault: str
    secret_name: str
    version: str

    def describe(self) -> str:
        """Where the key came from, with its fingerprint (safe to print)."""
        return (
            f"{self.key.fingerprint} from vault {self.vault} secret {self.secret_name} "
            f"(version {self.version or 'latest'})"
        )

    def variables(
        self,
        key_variable: str = DEFAULT_KEY_VARIABLE,
        endpoint_variable: str = DEFAULT_ENDPOINT_VARIABLE,
    ) -> list[Variable]:
        """The key and the endpoint as variables to hand over."""
        return [Variable(key_variable, self.key), Variable(endpoint_variable, self.endpoint)]


class Clients(Protocol):
    """The Azure clients a hand-over needs (made on first use by the caller)."""

    def accounts_for(self, subscription: str) -> AccountsClient:
        """An ARM client for one subscription."""

    def vault(self, url: str) -> VaultClient:
        """A client for one vault."""


def check_endpoint(url: str) -> str:
    """An account endpoint a key may be sent to, with one trailing slash.

    The data-plane probe's own check: ``http://`` is a RefusedError, a malformed URL an
    InputError. A child process, a .env file or a later pipeline step will send the key there.
    """
    from keyops.azure.probe import normalize_endpoint

    return normalize_endpoint(url)


def _spec_name(config: Config, request: KeyRequest) -> str | None:
    if request.target:
        return request.target
    if request.secret_name or request.account:
        return None
    if len(config.targets) == 1:
        return config.targets[0].name
    found = (
        f"{config.where()} has {len(config.targets)} targets"
        if config.path
        else "no keyops.toml found"
    )
    raise InputError(
        f"which key? pass --account NAME, --target NAME or --vault URL --secret NAME ({found})"
    )


def _latest(vault: VaultClient, secret_name: str) -> SecretVersion:
    latest = vault.get_latest(secret_name)
    if latest is None:
        # The name came from --secret or keyops.toml: a user's mistake, not Azure's (status 3).
        raise ConfigError(
            f"no secret {secret_name!r} in vault {vault.name} (check --secret or the "
            "target's secret_name; `keyops rotate` stores one per account)"
        )
    if latest.value is None:
        raise ServiceError(f"secret {secret_name!r} in vault {vault.name} has no value")
    # Handed over as it is stored: a stray newline would break the .env file, the pipeline's
    # masking command and every consumer's header, so it is refused here instead.
    check_key_text(latest.value, f"the key in secret {secret_name!r} of vault {vault.name}")
    if not latest.is_live(datetime.now(timezone.utc)):
        log.warning("secret %s in vault %s is expired or not yet valid", secret_name, vault.name)
    return latest


def _endpoint_from_tags(latest: SecretVersion, clients: Clients) -> str:
    from keyops.rotate.tags import ENDPOINT_TAG, PROVIDER_TAG

    if latest.tags.get(ENDPOINT_TAG):
        return latest.tags[ENDPOINT_TAG]
    provider = latest.tags.get(PROVIDER_TAG)
    if provider:
        from keyops.azure.arm import parse_account_id

        try:
            ref = parse_account_id(provider)
        except ConfigError:
            ref = None
        if ref is not None:
            endpoint = clients.accounts_for(ref.subscription_id).get_account(ref.id).endpoint
            if endpoint:
                return endpoint
    raise ConfigError(
        f"secret {latest.name!r} names no endpoint (no {ENDPOINT_TAG} or "
        f"{PROVIDER_TAG} tag): pass --endpoint URL"
    )


def _from_target(
    name: str,
    config: Config,
    request: KeyRequest,
    clients: Clients,
    default_subscription: str | None,
    notes: list[str],
) -> tuple[str, str, str]:
    """(vault URL, secret name, endpoint) of a configured target (``--vault`` is a default for
    a target without a vault_url; where it differs, ``notes`` says so)."""
    from keyops.targets import Selection, select_targets

    spec = next((t for t in config.targets if t.name == name), None)
    if spec is None:
        known = ", ".join(t.name for t in config.targets) or "none"
        raise ConfigError(f"no target {name!r} in {config.where()} (targets: {known})")
    resolved = select_targets(
        replace(config, targets=(spec,)),
        clients.accounts_for,
        Selection(vault_url=request.vault_url),
        default_subscription=default_subscription,
    )
    notes.extend(resolved.notes)
    (target,) = resolved.targets
    if not target.vault_url:
        raise ConfigError(
            f"{config.where(spec.line)}: target {name!r} has no vault_url "
            "(set it, or pass --vault URL)"
        )
    return target.vault_url, target.secret_name, target.account.endpoint


def _from_account(
    account: str,
    config: Config,
    request: KeyRequest,
    clients: Clients,
    default_subscription: str | None,
) -> tuple[str, str, str]:
    """(vault URL, secret name, endpoint) of an account found by name, as every other command
    selects it: a configured target's settings, else discovery with ``[defaults]``."""
    from keyops.targets import Selection, resolve_targets

    found = resolve_targets(
        config,
        clients.accounts_for,
        Selection(account=account, vault_url=request.vault_url),
        default_subscription=default_subscription,
    )
    if len(found) != 1:
        names = ", ".join(t.resource_id for t in found)
        raise InputError(f"--account {account} matches {len(found)} accounts ({names})")
    target = found[0]
    if not target.vault_url:
        raise ConfigError(
            f"--account {account}: no vault (set vault_url in keyops.toml, --vault URL or "
            "KEYOPS_VAULT_URL)"
        )
    return target.vault_url, target.secret_name, target.account.endpoint


def fetch_handover(
    request: KeyRequest,
    config: Config,
    clients: Clients,
    *,
    default_subscription: str | None = None,
    notes: list[str] | None = None,
) -> Handover:
    """Read the key the request selects, and its endpoint (checked to be https://); ``notes``
    collects what the user should see on stderr about the selection."""
    request.check()
    name = _spec_name(config, request)
    endpoint: str | None = request.endpoint
    if name is not None:
        vault_url, secret_name, account_endpoint = _from_target(
            name, config, request, clients, default_subscription, [] if notes is None else notes
        )
        endpoint = endpoint or account_endpoint
    elif request.account:
        vault_url, secret_name, account_endpoint = _from_account(
            request.account, config, request, clients, default_subscription
        )
        endpoint = endpoint or account_endpoint
    else:
        vault_url, secret_name = str(request.vault_url), str(request.secret_name)
    vault = clients.vault(vault_url)
    latest = _latest(vault, secret_name)
    endpoint = check_endpoint(endpoint or _endpoint_from_tags(latest, clients))
    assert latest.value is not None  # checked by _latest
    return Handover(latest.value, endpoint, vault.name, secret_name, latest.version)
