"""Who holds a lease (keyops.rotate.holder.default_holder): the CI run when there is one, and
never more than 250 characters (a Key Vault tag value's limit is 256)."""

from __future__ import annotations

import os

import pytest

from keyops.rotate.holder import default_holder


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    monkeypatch.delenv("BUILD_BUILDID", raising=False)


def test_outside_ci_the_holder_names_this_process_and_no_run() -> None:
    holder = default_holder()
    assert f" pid {os.getpid()} started " in holder and " run " not in holder


@pytest.mark.parametrize("variable", ["GITHUB_RUN_ID", "BUILD_BUILDID"])
def test_in_ci_the_holder_ends_with_the_run(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "4711")
    assert default_holder().endswith(" run 4711")


def test_the_holder_is_cut_at_250_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "9" * 400)
    holder = default_holder()
    assert len(holder) == 250 and f" pid {os.getpid()} " in holder and holder.endswith("9999")
