"""Running `keyops consumers` against an emulator, and reading its JSON."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from keyops.cli.main import cli
from tests.consumers.worlds import PRINCIPALS
from tests.support.emulator import EmulatorHandle


def run_consumers(emulator: EmulatorHandle, *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit status, parsed JSON (``{}`` when none) and stderr of ``keyops consumers -o json``."""
    result = CliRunner().invoke(
        cli,
        ["--emulator", str(emulator.connection_path), "consumers", "--output", "json", *args],
        env={
            "AZURE_CLIENT_ID": emulator.conn["client_id"],
            "AZURE_CLIENT_SECRET": emulator.conn["client_secret"],
            "AZURE_TENANT_ID": emulator.conn["tenant_id"],
        },
    )
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, doc, result.stderr


def target(doc: dict[str, Any], account: str) -> dict[str, Any]:
    """One account's entry."""
    return next(t for t in doc["targets"] if t["account"] == account)


def reader(entry: dict[str, Any], principal: str) -> dict[str, Any] | None:
    """The vault reader that is ``principal`` (by object id), if listed."""
    oid = PRINCIPALS[principal][1]
    return next((r for r in entry["readers"] if r["object_id"] == oid), None)


def key_caller(entry: dict[str, Any], ip: str) -> dict[str, Any] | None:
    """The key caller at ``ip``, if listed."""
    return next((c for c in entry["callers"] if c["auth"] == "key" and c["ip"] == ip), None)


def codes(entry: dict[str, Any]) -> set[str]:
    """The coverage finding codes of an entry."""
    return {f["code"] for f in entry["findings"]}
