"""Vault secrets: state and the rules around them (no HTTP here).

State lives in ``emu.store.section("keyvault")``::

    {"vaults": {"<vault, lower case>": {"seq": <versions made>, "secrets": {
        "<name, lower case>": {"name": <as first set>, "deleted": null | {"date", "purge"},
                               "versions": [<version>, ...]}}}}}

Each ``<version>`` holds ``version`` (32 hex), ``value``, ``content_type``, ``tags`` (null when
never set), ``enabled``, ``nbf``, ``exp``, ``created``, ``updated`` (Unix seconds of the emulated
clock). Versions are kept in the order they were set; the last one is the secret's latest.
Secret names are case-insensitive, as in Key Vault. Version ids come from a generator seeded by
the world seed, the vault and a per-vault counter, so a world always yields the same ids.

Functions raise the :mod:`~keyops.emulator.services.keyvault.exceptions` answers Key Vault gives.
A value never appears in an exception, a ``repr`` or the request log.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from keyops.emulator.core.context import Emulator
from keyops.emulator.services.keyvault import exceptions as exc
from keyops.emulator.world import Vault

NAME_PATTERN = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25 * 1024  # "25 KB" in the service limits; the CLI says 25600 characters
MAX_CONTENT_TYPE = 255
MAX_TAGS = 15
MAX_TAG_LENGTH = 512
RECOVERY_LEVEL = "Recoverable+Purgeable"
RECOVERABLE_DAYS = 90
_DAY = 86400


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret, as stored (the value is kept out of ``repr``)."""

    name: str
    version: str
    value: str = field(repr=False)
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    nbf: int | None
    exp: int | None
    created: int
    updated: int


@dataclass(frozen=True)
class DeletedSecret:
    """A soft-deleted secret: its latest version and when it was deleted / will be purged."""

    latest: SecretVersion
    deleted_date: int
    scheduled_purge: int


def find_vault(emu: Emulator, name: str) -> Vault | None:
    """A vault of the world by name (case-insensitive, as DNS names are), or None."""
    lowered = name.lower()
    return next((v for v in emu.world.vaults if v.name.lower() == lowered), None)


def vault_location(emu: Emulator, vault: Vault) -> str:
    """The vault's region (its resource group's location)."""
    for sub, group, location in emu.world.resource_groups:
        if sub == vault.subscription_id and group == vault.resource_group:
            return location
    return "eastus"


def _vault_state(emu: Emulator, vault: Vault) -> dict[str, Any]:
    vaults = emu.store.section("keyvault").setdefault("vaults", {})
    state: dict[str, Any] = vaults.setdefault(vault.name.lower(), {"seq": 0, "secrets": {}})
    return state


def _now(emu: Emulator) -> int:
    return int(emu.clock.now())


#: Per emulator and vault: the earliest purge date of a soft-deleted secret (inf: none). The
#: purge sweep runs only once that date has come, so a read costs O(1), not a scan of the vault.
_NEXT_PURGE: weakref.WeakKeyDictionary[Emulator, dict[str, float]] = weakref.WeakKeyDictionary()


def _entries(emu: Emulator, vault: Vault) -> dict[str, dict[str, Any]]:
    """The vault's secrets, with any deleted secret past its purge date dropped (as Azure does)."""
    secrets: dict[str, dict[str, Any]] = _vault_state(emu, vault)["secrets"]
    now = _now(emu)
    memo = _NEXT_PURGE.setdefault(emu, {})
    if memo.get(vault.name.lower(), -math.inf) > now:
        return secrets
    for key in [k for k, e in secrets.items() if e["deleted"] and e["deleted"]["purge"] <= now]:
        del secrets[key]
        _names_changed(emu, vault)
    purges = [e["deleted"]["purge"] for e in secrets.values() if e["deleted"]]
    memo[vault.name.lower()] = min(purges, default=math.inf)
    return secrets


def _purge_at(emu: Emulator, vault: Vault, when: float) -> None:
    memo = _NEXT_PURGE.setdefault(emu, {})
    key = vault.name.lower()
    memo[key] = min(memo.get(key, math.inf), when)


def _view(entry: dict[str, Any], raw: dict[str, Any]) -> SecretVersion:
    tags = raw.get("tags")
    return SecretVersion(
        name=entry["name"],
        version=raw["version"],
        value=raw["value"],
        content_type=raw.get("content_type"),
        tags=dict(tags) if tags is not None else None,
        enabled=bool(raw["enabled"]),
        nbf=raw.get("nbf"),
        exp=raw.get("exp"),
        created=int(raw["created"]),
        updated=int(raw["updated"]),
    )


# --- validation -------------------------------------------------------------------------------


