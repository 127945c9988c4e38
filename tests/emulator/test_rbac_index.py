"""RBAC answers from an index: the same answers as a scan, and assignments added later count."""

from __future__ import annotations

from typing import Any

from keyops.emulator.core.listindex import ListIndex
from keyops.emulator.core.rbac import Rbac, RoleDefinition

ROLE = RoleDefinition("r1", "Key Reader", "", ({"actions": ["Microsoft.Foo/keys/read"]},), {})
READ = "Microsoft.Foo/keys/read"


def _row(i: int, principal: str, scope: str) -> dict[str, Any]:
    return {
        "id": f"a{i}",
        "name": f"a{i}",
        "scope": scope,
        "role_definition": "R1",
        "principal_id": principal,
        "principal_type": "ServicePrincipal",
        "created": 0.0,
    }


def _subscription(k: int) -> str:
    return f"/subscriptions/00000000-0000-0000-0000-{k:012d}"


def test_a_principal_in_many_subscriptions_is_answered_per_subscription() -> None:
    """The rotator holds a role in 300 subscriptions; each answer still sees exactly its own,
    whatever the case of ids and trailing slashes, and another principal's never count."""
    rows = [_row(k, "ROTATOR", _subscription(k)) for k in range(300)]
    rows.append(_row(999, "other", _subscription(300)))
    rbac = Rbac({"r1": ROLE}, rows)
    rg = f"{_subscription(17).upper()}/resourceGroups/rg/"
    assert rbac.allows("rotator", READ, rg)
    assert rbac.allows("Rotator", READ, _subscription(299))
    assert not rbac.allows("rotator", READ, _subscription(300))  # only 'other' holds it there
    assert not rbac.allows("rotator", "Microsoft.Foo/keys/write", rg)
    # A scope that merely starts like a covered one is not below it.
    assert not rbac.allows("rotator", READ, _subscription(1) + "0")


def test_assignments_added_after_an_answer_count_at_once() -> None:
    """Seeding, the admin API and tests append to the store's list while the emulator serves:
    the next answer sees them (a root assignment covers every subscription)."""
    rows = [_row(0, "p", _subscription(0))]
    rbac = Rbac({"r1": ROLE}, rows)
    assert not rbac.allows("p", READ, _subscription(5))
    rows.append(_row(1, "p", _subscription(5) + "/resourceGroups/rg"))
    assert rbac.allows("p", READ, _subscription(5) + "/resourceGroups/rg/providers/x/y/z")
    assert not rbac.allows("p", READ, _subscription(6))
    rows.append(_row(2, "p", "/"))
    assert rbac.allows("p", READ, _subscription(6))
    assert rbac.allows("p", READ, "/providers/Microsoft.Management/managementGroups/mg")


def test_list_index_follows_removal_and_replacement() -> None:
    """A record removed, or the last one replaced by another, is not answered from the old index."""
    rows: list[dict[str, Any]] = [{"k": "a", "v": 1}, {"k": "b", "v": 2}]
    index: ListIndex[str] = ListIndex(lambda r: r["k"])
    assert [r["v"] for r in index.get(rows, "b")] == [2]
    rows.pop()
    assert index.get(rows, "b") == []
    rows.append({"k": "c", "v": 3})
    assert index.get(rows, "b") == []
    assert [r["v"] for r in index.get(rows, "c")] == [3]
    rows[-1] = {"k": "b", "v": 4}
    assert [r["v"] for r in index.get(rows, "b")] == [4]
