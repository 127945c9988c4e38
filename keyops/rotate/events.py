"""Event-driven rotation: a Key Vault ``SecretNearExpiry`` event names the secret to rotate.

Accepts the Event Grid schema (``eventType``, ``topic``) and CloudEvents 1.0 (``type``,
``source``), one event or an array (Event Grid delivers arrays). The account is found through
the secret's ``ProviderAddress`` tag (its resource id, which keyops writes), else by matching the
secret name against the configured or discovered targets' ``secret_name``. The vault URL comes
from the event's ``data.Id`` and must belong to the selected cloud (or the emulator): an event
must not steer keyops' tokens to another host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keyops.errors import ConfigError, InputError, NotFoundError
from keyops.rotate.tags import PROVIDER_TAG

if TYPE_CHECKING:
    from keyops.cloud import AzureEnvironment
    from keyops.config import Config
    from keyops.rotate.services import RotationServices
    from keyops.targets import Target

HANDLED_TYPES = ("Microsoft.KeyVault.SecretNearExpiry", "Microsoft.KeyVault.SecretExpired")


@dataclass(frozen=True)
class SecretEvent:
    """The parts of a Key Vault secret event that rotation needs."""

    id: str
    event_type: str
    vault_name: str
    secret_name: str
    secret_id: str | None
    version: str | None
    expires: datetime | None


def _field(data: dict[str, Any], name: str) -> Any:
    lowered = {str(k).lower(): v for k, v in data.items()}
    return lowered.get(name.lower())


def _epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _one(raw: Any, index: int) -> SecretEvent:
    if not isinstance(raw, dict):
        raise InputError(f"event {index}: expected a JSON object")
    event_type = raw.get("eventType") or raw.get("type")
    if event_type not in HANDLED_TYPES:
        raise InputError(
            f"event {index}: type {event_type!r} is not handled (expected "
            f"{' or '.join(HANDLED_TYPES)})"
        )
    data = raw.get("data")
    if not isinstance(data, dict):
        raise InputError(f"event {index}: no data object")
    vault = _field(data, "VaultName")
    name = _field(data, "ObjectName") or raw.get("subject")
    if not isinstance(vault, str) or not vault or not isinstance(name, str) or not name:
        raise InputError(f"event {index}: data needs VaultName and ObjectName")
    object_type = _field(data, "ObjectType")
    if object_type and str(object_type).lower() != "secret":
        raise InputError(f"event {index}: object type {object_type!r} is not a secret")
    return SecretEvent(
        id=str(raw.get("id", "")),
        event_type=event_type,
        vault_name=vault,
        secret_name=name,
        secret_id=_field(data, "Id"),
        version=_field(data, "Version"),
        expires=_epoch(_field(data, "EXP")),
    )


def parse_events(text: str) -> list[SecretEvent]:
    """Parse one event or an array of them; InputError names what is wrong."""
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InputError(f"event is not valid JSON: {exc}") from None
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise InputError("no event in the input")
    return [_one(item, i) for i, item in enumerate(items, start=1)]


def vault_url_for(event: SecretEvent, env: AzureEnvironment) -> str:
    """The vault URL of an event, checked to belong to ``env``."""
    if event.secret_id and "/secrets/" in event.secret_id:
        candidate = event.secret_id.split("/secrets/", 1)[0].rstrip("/")
        if urlsplit(candidate).scheme == "https" and env.is_vault_url(candidate):
            return candidate
    if env.emulator is not None:
        for vault in env.emulator.vaults:
            if vault.name.lower() == event.vault_name.lower():
                return vault.url.rstrip("/")
        raise InputError(f"event {event.id}: the emulator has no vault {event.vault_name!r}")
    if event.secret_id and "/secrets/" in event.secret_id:
        raise InputError(
            f"event {event.id}: {event.secret_id.split('/secrets/')[0]!r} is not a "
            f"vault of {env.name}"
        )
    return f"https://{event.vault_name}{env.vault_dns_suffix}"


def _by_tag(
    event: SecretEvent, vault_url: str, config: Config, services: RotationServices
) -> Target | None:
    from keyops.azure.arm import parse_account_id
    from keyops.config import same_secret
    from keyops.targets import Target, make_target

    latest = services.vault(vault_url).get_latest(event.secret_name)
    if latest is None:
        raise NotFoundError(
            f"event {event.id}: secret {event.secret_name} not found in vault {event.vault_name}"
        )
    resource_id = latest.tags.get(PROVIDER_TAG)
    if not resource_id:
        return None
    try:
        ref = parse_account_id(resource_id)
    except ConfigError:  # a malformed hint is no hint
        return None
    account = services.accounts(ref.subscription_id).get_account(ref.id)
    spec = next(
        (t for t in config.targets if t.resource_id and t.resource_id.lower() == ref.id.lower()),
        None,
    )
    if spec is not None and any(
        same_secret(c.vault_url, c.secret_name, vault_url, event.secret_name)
        for c in spec.settings.also_store
    ):
        return make_target(spec.name, account, spec.settings, spec.line)  # a copy: its writer
    settings = replace(spec.settings if spec else config.defaults, vault_url=vault_url)
    return Target(
        name=spec.name if spec else account.name,
        account=account,
        settings=settings,
        secret_name=event.secret_name,
        line=spec.line if spec else None,
    )


def targets_for_events(
    events: list[SecretEvent],
    config: Config,
    services: RotationServices,
    *,
    default_subscription: str | None = None,
) -> list[Target]:
    """The target each event's secret belongs to (NotFoundError if one cannot be found)."""
    from keyops.targets import Selection, resolve_targets

    found: list[Target] = []
    candidates: list[Target] | None = None
    for event in events:
        vault_url = vault_url_for(event, services.env)
        target = _by_tag(event, vault_url, config, services)
        if target is None:
            if candidates is None:
                candidates = resolve_targets(
                    config,
                    services.accounts,
                    Selection(),
                    default_subscription=default_subscription,
                )
            target = next((t for t in candidates if t.secret_name == event.secret_name), None)
            if target is None:
                raise NotFoundError(
                    f"event {event.id}: no account found for secret "
                    f"{event.secret_name} (no {PROVIDER_TAG} tag, and no "
                    "target's secret_name matches)"
                )
            target = replace(target, settings=replace(target.settings, vault_url=vault_url))
        if all(t.resource_id.lower() != target.resource_id.lower() for t in found):
            found.append(target)
    return found
