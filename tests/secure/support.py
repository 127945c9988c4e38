"""Helpers for the secure-handling tests: run keyops as a principal, collect every key the
emulator holds, find leaked pieces of them, and make git work trees."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from keyops.cli.main import cli
from tests.support.emulator import EmulatorHandle

REPO = Path(__file__).resolve().parents[2]
#: The width of the canary: no piece of a key this long may appear anywhere.
PIECE = 8
_DROPPED = (
    "AZURE_",
    "KEYOPS_",
    "IDENTITY_",
    "MSI_",
    "GITHUB_",
    "TF_BUILD",
    "ACTIONS_",
    "SYSTEM_",
    "AGENT_",
    "BUILD_",
    "RUNNER_",
)


def base_env(
    handle: EmulatorHandle, principal: str = "keyops-rotator", **extra: str
) -> dict[str, str]:
    """A process environment for keyops on the emulator, as a principal with a client secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    p = handle.principal(principal)
    env.update(
        {
            "KEYOPS_EMULATOR": str(handle.connection_path),
            "AZURE_TENANT_ID": handle.conn["tenant_id"],
            "AZURE_CLIENT_ID": p["client_id"],
            "AZURE_CLIENT_SECRET": p["client_secret"] or "",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def cli_env(
    handle: EmulatorHandle, principal: str = "keyops-rotator", **extra: str | None
) -> dict[str, str | None]:
    """The changes CliRunner makes to os.environ (None unsets)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(_DROPPED)}
    env.update(base_env(handle, principal))
    env.update(extra)
    return env


def invoke(
    handle: EmulatorHandle,
    args: Sequence[str],
    principal: str = "keyops-rotator",
    **extra: str | None,
) -> Result:
    """``keyops <args>`` in-process with stdout and stderr apart."""
    return CliRunner().invoke(
        cli, list(args), env=cli_env(handle, principal, **extra), catch_exceptions=False
    )


def run_keyops(
    args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m keyops <args>`` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        env=dict(env),
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def shim_dir(directory: Path) -> Path:
    """A directory holding a ``keyops`` executable that runs this repository's keyops."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "keyops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m keyops "$@"\n')
    shim.chmod(0o755)
    return directory


def git_repo(path: Path, ignore: Iterable[str] = (".env",)) -> Path:
    """A git work tree at ``path`` whose .gitignore lists ``ignore``."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".gitignore").write_text("".join(f"{p}\n" for p in ignore))
    return path


@dataclass
class KeyRing:
    """Every key value seen in the emulator (both slots of every account, every secret version)."""

    values: set[str]

    def leaks(self, text: str) -> list[str]:
        """Descriptions of keys that have a PIECE-character piece in ``text`` (never the key)."""
        from keyops.secret import fingerprint_of

        found = []
        for value in self.values:
            if any(value[i : i + PIECE] in text for i in range(len(value) - PIECE + 1)):
                found.append(fingerprint_of(value))
        return sorted(found)


def collect_keys(handle: EmulatorHandle, ring: KeyRing | None = None) -> KeyRing:
    """Add the emulator's current keys (ARM listKeys) and vault secret values to ``ring``."""
    from keyops.emulator.services.arm.models import current_key

    ring = ring or KeyRing(set())
    mgmt = handle.mgmt_client()
    try:
        for account in handle.conn["accounts"]:
            try:
                keys = mgmt.accounts.list_keys(account["resource_group"], account["name"])
                ring.values.update(v for v in (keys.key1, keys.key2) if v)
            except Exception:  # disableLocalAuth: ARM refuses listKeys; read the state instead
                ring.values.update(
                    current_key(handle.server.emulator, account["name"], slot)
                    for slot in ("Key1", "Key2")
                )
    finally:
        mgmt.close()
    for vault in handle.conn["vaults"]:
        ring.values.update(_vault_values(handle, vault["name"]))
    ring.values.discard("")
    return ring


def _vault_values(handle: EmulatorHandle, vault: str) -> set[str]:
    client: Any = handle.secret_client(vault)
    values = set()
    try:
        for props in client.list_properties_of_secrets():
            for version in client.list_properties_of_secret_versions(props.name):
                if version.enabled is False:
                    continue
                secret = client.get_secret(props.name, version.version)
                if secret.value and len(secret.value.strip()) >= 16:
                    values.add(secret.value.strip())
    finally:
        client.close()
    return values
