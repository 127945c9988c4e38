"""The configuration file: ``keyops.toml`` with a ``[defaults]`` table and ``[[targets]]``.

::

    [defaults]
    vault_url = "https://kv-keyops-prod.vault.azure.net"
    secret_name = "{account}-api-key"  # also {resource_group} {subscription} {name}
    rotate_after = "30d"               # durations: 90m, 24h, 30d or ISO 8601 (P30D, PT24H)
    grace = "48h"                      # below 1h only with allow_short_grace = true
    validity = "90d"

    [[targets]]
    name = "eus"
    resource_id = "/subscriptions/<id>/resourceGroups/rg-ai-prod/providers/..."  # full ARM id

    [[targets]]
    name = "weu"
    subscription = "<id>"  # else [defaults], --subscription or AZURE_SUBSCRIPTION_ID
    resource_group = "rg-ai-shared"
    account = "contoso-aiservices-weu"
    deployment = "gpt-4o"
    also_store = ["https://kv-dr.vault.azure.net/contoso-weu-key"]  # copies, written each rotation

Every setting of ``[defaults]`` may be overridden per target. Unknown keys, bad durations,
malformed resource ids and bad values are :class:`~keyops.errors.ConfigError` naming the file and
line (tomllib gives no positions, so the line is found by searching the key in the text).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keyops.durations import DurationError, format_duration, parse_duration
from keyops.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

DEFAULT_CONFIG_NAME = "keyops.toml"
DEFAULT_SECRET_NAME = "{account}-api-key"  # noqa: S105 - a name template, not a secret
#: Above App Service's Key Vault reference refresh (within 24 h), with a day of margin.
DEFAULT_GRACE = timedelta(hours=48)
#: A grace below this needs ``allow_short_grace = true``: consumers that cache keys for hours
#: (App Service references, apps that read at start-up) would hold a dead key.
SHORT_GRACE = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(days=90)
DEFAULT_PROPAGATION_TIMEOUT = timedelta(seconds=120)

#: Keys allowed in ``[defaults]`` and in each target.
SETTING_KEYS = frozenset(
    {
        "vault_url",
        "secret_name",
        "deployment",
        "api_version",
        "rotate_after",
        "grace",
        "validity",
        "propagation_timeout",
        "subscription",
        "allow_short_grace",
    }
)
#: Keys only a target may have.
TARGET_KEYS = frozenset({"name", "resource_id", "resource_group", "account", "also_store"})
_DURATION_KEYS = ("rotate_after", "grace", "validity", "propagation_timeout")
_TEMPLATE_FIELDS = frozenset({"account", "resource_group", "subscription", "name"})
_API_VERSION = re.compile(r"^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$")
_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TEMPLATE_FIELD = re.compile(r"{([^{}]*)}")
_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")


@dataclass(frozen=True)
class SecretCopy:
    """Another secret the rotation writes the same key to (``also_store``)."""

    vault_url: str
    secret_name: str

    def __str__(self) -> str:
        return f"{self.vault_url}/{self.secret_name}"


@dataclass(frozen=True)
class Settings:
    """Per-target settings; ``[defaults]`` gives the base, each target overrides."""

    vault_url: str | None = None
    secret_name: str = DEFAULT_SECRET_NAME
    deployment: str | None = None
    api_version: str | None = None
    rotate_after: timedelta | None = None
    grace: timedelta = DEFAULT_GRACE
    validity: timedelta | None = DEFAULT_VALIDITY
    propagation_timeout: timedelta = DEFAULT_PROPAGATION_TIMEOUT
    subscription: str | None = None
    allow_short_grace: bool = False
    #: Other secrets (``also_store``) each rotation writes the same key to; per target only.
    also_store: tuple[SecretCopy, ...] = ()


@dataclass(frozen=True)
class TargetSpec:
    """A ``[[targets]]`` entry as written (the account is looked up later in ARM)."""

    name: str
    settings: Settings
    line: int
    resource_id: str | None = None
    resource_group: str | None = None
    account: str | None = None

    @property
    def where(self) -> str:
        """``line N`` for messages."""
        return f"line {self.line}"


@dataclass(frozen=True)
class Config:
    """A loaded configuration (empty when there is no file)."""

    path: Path | None = None
    defaults: Settings = field(default_factory=Settings)
    targets: tuple[TargetSpec, ...] = ()

    def where(self, line: int | None = None) -> str:
        """``keyops.toml line N`` (or just the file) for messages."""
        name = str(self.path) if self.path else "configuration"
        return f"{name} line {line}" if line else name


class _Lines:
    """Finds the line of a key in TOML text: tomllib reports no positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, header: str, index: int = 0) -> int:
        """1-based line of the ``index``-th ``[header]``/``[[header]]`` (0 if absent)."""
        pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(header)}\s*\]\]?\s*(#.*)?$")
        seen = -1
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                seen += 1
                if seen == index:
                    return number
        return 0

    def key(self, key: str, start: int = 0) -> int:
        """1-based line of ``key =`` at or after line ``start`` in the same table (or ``start``)."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(max(start, 1), len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > start and start and line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return number
        return start


def _error(config: Config, line: int, message: str) -> ConfigError:
    return ConfigError(f"{config.where(line)}: {message}")


def _check_template(template: str) -> None:
    for name in _TEMPLATE_FIELD.findall(template):
        if name not in _TEMPLATE_FIELDS:
            fields = ", ".join("{" + f + "}" for f in sorted(_TEMPLATE_FIELDS))
            raise ValueError(f"unknown field {{{name}}} in secret_name (allowed: {fields})")


def check_vault_url(url: str) -> str:
    """A vault URL without its trailing slash; ValueError unless it is an https:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"vault_url {url!r} must be an https:// URL")
    return url.rstrip("/")


