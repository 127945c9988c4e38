"""Fixtures for keyless tests: the rotation tests' rig (an emulator and keyops' clients on it)."""

from tests.rotate.conftest import rig

__all__ = ["rig"]
