"""Fill the vaults from the world: each seed secret becomes a version, oldest first.

``value_from = "account:<name>:Key1"`` copies an account key made by the ARM service, which
seeds before this one. The key is read through ``arm.models.current_key`` (the ARM service's
public accessor); the import is lazy because the ARM service may be absent from a build, in
which case a deterministic stand-in value (which opens no account) is stored instead.
"""

from __future__ import annotations

import random
import weakref

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.services.keyvault import models
from keyops.emulator.world import SeedSecret, Vault, WorldError, relative_time


def _arm_key(emu: Emulator, account: str, slot: str) -> str | None:
    try:
        from keyops.emulator.services.arm import models as arm_models
    except ImportError:
        return None
    try:
        return arm_models.current_key(emu, account, slot)
    except KeyError:
        return None


_NAMES: weakref.WeakKeyDictionary[Emulator, frozenset[str]] = weakref.WeakKeyDictionary()


def _world_account_names(emu: Emulator) -> frozenset[str]:
    # A set, not a scan per secret: a fleet world seeds thousands of secrets.
    if emu not in _NAMES:
        _NAMES[emu] = frozenset(a.name.lower() for a in emu.world.accounts)
    return _NAMES[emu]


def _account_key(emu: Emulator, ref: str, where: str) -> str:
    _, account, slot = ref.split(":")
    if account.lower() not in _world_account_names(emu):
        raise WorldError(f"{where}.value_from: no account named {account!r}")
    key = _arm_key(emu, account, slot)
    if key is not None:
        return key
    if emu.store.section("arm").get("accounts"):
        raise WorldError(
            f"{where}.value_from: the ARM service holds no {slot} for account {account!r}"
        )
    # No ARM service in this build (it seeds before vaults when present): a stand-in key keeps
    # the vault usable; it opens no account.
    rng = random.Random(f"{emu.world.seed}:keyvault-standin:{account.lower()}:{slot}")
    return f"{rng.getrandbits(128):032x}"


def _seed_secret(emu: Emulator, vault: Vault, secret: SeedSecret, where: str) -> None:
    if not models.NAME_PATTERN.match(secret.name):
        raise WorldError(
            f"{where}.name: {secret.name!r} is not a valid secret name "
            "(1-127 letters, digits and hyphens)"
        )
    now = emu.clock.now()
    value = secret.value
    if value is None:
        value = _account_key(emu, str(secret.value_from), where)
    created = (
        int(relative_time(secret.created, now, f"{where}.created")) if secret.created else int(now)
    )
    exp = int(relative_time(secret.expires, now, f"{where}.expires")) if secret.expires else None
    new = models.NewSecret(
        value=value,
        content_type=secret.content_type,
        tags=dict(secret.tags) or None,
        enabled=secret.enabled,
        exp=exp,
    )
    try:
        models.set_secret(emu, vault, secret.name, new, created=created)
    except EmulatorHTTPError as err:
        # The answer's message names the rule broken, never the value.
        message = (err.body or {}).get("error", {}).get("message", "invalid secret")
        raise WorldError(f"{where}: {message}") from None


def seed(emu: Emulator) -> None:
    """Create every vault's seed secrets (called once, when the state is new)."""
    for vi, vault in enumerate(emu.world.vaults):
        for si, secret in enumerate(vault.secrets):
            _seed_secret(emu, vault, secret, f"vaults[{vi}].secrets[{si}]")
