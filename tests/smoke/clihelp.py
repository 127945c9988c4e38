"""Helpers shared by the smoke and audit tests: run the CLI as a principal of the world, and
collect every key and secret value the emulator holds (to prove none reaches any output)."""

from __future__ import annotations

from collections.abc import Sequence

from click.testing import CliRunner, Result

from keyops.cli.main import cli
from keyops.emulator.services.arm.models import current_key
from tests.support.emulator import EmulatorHandle


def cli_env(
    handle: EmulatorHandle, principal: str = "keyops-rotator", **extra: str
) -> dict[str, str | None]:
    """The environment ``keyops`` runs with: the emulator, and a service principal's secret."""
    p = handle.principal(principal)
    env: dict[str, str | None] = {
        "KEYOPS_EMULATOR": str(handle.connection_path),
        "AZURE_TENANT_ID": handle.conn["tenant_id"],
        "AZURE_CLIENT_ID": p["client_id"],
        "AZURE_CLIENT_SECRET": p["client_secret"],
        "AZURE_AUTHORITY_HOST": handle.url,
        "REQUESTS_CA_BUNDLE": handle.ca_bundle,
        "AZURE_SUBSCRIPTION_ID": None,
        "AZURE_OPENAI_API_KEY": None,
        "KEYOPS_CONFIG": None,
        "KEYOPS_OUTPUT": None,
    }
    env.update(extra)
    return env


def run(
    handle: EmulatorHandle,
    args: Sequence[str],
    *,
    principal: str = "keyops-rotator",
    stdin: str | None = None,
    **extra: str,
) -> Result:
    """``keyops <args>`` in-process, stdout and stderr kept apart."""
    return CliRunner().invoke(
        cli,
        list(args),
        env=cli_env(handle, principal, **extra),
        input=stdin,
        catch_exceptions=False,
    )


def every_key(handle: EmulatorHandle) -> list[str]:
    """Both current keys of every account of the world (keyless accounts included)."""
    emu = handle.server.emulator
    return [
        current_key(emu, a["name"], slot)
        for a in handle.conn["accounts"]
        for slot in ("Key1", "Key2")
    ]


def assert_no_key(texts: Sequence[str], keys: Sequence[str]) -> None:
    """No key, nor a recognisable half of one, appears in any text."""
    for text in texts:
        for key in keys:
            assert key not in text and key[: len(key) // 2] not in text
