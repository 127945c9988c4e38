"""Running `keyops consumers` against an emulator, and reading its JSON."""

from __future__ import annotations

from typing import Any

from tests.consumers.worlds import PRINCIPALS
from tests.support.cli import invoke_json
from tests.support.emulator import EmulatorHandle


def run_consumers(emulator: EmulatorHandle, *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit status, parsed JSON (``{}`` when none) and stderr of ``keyops consumers -o json``."""
    return invoke_json(emulator, "consumers", *args)


def target(doc: dict[str, Any], account: str) -> dict[str, Any]:
    """One account's entry."""
    return next(t for t in doc["targets"] if t["account"] == account)


def reader(entry: dict[str, Any], principal: str) -> dict[str, Any] | None:
    """The vault reader that is ``principal`` (by object id), if listed."""
    oid = PRINCIPALS[principal][1]
    return next((r for r in entry["readers"] if r["object_id"] == oid), None)


def key_caller(entry: dict[str, Any], ip: str) -> dict[str, Any] | None:
    """The key caller at ``ip``, if listed."""
    return next((c for c in entry["callers"] if c["auth"] == "key" and c["ip"] == ip), None)


def codes(entry: dict[str, Any]) -> set[str]:
    """The coverage finding codes of an entry."""
    return {f["code"] for f in entry["findings"]}