def _setting(key: str, value: Any) -> Any:
    """Check and convert one setting value; ValueError says what is wrong."""
    if key in _DURATION_KEYS:
        if not isinstance(value, str):
            raise ValueError(f'{key} must be a duration string such as "30d"')
        delta = parse_duration(value)
        if delta <= timedelta(0):
            raise ValueError(f"{key} must be positive")
        return delta
    if key == "allow_short_grace":
        if not isinstance(value, bool):
            raise ValueError("allow_short_grace must be true or false")
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    if key == "vault_url":
        return check_vault_url(value)
    if key == "secret_name":
        _check_template(value)
    elif key == "api_version" and not _API_VERSION.match(value):
        raise ValueError(f"bad api_version {value!r} (expected e.g. 2024-10-21 or v1)")
    elif key == "deployment" and not _DEPLOYMENT.match(value):
        raise ValueError(f"bad deployment name {value!r}")
    return value.strip()


def _settings(
    config: Config,
    table: Mapping[str, Any],
    base: Settings,
    lines: _Lines,
    start: int,
    extra_keys: frozenset[str],
) -> Settings:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        line = lines.key(key, start)
        if key not in SETTING_KEYS and key not in extra_keys:
            allowed = ", ".join(sorted(SETTING_KEYS | extra_keys))
            raise _error(config, line, f"unknown key {key!r} (allowed: {allowed})")
        if key in extra_keys:
            continue
        try:
            changes[key] = _setting(key, value)
        except (ValueError, DurationError) as exc:
            raise _error(config, line, str(exc)) from None
    settings = replace(base, **changes)
    if settings.grace < SHORT_GRACE and not settings.allow_short_grace:
        line = lines.key("grace", start) if "grace" in table else lines.key("grace")
        raise _error(
            config,
            line,
            f"grace {format_duration(settings.grace)} is below 1h: consumers that cache the "
            "key for hours would hold a dead one (set allow_short_grace = true to accept that)",
        )
    return settings


