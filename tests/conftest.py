"""Shared fixtures: in-process emulators over HTTPS, driven by the real Azure SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle, start_emulator
from tests.support.mitm_proxy import InterceptingProxy


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests (exhaustive fault matrices) unless the run selects them (-m slow)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow (exhaustive): run with scripts/test -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the redactor of a new keyops process: keys registered by an earlier test
    (keyops.redact masks every key value the process has held) must not mask for this one."""
    import keyops.redact

    monkeypatch.setattr(keyops.redact, "REDACTOR", keyops.redact.Redactor())


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for every emulator of this test process."""
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="session")
def shared_emulator(
    tmp_path_factory: pytest.TempPathFactory, tls_dir: Path
) -> Iterator[EmulatorHandle]:
    """One emulator for tests that only read, or change only what they create themselves."""
    handle = start_emulator(tmp_path_factory.mktemp("shared-emulator"), tls_dir)
    yield handle
    handle.stop()


@pytest.fixture
def emulator(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A fresh emulator with the default world, for tests that change state."""
    handle = start_emulator(tmp_path / "emulator", tls_dir)
    yield handle
    handle.admin("DELETE", "faults")
    handle.stop(wait=False)  # its state directory is this test's own: nothing waits for it


@pytest.fixture
def proxy(tmp_path: Path, shared_emulator: EmulatorHandle) -> Iterator[InterceptingProxy]:
    """A TLS-intercepting CONNECT proxy in front of the shared emulator (its own CA)."""
    running = InterceptingProxy(tmp_path, upstream_ca=shared_emulator.ca_bundle)
    yield running
    running.close()
