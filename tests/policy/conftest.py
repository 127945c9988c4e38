"""Fixtures for rotation-policy and selection tests: a fresh two-subscription, two-vault fleet
(fleet-world.toml) per test, and the CLI run in-process against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from keyops.cli.main import cli
from tests.rotate.conftest import cli_env
from tests.support.emulator import EmulatorHandle, start_emulator

WORLD = Path(__file__).with_name("fleet-world.toml")
SUB_A = "1a2b3c4d-0000-4000-8000-00000000000a"
SUB_B = "1a2b3c4d-0000-4000-8000-00000000000b"


def account_id(name: str) -> str:
    """The ARM id of one of the fleet's accounts."""
    sub, group = (SUB_B, "rg-b") if name == "pol-b1" else (SUB_A, "rg-a")
    return (
        f"/subscriptions/{sub}/resourceGroups/{group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{name}"
    )


@dataclass
class Fleet:
    """A running fleet emulator, a directory for keyops.toml, and ways to look at it."""

    emu: EmulatorHandle
    home: Path

    @property
    def main(self) -> str:
        return self.emu.vault_url("kv-main")

    @property
    def dr(self) -> str:
        return self.emu.vault_url("kv-dr")

    def config(self, text: str) -> str:
        """Write keyops.toml; returns its path."""
        path = self.home / "keyops.toml"
        path.write_text(text)
        return str(path)

    def run(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        """``keyops <args>`` in-process as the rotator, AZURE_SUBSCRIPTION_ID = subscription A
        (``stdin`` piped to it)."""
        full: dict[str, Any] = {"KEYOPS_CONFIG": None, "AZURE_SUBSCRIPTION_ID": SUB_A}
        full.update(cli_env(self.emu))
        full.update(env)
        return CliRunner().invoke(cli, list(args), env=full, input=stdin, catch_exceptions=False)

    def writes_since(self, seq: int) -> list[dict[str, Any]]:
        """Non-admin requests after ``seq`` that wrote or changed state."""
        return [
            e
            for e in self.emu.log_since(seq)
            if e["surface"] != "admin" and (e["write"] or e["changed"])
        ]

    def operations_since(self, seq: int) -> list[str]:
        """The operation names of the requests after ``seq``."""
        return self.emu.operations_since(seq)

    def secret(self, vault: str, name: str) -> Any:
        """The latest version of a secret, through the real SDK (None if missing)."""
        from azure.core.exceptions import ResourceNotFoundError

        client = self.emu.secret_client(vault)
        try:
            return client.get_secret(name)
        except ResourceNotFoundError:
            return None
        finally:
            client.close()

    def keys(self, name: str) -> tuple[str, str]:
        """An account's (Key1, Key2), through the real management SDK."""
        sub = SUB_B if name == "pol-b1" else SUB_A
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        client = CognitiveServicesManagementClient(
            self.emu.credential(),
            sub,
            base_url=self.emu.url,
            connection_verify=self.emu.ca_bundle,
            retry_total=0,
        )
        group = "rg-b" if name == "pol-b1" else "rg-a"
        keys = client.accounts.list_keys(group, name)
        client.close()
        return str(keys.key1), str(keys.key2)


@pytest.fixture
def fleet(tmp_path: Path, tls_dir: Path) -> Iterator[Fleet]:
    """A fresh fleet emulator (tests here rotate keys)."""
    handle = start_emulator(tmp_path / "emulator", tls_dir, world_path=str(WORLD))
    home = tmp_path / "home"
    home.mkdir()
    yield Fleet(handle, home)
    handle.stop()