def _target(config: Config, index: int, entry: Any, lines: _Lines) -> TargetSpec:
    from keyops.azure.arm import parse_account_id

    start = lines.table("targets", index)
    if not isinstance(entry, dict):
        raise _error(config, start, "each [[targets]] entry must be a table")
    settings = _settings(config, entry, config.defaults, lines, start, TARGET_KEYS)
    name = entry.get("name")
    if not isinstance(name, str) or not _TARGET_NAME.match(name):
        raise _error(
            config,
            lines.key("name", start),
            "each target needs a name (letters, digits, '.', '_', '-')",
        )
    for key in ("resource_id", "resource_group", "account"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise _error(config, lines.key(key, start), f"{key} must be a non-empty string")
    try:
        copies = parse_copies(entry.get("also_store", []))
    except ValueError as exc:
        raise _error(config, lines.key("also_store", start), str(exc)) from None
    settings = replace(settings, also_store=copies)
    resource_id = entry.get("resource_id")
    if resource_id is not None:
        if "account" in entry or "resource_group" in entry:
            raise _error(
                config,
                lines.key("resource_id", start),
                f"target {name!r}: give resource_id or resource_group/account, not both",
            )
        try:
            ref = parse_account_id(resource_id)
        except ConfigError as exc:
            raise _error(config, lines.key("resource_id", start), str(exc)) from None
        settings = replace(settings, subscription=ref.subscription_id)
        return TargetSpec(name, settings, start, resource_id=ref.id)
    if "account" not in entry or "resource_group" not in entry:
        raise _error(
            config, start, f"target {name!r} needs resource_id, or resource_group and account"
        )
    return TargetSpec(
        name,
        settings,
        start,
        resource_group=entry["resource_group"].strip(),
        account=entry["account"].strip(),
    )


def parse_config(text: str, path: Path | None = None) -> Config:
    """Parse configuration text (``path`` is only used in messages)."""
    config = Config(path=path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config.where()}: invalid TOML: {exc}") from None
    lines = _Lines(text)
    for key in data:
        if key not in ("defaults", "targets"):
            line = lines.table(key) or lines.key(key)
            raise _error(config, line, f"unknown key {key!r} (expected [defaults] and [[targets]])")
    defaults_table = data.get("defaults", {})
    if not isinstance(defaults_table, dict):
        raise _error(config, lines.key("defaults"), "defaults must be a table")
    start = lines.table("defaults")
    config = replace(
        config, defaults=_settings(config, defaults_table, Settings(), lines, start, frozenset())
    )
    entries = data.get("targets", [])
    if not isinstance(entries, list):
        raise _error(
            config, lines.key("targets"), "targets must be an array of tables ([[targets]])"
        )
    targets = tuple(_target(config, i, entry, lines) for i, entry in enumerate(entries))
    seen: dict[str, int] = {}
    for spec in targets:
        if spec.name in seen:
            raise _error(
                config,
                spec.line,
                f"duplicate target name {spec.name!r} (first at line {seen[spec.name]})",
            )
        seen[spec.name] = spec.line
    return replace(config, targets=targets)


def parse_copies(value: Any) -> tuple[SecretCopy, ...]:
    """``also_store``: a list of ``"<vault url>/<secret name>"``; ValueError says what is wrong."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('also_store must be a list of "<vault url>/<secret name>" strings')
    copies: list[SecretCopy] = []
    for raw in value:
        vault, _, name = raw.strip().rstrip("/").rpartition("/")
        if not _SECRET_NAME.fullmatch(name) or not urlsplit(vault).hostname:
            raise ValueError(
                f"also_store entry {raw!r} is not <vault url>/<secret name> "
                '(e.g. "https://kv-dr.vault.azure.net/contoso-weu-key")'
            )
        copy = SecretCopy(check_vault_url(vault), name)
        if any(_same_secret(copy, c) for c in copies):
            raise ValueError(f"also_store names {raw!r} twice")
        copies.append(copy)
    return tuple(copies)


def _same_secret(a: SecretCopy, b: SecretCopy) -> bool:
    return same_secret(a.vault_url, a.secret_name, b.vault_url, b.secret_name)


def same_secret(vault_a: str, name_a: str, vault_b: str, name_b: str) -> bool:
    """Whether two (vault URL, secret name) pairs are one secret (both compare case-insensitively
    in Key Vault)."""
    return (
        vault_a.rstrip("/").lower() == vault_b.rstrip("/").lower()
        and name_a.lower() == name_b.lower()
    )


def config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The file to load: ``path`` if given, else ``./keyops.toml`` if it exists, else None."""
    if path:
        return Path(path)
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load ``path`` (``--config``/``KEYOPS_CONFIG``), else ``./keyops.toml``, else no file.

    A named file that does not exist or cannot be read is a ConfigError.
    """
    chosen = config_path(path)
    if chosen is None:
        return Config()
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {chosen}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {chosen} is unreadable: {exc}") from None
    return parse_config(text, chosen)


def render_secret_name(
    template: str, *, account: str, resource_group: str, subscription: str, name: str
) -> str:
    """Fill a ``secret_name`` template; the result must be a valid Key Vault secret name."""
    rendered = template.format(
        account=account, resource_group=resource_group, subscription=subscription, name=name
    )
    if not _SECRET_NAME.fullmatch(rendered):
        raise ConfigError(
            f"secret name {rendered!r} (from template {template!r}) is not a valid "
            "Key Vault secret name (letters, digits and '-', at most 127)"
        )
    return rendered
