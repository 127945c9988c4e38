"""Fixtures for rotation tests: an emulator, keyops' own clients on it, and state helpers."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keyops.azure.pacing import RetrySettings
from keyops.cloud import AzureEnvironment, resolve_environment
from keyops.config import Config, Settings
from keyops.rotate import RotationOptions, RotationServices
from keyops.targets import Selection, Target, resolve_targets
from tests.support import faketime
from tests.support.emulator import EmulatorHandle
from tests.support.faketime import RunnerClock

#: Fast failures in tests; 429s are still retried with Retry-After.
TEST_RETRY = RetrySettings(
    total=6,
    connect=1,
    backoff_factor=0.1,
    backoff_max=1.0,
    connection_timeout=5.0,
    read_timeout=20.0,
)
REPO = Path(__file__).resolve().parents[2]
#: On a child's PYTHONPATH, installs the step-boundary faults (tests/support/crashsite).
CRASH_SITE = REPO / "tests" / "support" / "crashsite"


@dataclass
class Rig:
    """An emulator plus keyops' clients for it, as the rotator principal."""

    emu: EmulatorHandle
    env: AzureEnvironment
    services: RotationServices

    @property
    def vault_url(self) -> str:
        return self.emu.vault_url()

    def targets(self, selection: Selection | None = None, **settings: Any) -> list[Target]:
        """Discovered targets with the default vault and ``settings`` as [defaults]."""
        defaults = Settings(vault_url=self.vault_url, **settings)
        return resolve_targets(
            Config(defaults=defaults),
            self.services.accounts,
            selection or Selection(),
            default_subscription=self.emu.conn["subscription_id"],
        )

    def target(self, account: str, **settings: Any) -> Target:
        """The target for one account."""
        (found,) = self.targets(Selection(account=account), **settings)
        return found

    def latest(self, secret: str) -> Any:
        """The latest version (with value) through keyops' vault client."""
        return self.services.vault(self.vault_url).get_latest(secret)

    def keys(self, target: Target) -> Any:
        """Both keys of an account."""
        return self.services.accounts(target.account.subscription_id).list_keys(target.resource_id)

    def backdate(self, secret: str, created: str, version: str = "latest") -> None:
        """Re-date a secret version through the emulator's admin API."""
        self.emu.admin(
            "POST",
            f"vaults/kv-keyops-prod/secrets/{secret}/versions/{version}",
            {"created": created},
        )

    def writes_since(self, seq: int) -> list[dict[str, Any]]:
        """Non-admin requests after ``seq`` that are writes or changed state."""
        return [
            e
            for e in self.emu.log_since(seq)
            if e["surface"] != "admin" and (e["write"] or e["changed"])
        ]

    def calls(self, seq: int, operation: str) -> list[dict[str, Any]]:
        """Requests of one operation after ``seq``."""
        return [e for e in self.emu.log_since(seq) if e["operation"] == operation]


needs_faketime = pytest.mark.skipif(not faketime.available(), reason="libfaketime not installed")


@pytest.fixture
def clock() -> Iterator[RunnerClock]:
    """The clocks of a paused child run, moved from outside (libfaketime)."""
    c = RunnerClock()
    yield c
    c.close()


@pytest.fixture
def ops_rig(tmp_path: Path, tls_dir: Path) -> Iterator[Rig]:
    """A :func:`rig` whose world also has a portal operator (``tests.support.worlds``)."""
    from tests.support.emulator import start_emulator
    from tests.support.worlds import operator_world

    emu = start_emulator(tmp_path / "emulator", tls_dir, world=operator_world())
    env = resolve_environment(str(emu.connection_path), None)
    credential = emu.credential("keyops-rotator")
    services = RotationServices(env, credential, retry=TEST_RETRY)
    yield Rig(emu, env, services)
    services.close()
    credential.close()
    gc.collect()
    emu.admin("DELETE", "faults")
    emu.stop()


def options(**kwargs: Any) -> RotationOptions:
    """Rotation options for tests (a short propagation timeout unless given)."""
    from datetime import timedelta

    kwargs.setdefault("propagation_timeout", timedelta(seconds=20))
    return RotationOptions(**kwargs)


@pytest.fixture
def rig(emulator: EmulatorHandle) -> Iterator[Rig]:
    """A fresh emulator with keyops' clients as keyops-rotator."""
    env = resolve_environment(str(emulator.connection_path), None)
    credential = emulator.credential("keyops-rotator")
    services = RotationServices(env, credential, retry=TEST_RETRY)
    yield Rig(emulator, env, services)
    services.close()
    credential.close()
    # An SDK error response (e.g. a 404 for a missing secret) sits in a reference cycle with its
    # exception and keeps its keep-alive socket open until collected; uvicorn's shutdown would
    # wait 10 s for it.
    gc.collect()


def cli_env(emu: EmulatorHandle, principal: str = "keyops-rotator", **extra: str) -> dict[str, str]:
    """A process environment for ``python -m keyops`` as ``principal`` on the emulator."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "KEYOPS_", "IDENTITY_", "MSI_"))
    }
    p = emu.principal(principal)
    env.update(
        {
            "KEYOPS_EMULATOR": str(emu.connection_path),
            "AZURE_TENANT_ID": emu.conn["tenant_id"],
            "AZURE_CLIENT_ID": p["client_id"],
            "AZURE_CLIENT_SECRET": p["client_secret"],
            "PYTHONPATH": f"{CRASH_SITE}{os.pathsep}{REPO}",
        }
    )
    env.update(extra)
    return env


def run_cli(
    emu: EmulatorHandle,
    *args: str,
    principal: str = "keyops-rotator",
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m keyops <args>`` against the emulator in a separate process (``stdin``,
    if given, is piped to it)."""
    return subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        env=cli_env(emu, principal, **(env or {})),
        input=stdin,
        # Not the repository's tests folder: ``python -m`` puts the working directory first on
        # sys.path, where tests/azure would shadow the azure SDK namespace.
        cwd=emu.connection_path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
