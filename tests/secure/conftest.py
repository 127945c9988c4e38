"""Fixtures for the secure-handling tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """git must not see the developer's global ignore rules (a global excludesfile listing
    .env would make "not ignored" cases pass for the wrong reason)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
