"""An index over a list of state records, for lookups that every request makes.

A lookup by scanning a list the world scales (resource groups, role assignments) costs every
request O(world). The records stay in the store's list (its owner and the one truth); the index
maps a key of each record to the records with that key, and is rebuilt whenever the list is
not the one it was built from (its length, first or last record differ). Records are added
(world seeding, admin calls, tests), never re-keyed in place, which this check relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ListIndex(Generic[K]):
    """Records of a list grouped by ``key(record)``, kept in list order."""

    def __init__(self, key: Callable[[dict[str, Any]], K]) -> None:
        self._key = key
        self._groups: dict[K, list[dict[str, Any]]] = {}
        self._built_from: tuple[int, int, int] | None = None

    def get(self, rows: Sequence[dict[str, Any]], key: K) -> list[dict[str, Any]]:
        """The records of ``rows`` whose key is ``key`` (empty if none)."""
        mark = (len(rows), id(rows[0]) if rows else 0, id(rows[-1]) if rows else 0)
        if mark != self._built_from:
            groups: dict[K, list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(self._key(row), []).append(row)
            self._groups, self._built_from = groups, mark
        return self._groups.get(key, [])
