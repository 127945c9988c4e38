"""Shared fixtures: in-process emulators over HTTPS, driven by the real Azure SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle, start_emulator


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
    handle.stop()
