"""The keyops CLI run in-process against an emulator, as its own service principal."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from keyops.cli.main import cli
from tests.support.emulator import EmulatorHandle


def principal_env(emulator: EmulatorHandle) -> dict[str, str]:
    """The environment of keyops' service principal in ``emulator``'s tenant."""
    return {
        "AZURE_CLIENT_ID": emulator.conn["client_id"],
        "AZURE_CLIENT_SECRET": emulator.conn["client_secret"],
        "AZURE_TENANT_ID": emulator.conn["tenant_id"],
    }


def invoke_json(
    emulator: EmulatorHandle, command: str, *args: str
) -> tuple[int, dict[str, Any], str]:
    """Exit status, parsed JSON (``{}`` when none) and stderr of ``keyops <command> -o json``."""
    result = CliRunner().invoke(
        cli,
        ["--emulator", str(emulator.connection_path), command, "--output", "json", *args],
        env=principal_env(emulator),
    )
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, doc, result.stderr
