"""Generated repositories shared by the scan tests (built once per session)."""

from __future__ import annotations

import os

import pytest

from keyops_bench.scan.corpus import Corpus, generate_repo

REPO_SIZE = 1_500_000
SEED = 20240601


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner's git calls must not see the developer's global ignore rules or hooks."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(scope="session")
def planted_repo(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """A repository with keys planted in history, the working tree and an ignored file."""
    return generate_repo(tmp_path_factory.mktemp("planted"), size_bytes=REPO_SIZE, seed=SEED)


@pytest.fixture(scope="session")
def clean_repo(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The same generator, seed and size, without any key."""
    root = tmp_path_factory.mktemp("clean")
    return generate_repo(root, size_bytes=REPO_SIZE, seed=SEED, plant=False)
