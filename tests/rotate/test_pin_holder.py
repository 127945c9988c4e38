"""A lease holder with no user name: a container running under an arbitrary uid (OpenShift, a
CI image without a passwd entry) makes getpass fail; the holder says "unknown" and goes on."""

from __future__ import annotations

import getpass
import os

import pytest

from keyops.rotate.holder import default_holder


@pytest.mark.parametrize(
    "error",
    [KeyError("getpwuid(): uid not found: 1000680000"), OSError("No username set")],
)
def test_a_process_without_a_user_name_holds_as_unknown(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_user() -> str:
        raise error

    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    monkeypatch.delenv("BUILD_BUILDID", raising=False)
    monkeypatch.setattr(getpass, "getuser", no_user)
    holder = default_holder()
    assert holder.startswith("unknown@") and f" pid {os.getpid()} started " in holder