def check_name(name: str) -> None:
    """400 unless ``name`` is a valid secret name."""
    if not NAME_PATTERN.match(name):
        raise exc.invalid_name(name)


def check_value(value: str) -> None:
    """400 for a value over the size limit (the message never echoes the value)."""
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise exc.bad_parameter(
            f"Secret is beyond the maximum permitted length of {MAX_VALUE_BYTES} characters."
        )


def check_content_type(content_type: str | None) -> None:
    """400 for a content type longer than Key Vault allows."""
    if content_type is not None and len(content_type) > MAX_CONTENT_TYPE:
        raise exc.bad_parameter(
            f"The content type exceeds the maximum length of {MAX_CONTENT_TYPE} characters."
        )


def check_tags(tags: dict[str, str] | None) -> None:
    """400 for more than 15 tags or a tag name/value over 512 characters."""
    if tags is None:
        return
    if len(tags) > MAX_TAGS:
        raise exc.bad_parameter(f"The number of tags exceeds the maximum of {MAX_TAGS}.")
    for key, value in tags.items():
        if not key or len(key) > MAX_TAG_LENGTH or len(value) > MAX_TAG_LENGTH:
            raise exc.bad_parameter(
                f"Tag names and values must be 1 to {MAX_TAG_LENGTH} characters long."
            )


# --- reads ------------------------------------------------------------------------------------


def _active(emu: Emulator, vault: Vault, name: str) -> dict[str, Any] | None:
    entry = _entries(emu, vault).get(name.lower())
    return entry if entry is not None and not entry["deleted"] else None


def get_version(emu: Emulator, vault: Vault, name: str, version: str | None) -> SecretVersion:
    """A version of an active secret (the latest when ``version`` is empty); 404 otherwise."""
    entry = _active(emu, vault, name)
    if entry is None:
        raise exc.secret_not_found(name, version or None)
    return _view(entry, _raw_version(entry, name, version))


def _raw_version(entry: dict[str, Any], name: str, version: str | None) -> dict[str, Any]:
    if not version:
        raw: dict[str, Any] = entry["versions"][-1]
        return raw
    wanted = version.lower()
    for raw in entry["versions"]:
        if raw["version"] == wanted:
            return raw
    raise exc.secret_not_found(name, version)


def read_secret(emu: Emulator, vault: Vault, name: str, version: str | None) -> SecretVersion:
    """A version whose value may be returned: 403 ``SecretDisabled`` when it is disabled.

    ``nbf``/``exp`` are informational: Key Vault still returns expired or not-yet-valid values.
    """
    found = get_version(emu, vault, name, version)
    if not found.enabled:
        raise exc.secret_disabled()
    return found


def latest_page(
    emu: Emulator, vault: Vault, after: str | None, size: int
) -> tuple[list[SecretVersion], bool]:
    """Up to ``size`` active secrets' latest versions named after ``after`` (lower-cased), in
    name order, and whether more follow: only the page is rendered, whatever the vault holds."""
    entries = _entries(emu, vault)
    names = _sorted_names(emu, vault, entries)
    start = bisect.bisect_right(names, after) if after is not None else 0
    page: list[SecretVersion] = []
    for i in range(start, len(names)):
        entry = entries.get(names[i])
        if entry is None or entry["deleted"]:
            continue
        if len(page) == size:
            return page, True
        page.append(_view(entry, entry["versions"][-1]))
    return page, False


