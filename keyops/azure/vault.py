"""Key Vault secrets: the latest version, its history, new versions and tag updates.

Wraps ``azure-keyvault-secrets``. Values are :class:`~keyops.secret.SecretValue`; times are
timezone-aware UTC datetimes; every SDK exception leaves as a :mod:`keyops.errors` type naming
the vault, the secret and the operation. The SDK is imported when a client is first used.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keyops.azure.errors import azure_errors
from keyops.azure.pacing import Budget, RetryAfterGate, RetrySettings, client_kwargs
from keyops.azure.serverclock import ServerClock
from keyops.errors import ConfigError, NotFoundError, RefusedError
from keyops.secret import SecretValue

if TYPE_CHECKING:
    import requests
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment

#: The Key Vault data action :meth:`VaultClient.get_latest` needs (Key Vault Secrets User).
GET_VALUE_ACTION = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
#: The data action :meth:`VaultClient.list_versions` needs (Key Vault Reader and up).
READ_METADATA_ACTION = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"


class SecretDeletedError(RefusedError):
    """The secret's name is soft-deleted: Key Vault refuses a new version until it is recovered
    or purged."""

    reason_code = "soft-deleted"


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret: its attributes, tags and (when read with it) its value."""

    name: str
    version: str
    value: SecretValue | None
    enabled: bool
    created: datetime | None
    updated: datetime | None
    not_before: datetime | None
    expires_on: datetime | None
    content_type: str | None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    id: str | None = None
    #: Key Vault's clock when it answered the read (its ``Date`` header), for ages that do not
    #: depend on this machine's clock; None when not known.
    read_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        """Enabled and inside its ``nbf``/``exp`` window at ``now``."""
        if not self.enabled:
            return False
        if self.not_before is not None and now < self.not_before:
            return False
        return self.expires_on is None or now < self.expires_on


@dataclass(frozen=True)
class DeletedSecret:
    """A soft-deleted secret: its name blocks new versions until it is recovered or purged."""

    name: str
    deleted_on: datetime | None
    purge_on: datetime | None


def _version_from(props: Any, value: str | None) -> SecretVersion:
    from keyops.redact import allow

    if props.version:
        allow(props.version)  # an identifier: shown as is, even next to a "Key2" column
    return SecretVersion(
        name=props.name,
        version=props.version or "",
        value=None if value is None else SecretValue(value),
        enabled=bool(props.enabled) if props.enabled is not None else True,
        created=props.created_on,
        updated=props.updated_on,
        not_before=props.not_before,
        expires_on=props.expires_on,
        content_type=props.content_type,
        tags=dict(props.tags or {}),
        id=props.id,
    )


def _inner_code(exc: Any) -> str | None:
    """The ``innererror.code`` of an SDK error (Key Vault's reason under a generic code)."""
    inner = getattr(getattr(exc, "error", None), "innererror", None) or {}
    code = inner.get("code") if isinstance(inner, dict) else getattr(inner, "code", None)
    return str(code) if code else None


def _server_date(seen: list[datetime], clock: ServerClock) -> Any:
    """A ``raw_response_hook`` that keeps the ``Date`` of each response (Key Vault's clock).

    A per-call hook replaces the client's in azure-core, so it feeds the client's
    :class:`ServerClock` too (the lease measures its time on it)."""

    def hook(response: Any) -> None:
        clock.response_hook(response)
        text = response.http_response.headers.get("Date")
        # No usable date: the caller falls back on this machine's clock.
        with contextlib.suppress(TypeError, ValueError):
            seen.append(parsedate_to_datetime(text))

    return hook


def vault_name(vault_url: str) -> str:
    """A short name for messages: ``kv-prod`` for ``https://kv-prod.vault.azure.net``, the last
    path segment for a path-style URL, else ``host:port`` (an emulator vault on its own port)."""
    parts = urlsplit(vault_url)
    path = parts.path.strip("/")
    if path:
        return path.split("/")[-1]
    host = parts.hostname or vault_url
    if ipaddress_like(host) or "." not in host:
        return parts.netloc or host
    return host.split(".")[0]


