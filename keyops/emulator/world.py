"""The world file: what exists in the emulated Azure when its state is first made.

TOML or JSON. Times are ISO 8601 or relative to 'now' (``-30d``, ``-12h``, ``-90m``), so that a
world can declare keys made 45 days ago or secret versions older than a policy without anyone
waiting. A bad file raises :class:`WorldError` naming the field (``accounts[2].kind: ...``).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyops.emulator.logsworld import LogsWorld

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ACCOUNT_KINDS = ("OpenAI", "AIServices")
KEY_FORMATS = ("annotated", "legacy")
NETWORK_ACCESS = ("Enabled", "Disabled")
_REL = re.compile(r"^([+-]?\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WorldError(ValueError):
    """A world file is invalid; the message names the field."""


@dataclass(frozen=True)
class Deployment:
    """A model deployment on an account."""

    name: str
    model: str
    version: str = "1"
    format: str = "OpenAI"
    sku: str = "Standard"
    capacity: int = 10
    api: str = "chat"  # chat | completions | embeddings


@dataclass(frozen=True)
class Account:
    """A Microsoft.CognitiveServices account."""

    name: str
    resource_group: str
    subscription_id: str
    kind: str
    location: str
    custom_subdomain: str | None
    disable_local_auth: bool
    public_network_access: str
    key_format: str
    keys_created: str | None
    tags: dict[str, str]
    deployments: tuple[Deployment, ...]
    metrics: dict[str, Any] | None

    @property
    def id(self) -> str:
        """The ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )


@dataclass(frozen=True)
class SeedSecret:
    """A secret version present in a vault from the start."""

    name: str
    value: str | None
    value_from: str | None  # "account:<name>:Key1" | "account:<name>:Key2"
    created: str | None
    expires: str | None
    enabled: bool
    content_type: str | None
    tags: dict[str, str]


@dataclass(frozen=True)
class Vault:
    """A Key Vault (served at ``/vaults/<name>``)."""

    name: str
    resource_group: str
    subscription_id: str
    secrets: tuple[SeedSecret, ...]

    @property
    def id(self) -> str:
        """The ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )


@dataclass(frozen=True)
class FederatedCredential:
    """A workload identity federation: tokens from ``issuer`` with ``subject`` are trusted."""

    issuer: (
        str  # a URL, or the name of an emulator-hosted test issuer ("github", "azure-pipelines")
    )
    subject: str
    audience: str = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class Principal:
    """A service principal (or managed identity) of the tenant."""

    name: str
    client_id: str
    object_id: str
    secret: str | None
    managed_identity: bool
    federated_credentials: tuple[FederatedCredential, ...]


@dataclass(frozen=True)
class RoleAssignment:
    """A built-in role (by display name) held by a principal at a scope."""

    principal: str
    role: str
    scope: str


@dataclass(frozen=True)
class ManagementGroup:
    """A management group: its parent group (None: under the tenant root) and the
    subscriptions placed directly in it. An assignment at a group applies to everything below."""

    name: str
    parent: str | None
    subscriptions: tuple[str, ...]


@dataclass(frozen=True)
class WorldSettings:
    """Behaviour settings."""

    propagation_delay: float = 0.0
    default_principal: str = ""
    #: Seconds before a PATCH of ``disableLocalAuth`` reaches the data plane.
    local_auth_delay: float = 300.0


@dataclass(frozen=True)
class World:
    """A whole emulated world."""

    tenant_id: str
    seed: int
    subscriptions: tuple[tuple[str, str], ...]  # (id, display name)
    resource_groups: tuple[tuple[str, str, str], ...]  # (subscription id, name, location)
    accounts: tuple[Account, ...]
    vaults: tuple[Vault, ...]
    principals: tuple[Principal, ...]
    role_assignments: tuple[RoleAssignment, ...]
    settings: WorldSettings = field(default_factory=WorldSettings)
    source: str = "<default>"
    #: Workspaces, diagnostic settings and consumers (:mod:`keyops.emulator.logsworld`).
    logs: LogsWorld = field(default_factory=lambda: _empty_logs())
    management_groups: tuple[ManagementGroup, ...] = ()

    @cached_property
    def subscription_ids(self) -> dict[str, str]:
        """Each subscription's id by its lower-case form (ARM compares ids case-insensitively)."""
        return {sub.lower(): sub for sub, _name in self.subscriptions}

    @property
    def default_subscription(self) -> str:
        """The first subscription's id."""
        return self.subscriptions[0][0]

    def principal(self, name: str) -> Principal:
        """A principal by name; KeyError if unknown."""
        for p in self.principals:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def default_principal(self) -> Principal:
        """The principal ``keyops emulator env`` signs in as."""
        return self.principal(self.settings.default_principal or self.principals[0].name)


def _empty_logs() -> LogsWorld:
    from keyops.emulator.logsworld import LogsWorld

    return LogsWorld()


def relative_time(value: str, now: float, where: str) -> float:
    """Parse ``-30d``-style relative or ISO 8601 times into Unix seconds."""
    from keyops.emulator.core.clock import parse_iso

    m = _REL.match(value.strip())
    if m:
        return now + float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return parse_iso(value)
    except ValueError:
        raise WorldError(
            f"{where}: {value!r} is neither a relative time (-30d) nor ISO 8601"
        ) from None


def parse_world(data: Any, source: str = "<world>") -> World:
    """Validate a decoded world document; :class:`WorldError` names the first bad field."""
    from keyops.emulator.worldparse import parse

    return parse(data, source)


def default_world_text() -> str:
    """The default world shipped with keyops, as TOML text (to vary before parsing)."""
    return resources.files("keyops.emulator").joinpath("data/default-world.toml").read_text()


def load_world(path: str | Path | None = None) -> World:
    """Load a world file (TOML or JSON); None loads the default world shipped with keyops."""
    if path is None:
        return parse_world(tomllib.loads(default_world_text()), "<default world>")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"cannot read world file {p}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise WorldError(
            f"{p}: not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {exc}"
        ) from None
    return parse_world(data, str(p))