_NAMES: weakref.WeakKeyDictionary[Emulator, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def _sorted_names(emu: Emulator, vault: Vault, entries: dict[str, Any]) -> list[str]:
    # Sorted again only after a name was added or purged (see _names_changed); a listing's
    # pages then cost O(log n + page) each instead of a sort of the whole vault per page.
    memo = _NAMES.setdefault(emu, {})
    key = vault.name.lower()
    if key not in memo:
        memo[key] = sorted(entries)
    return memo[key]


def _names_changed(emu: Emulator, vault: Vault) -> None:
    _NAMES.setdefault(emu, {}).pop(vault.name.lower(), None)


def list_versions(emu: Emulator, vault: Vault, name: str) -> list[SecretVersion]:
    """Every version of an active secret, ordered by version id; 404 for an unknown secret."""
    entry = _active(emu, vault, name)
    if entry is None:
        raise exc.secret_not_found(name)
    return sorted((_view(entry, raw) for raw in entry["versions"]), key=lambda v: v.version)


def _deleted_view(entry: dict[str, Any]) -> DeletedSecret:
    return DeletedSecret(
        latest=_view(entry, entry["versions"][-1]),
        deleted_date=int(entry["deleted"]["date"]),
        scheduled_purge=int(entry["deleted"]["purge"]),
    )


def get_deleted(emu: Emulator, vault: Vault, name: str) -> DeletedSecret:
    """A soft-deleted secret; 404 when the name is not in the deleted state."""
    entry = _entries(emu, vault).get(name.lower())
    if entry is None or not entry["deleted"]:
        raise exc.deleted_secret_not_found(name)
    return _deleted_view(entry)


def list_deleted(emu: Emulator, vault: Vault) -> list[DeletedSecret]:
    """Every soft-deleted secret of the vault, ordered by name."""
    entries = _entries(emu, vault)
    return [_deleted_view(e) for _, e in sorted(entries.items()) if e["deleted"]]


# --- changes (the caller commits) ------------------------------------------------------------


def _new_version_id(emu: Emulator, vault: Vault) -> str:
    state = _vault_state(emu, vault)
    state["seq"] = int(state["seq"]) + 1
    rng = random.Random(f"{emu.world.seed}:keyvault:{vault.name.lower()}:{state['seq']}")
    return f"{rng.getrandbits(128):032x}"


@dataclass(frozen=True)
class NewSecret:
    """What a SetSecret request asks for (the value is kept out of ``repr``)."""

    value: str = field(repr=False)
    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool = True
    nbf: int | None = None
    exp: int | None = None


def set_secret(
    emu: Emulator, vault: Vault, name: str, new: NewSecret, created: int | None = None
) -> SecretVersion:
    """Add a version (the secret's new latest); 409 while the name is soft-deleted."""
    check_value(new.value)
    check_content_type(new.content_type)
    check_tags(new.tags)
    entries = _entries(emu, vault)
    entry = entries.get(name.lower())
    if entry is not None and entry["deleted"]:
        raise exc.deleted_but_recoverable(entry["name"])
    if entry is None:
        entries[name.lower()] = {"name": name, "deleted": None, "versions": []}
        _names_changed(emu, vault)
        entry = entries[name.lower()]  # the stored copy (see core.store)
    when = _now(emu) if created is None else created
    raw = {
        "version": _new_version_id(emu, vault),
        "value": new.value,
        "content_type": new.content_type,
        "tags": new.tags,
        "enabled": new.enabled,
        "nbf": new.nbf,
        "exp": new.exp,
        "created": when,
        "updated": when,
    }
    entry["versions"].append(raw)
    return _view(entry, raw)


def update_version(
    emu: Emulator, vault: Vault, name: str, version: str | None, changes: dict[str, Any]
) -> SecretVersion:
    """Apply an UpdateSecret: only the given content_type, tags, enabled, nbf and exp change."""
    entry = _active(emu, vault, name)
    if entry is None:
        raise exc.secret_not_found(name, version or None)
    raw = _raw_version(entry, name, version)
    check_content_type(changes.get("content_type"))
    check_tags(changes.get("tags"))
    for key in ("content_type", "tags", "enabled", "nbf", "exp"):
        if key in changes:
            raw[key] = changes[key]
    raw["updated"] = _now(emu)
    return _view(entry, raw)


def delete_secret(emu: Emulator, vault: Vault, name: str) -> DeletedSecret:
    """Soft-delete every version; recoverable for 90 days."""
    entry = _active(emu, vault, name)
    if entry is None:
        raise exc.secret_not_found(name)
    now = _now(emu)
    entry["deleted"] = {"date": now, "purge": now + RECOVERABLE_DAYS * _DAY}
    _purge_at(emu, vault, entry["deleted"]["purge"])
    return _deleted_view(entry)


def recover_secret(emu: Emulator, vault: Vault, name: str) -> SecretVersion:
    """Undo a soft delete; returns the latest version."""
    entry = _entries(emu, vault).get(name.lower())
    if entry is None or not entry["deleted"]:
        raise exc.deleted_secret_not_found(name)
    entry["deleted"] = None
    return _view(entry, entry["versions"][-1])


def purge_secret(emu: Emulator, vault: Vault, name: str) -> None:
    """Remove a soft-deleted secret for good; its name can be set again afterwards."""
    entries = _entries(emu, vault)
    entry = entries.get(name.lower())
    if entry is None or not entry["deleted"]:
        raise exc.deleted_secret_not_found(name)
    del entries[name.lower()]
    _names_changed(emu, vault)


def set_times(
    emu: Emulator, vault: Vault, name: str, version: str | None, times: dict[str, int | None]
) -> SecretVersion:
    """Admin: rewrite ``created``/``updated``/``nbf``/``exp`` of a version (tests never sleep).

    A deleted secret's versions can be rewritten too. The caller validates ``times``.
    """
    entry = _entries(emu, vault).get(name.lower())
    if entry is None:
        raise exc.secret_not_found(name, version or None)
    raw = _raw_version(entry, name, version)
    raw.update(times)
    return _view(entry, raw)