def ipaddress_like(host: str) -> bool:
    """Whether ``host`` is an IP address literal (IPv4 or IPv6)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class VaultClient:
    """Secrets of one vault.

    Against the emulator the SDK's check that the challenge's resource matches the vault's
    host is turned off (the emulator's host is not ``*.vault.azure.net``); never elsewhere.
    """

    def __init__(
        self,
        env: AzureEnvironment,
        credential: TokenCredential,
        vault_url: str,
        *,
        gate: RetryAfterGate | None = None,
        retry: RetrySettings | None = None,
        session: requests.Session | None = None,
        budget: Budget | None = None,
    ) -> None:
        if not vault_url.startswith("https://"):
            raise ConfigError(f"vault URL {vault_url!r} must start with https://")
        self.env = env
        self.vault_url = vault_url.rstrip("/")
        self.name = vault_name(self.vault_url)
        self._credential = credential
        self._gate = gate
        self._retry = retry
        self._session = session
        self._budget = budget
        self._client: Any = None
        #: Key Vault's clock, from the ``Date`` of its latest answer.
        self.clock = ServerClock()

    @property
    def sdk(self) -> Any:
        """The underlying ``SecretClient`` (made on first use)."""
        if self._client is None:
            from azure.keyvault.secrets import SecretClient

            kwargs = client_kwargs(
                self.env.verify,
                self._gate,
                self._retry,
                session=self._session,
                budget=(self._budget, "keyvault") if self._budget else None,
            )
            kwargs["raw_response_hook"] = self.clock.response_hook
            if self.env.is_emulator:
                kwargs["verify_challenge_resource"] = False
            self._client = SecretClient(self.vault_url, self._credential, **kwargs)
        return self._client

    def _where(self, name: str) -> str:
        return f"secret {name} in vault {self.name}"

    def get_latest(self, name: str) -> SecretVersion | None:
        """The latest version with its value (and ``read_at``, Key Vault's time of the answer),
        or None when the secret does not exist."""
        seen: list[datetime] = []
        try:
            with azure_errors("get secret", self._where(name)):
                secret = self.sdk.get_secret(name, raw_response_hook=_server_date(seen, self.clock))
        except NotFoundError:
            return None
        return replace(
            _version_from(secret.properties, secret.value), read_at=seen[-1] if seen else None
        )

    def list_secrets(self) -> list[SecretVersion]:
        """Every secret's attributes and tags (no values, no version), as Key Vault lists them."""
        with azure_errors("list secrets", f"vault {self.name}"):
            return [_version_from(p, None) for p in self.sdk.list_properties_of_secrets()]

    def get_deleted(self, name: str) -> DeletedSecret | None:
        """The soft-deleted secret of this name (recoverable until purged), or None."""
        try:
            with azure_errors("get deleted secret", self._where(name)):
                deleted = self.sdk.get_deleted_secret(name)
        except NotFoundError:
            return None
        return DeletedSecret(name, deleted.deleted_date, deleted.scheduled_purge_date)

    def get_version(self, name: str, version: str) -> SecretVersion:
        """One version with its value (NotFoundError if it does not exist)."""
        with azure_errors(f"get secret version {version}", self._where(name)):
            secret = self.sdk.get_secret(name, version)
        return _version_from(secret.properties, secret.value)

    def list_versions(self, name: str) -> list[SecretVersion]:
        """Every version's attributes and tags (no values), oldest first; [] if none."""
        try:
            with azure_errors("list secret versions", self._where(name)):
                found = [
                    _version_from(p, None)
                    for p in self.sdk.list_properties_of_secret_versions(name)
                ]
        except NotFoundError:
            return []
        return sorted(found, key=lambda v: (v.created.timestamp() if v.created else 0.0, v.version))

    def set_secret(
        self,
        name: str,
        value: SecretValue,
        *,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        expires_on: datetime | None = None,
        not_before: datetime | None = None,
    ) -> SecretVersion:
        """Write a new version (it becomes the latest); returns it without its value.

        A name that is soft-deleted is :class:`SecretDeletedError` (a refusal: someone deleted
        it on purpose, and keyops neither recovers nor purges it for them)."""
        from azure.core.exceptions import HttpResponseError

        with azure_errors("set secret", self._where(name)):
            try:
                secret = self.sdk.set_secret(
                    name,
                    value.reveal(),
                    content_type=content_type,
                    tags=dict(tags or {}),
                    expires_on=expires_on,
                    not_before=not_before,
                )
            except HttpResponseError as exc:
                # Key Vault answers 409 "Conflict"; only the inner code says why.
                if _inner_code(exc) != "ObjectIsDeletedButRecoverable":
                    raise
                raise SecretDeletedError(
                    f"{self._where(name)} is soft-deleted: recover it (az keyvault secret "
                    "recover) or purge it, then rerun; nothing stored"
                ) from None
        return _version_from(secret.properties, None)

    def update_tags(
        self,
        name: str,
        version: str,
        tags: Mapping[str, str],
        *,
        enabled: bool | None = None,
    ) -> SecretVersion:
        """Replace one version's tags (and optionally enable/disable it); no new version."""
        with azure_errors(f"update secret version {version}", self._where(name)):
            props = self.sdk.update_secret_properties(
                name,
                version,
                tags=dict(tags),
                enabled=enabled,
            )
        return _version_from(props, None)

    def set_enabled(self, name: str, version: str, enabled: bool) -> SecretVersion:
        """Enable or disable one version, leaving its tags as they are."""
        with azure_errors(f"update secret version {version}", self._where(name)):
            props = self.sdk.update_secret_properties(name, version, enabled=enabled)
        return _version_from(props, None)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()
