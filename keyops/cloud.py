"""Which Azure keyops talks to: a public or sovereign cloud, or the local emulator.

This is the contract every command shares. ``KEYOPS_EMULATOR=<connection.json>`` (or the global
``--emulator PATH``) takes every endpoint, the CA bundle and the emulator-only relaxations
(MSAL instance discovery off, Key Vault challenge-resource check off) from the emulator's
connection file; otherwise ``--cloud`` picks Azure's own endpoints and nothing is relaxed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keyops.errors import ConfigError

CONNECTION_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class EmulatorAccount:
    """An account as the emulator's connection file lists it."""

    id: str
    name: str
    resource_group: str
    endpoint: str
    deployments: tuple[str, ...]


@dataclass(frozen=True)
class EmulatorVault:
    """A vault as the emulator's connection file lists it."""

    name: str
    url: str


@dataclass(frozen=True)
class EmulatorConnection:
    """The parsed ``connection.json`` an emulator writes when it is ready."""

    path: Path
    url: str
    ca_cert: str
    ca_bundle: str
    tenant_id: str
    client_id: str
    subscription_id: str
    admin_token: str = field(repr=False)
    accounts: tuple[EmulatorAccount, ...]
    vaults: tuple[EmulatorVault, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmulatorConnection:
        """Read and check a connection file; a bad one is a :class:`ConfigError`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"emulator connection file not found: {p}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"emulator connection file {p} is unreadable: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"emulator connection file {p}: expected a JSON object")
        version = data.get("schema_version")
        if version != CONNECTION_SCHEMA_VERSION:
            raise ConfigError(
                f"emulator connection file {p}: schema_version {version!r} is not supported "
                f"(expected {CONNECTION_SCHEMA_VERSION})"
            )
        try:
            conn = cls(
                path=p,
                url=str(data["url"]).rstrip("/"),
                ca_cert=str(data["ca_cert"]),
                ca_bundle=str(data["ca_bundle"]),
                tenant_id=str(data["tenant_id"]),
                client_id=str(data["client_id"]),
                subscription_id=str(data["subscription_id"]),
                admin_token=str(data["admin_token"]),
                accounts=tuple(
                    EmulatorAccount(
                        id=a["id"],
                        name=a["name"],
                        resource_group=a["resource_group"],
                        endpoint=a["endpoint"],
                        deployments=tuple(a.get("deployments", ())),
                    )
                    for a in data["accounts"]
                ),
                vaults=tuple(EmulatorVault(name=v["name"], url=v["url"]) for v in data["vaults"]),
                raw=data,
            )
        except KeyError as exc:
            raise ConfigError(f"emulator connection file {p}: missing field {exc}") from None
        except (TypeError, AttributeError, ValueError):
            raise ConfigError(
                f"emulator connection file {p}: accounts and vaults must be lists of objects "
                "with name and url; restart `keyops emulator serve` to rewrite it"
            ) from None
        if not Path(conn.ca_bundle).is_file():
            raise ConfigError(
                f"emulator connection file {p}: ca_bundle {conn.ca_bundle} does not exist; "
                "restart `keyops emulator serve` to rewrite it"
            )
        return conn


@dataclass(frozen=True)
class AzureEnvironment:
    """Endpoints and trust settings for one Azure cloud (or the emulator)."""

    name: str
    authority_host: str
    resource_manager: str
    management_scope: str
    vault_scope: str
    cognitive_scope: str
    metrics_scope: str
    vault_dns_suffix: str
    #: The Logs query API (azure-monitor-query's ``endpoint``) and its token scope.
    logs_endpoint: str = "https://api.loganalytics.io"
    logs_scope: str = "https://api.loganalytics.io/.default"
    ca_bundle: str | None = None
    emulator: EmulatorConnection | None = None

    @property
    def is_emulator(self) -> bool:
        """True when talking to the local emulator (relaxations apply)."""
        return self.emulator is not None

    @property
    def verify(self) -> str | bool:
        """The trust keyops' sessions start from: the emulator's bundle, or True (a real cloud).

        Never False. :mod:`keyops.azure.tls` adds the bundle the environment names
        (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``) in both cases.
        """
        return self.ca_bundle if self.ca_bundle else True

    def is_vault_url(self, url: str) -> bool:
        """Whether ``url`` is a vault URL of this cloud (any URL of the emulator's host)."""
        host = urlsplit(url).hostname or ""
        if self.emulator is not None:
            return host == urlsplit(self.emulator.url).hostname
        return host.endswith(self.vault_dns_suffix)


CLOUDS: dict[str, AzureEnvironment] = {
    "AzureCloud": AzureEnvironment(
        name="AzureCloud",
        authority_host="https://login.microsoftonline.com",
        resource_manager="https://management.azure.com",
        management_scope="https://management.azure.com/.default",
        vault_scope="https://vault.azure.net/.default",
        cognitive_scope="https://cognitiveservices.azure.com/.default",
        metrics_scope="https://management.azure.com/.default",
        vault_dns_suffix=".vault.azure.net",
    ),
    "AzureChinaCloud": AzureEnvironment(
        name="AzureChinaCloud",
        authority_host="https://login.chinacloudapi.cn",
        resource_manager="https://management.chinacloudapi.cn",
        management_scope="https://management.chinacloudapi.cn/.default",
        vault_scope="https://vault.azure.cn/.default",
        cognitive_scope="https://cognitiveservices.azure.cn/.default",
        metrics_scope="https://management.chinacloudapi.cn/.default",
        vault_dns_suffix=".vault.azure.cn",
        logs_endpoint="https://api.loganalytics.azure.cn",
        logs_scope="https://api.loganalytics.azure.cn/.default",
    ),
    "AzureUSGovernment": AzureEnvironment(
        name="AzureUSGovernment",
        authority_host="https://login.microsoftonline.us",
        resource_manager="https://management.usgovcloudapi.net",
        management_scope="https://management.usgovcloudapi.net/.default",
        vault_scope="https://vault.usgovcloudapi.net/.default",
        cognitive_scope="https://cognitiveservices.azure.us/.default",
        metrics_scope="https://management.usgovcloudapi.net/.default",
        vault_dns_suffix=".vault.usgovcloudapi.net",
        logs_endpoint="https://api.loganalytics.us",
        logs_scope="https://api.loganalytics.us/.default",
    ),
}


def emulator_environment(conn: EmulatorConnection) -> AzureEnvironment:
    """The environment for an emulator: its URL everywhere, Azure's own scopes, its CA."""
    public = CLOUDS["AzureCloud"]
    return AzureEnvironment(
        name="emulator",
        authority_host=conn.url,
        resource_manager=conn.url,
        management_scope=public.management_scope,
        vault_scope=public.vault_scope,
        cognitive_scope=public.cognitive_scope,
        metrics_scope=public.metrics_scope,
        vault_dns_suffix=public.vault_dns_suffix,
        logs_endpoint=str(conn.raw.get("logs_endpoint") or conn.url),
        # The connection file names the audience its Logs API accepts (Azure's own by default).
        logs_scope=(
            f"{str(conn.raw['logs_audience']).rstrip('/')}/.default"
            if conn.raw.get("logs_audience")
            else public.logs_scope
        ),
        ca_bundle=conn.ca_bundle,
        emulator=conn,
    )


def resolve_environment(emulator: str | None, cloud: str | None) -> AzureEnvironment:
    """Pick the environment from ``--emulator``/``KEYOPS_EMULATOR`` or ``--cloud``."""
    if emulator:
        return emulator_environment(EmulatorConnection.load(emulator))
    name = cloud or "AzureCloud"
    try:
        return CLOUDS[name]
    except KeyError:
        names = ", ".join(CLOUDS)
        raise ConfigError(f"unknown cloud {name!r} (expected one of: {names})") from None
