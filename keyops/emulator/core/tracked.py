"""JSON containers that report every change by path, so the store saves only what changed.

``accounts[3]["keys"]["Key1"] = ...`` reports ``("arm", "accounts", 3, "keys", "Key1")``; an
append reports the new index; anything that moves list items reports the whole list. A value put
in is copied into tracked containers: keep using the stored one, not the object you put in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, SupportsIndex

NodePath = tuple[str | int, ...]
#: Separates path parts in the store's row keys, so no key may contain it.
SEP = "\x1f"


class Owner:
    """What a tracked container reports its changes to (the store, or nothing once detached)."""

    def touched(self, path: NodePath) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class TrackedDict(dict[str, Any]):
    """A dict that reports each change to its store by path. Copies come out as plain dicts."""

    __slots__ = ("_owner", "_path")

    def __init__(self, owner: Owner, path: NodePath) -> None:
        super().__init__()
        self._owner = owner
        self._path = path

    def _put(self, key: str, value: Any) -> None:
        super().__setitem__(key, adopt(value, self._owner, (*self._path, key)))

    def __setitem__(self, key: str, value: Any) -> None:
        self._put(key, value)
        self._owner.touched((*self._path, key))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._owner.touched((*self._path, key))

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._owner.touched((*self._path, key))
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = super().popitem()
        self._owner.touched((*self._path, key))
        return key, value

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __ior__(self, other: Any) -> TrackedDict:  # type: ignore[misc,override]
        self.update(other)
        return self

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return json.loads(json.dumps(self))

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class TrackedList(list[Any]):
    """A list that reports each change to its store: an append or item set by index, anything
    that moves items as a change of the whole list."""

    __slots__ = ("_owner", "_path")

    def __init__(self, owner: Owner, path: NodePath) -> None:
        super().__init__()
        self._owner = owner
        self._path = path

    def _restructured(self) -> None:
        # Items may have moved: give each its new index as its path.
        for i, item in enumerate(self):
            super().__setitem__(i, adopt(item, self._owner, (*self._path, i), force=True))
        self._owner.touched(self._path)

    def append(self, value: Any) -> None:
        index = len(self)
        super().append(adopt(value, self._owner, (*self._path, index)))
        self._owner.touched((*self._path, index))

    def extend(self, values: Iterable[Any]) -> None:
        for value in values:
            self.append(value)

    def __iadd__(self, values: Iterable[Any]) -> TrackedList:  # type: ignore[misc]
        self.extend(values)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, list(value))
            self._restructured()
            return
        i = range(len(self))[index]
        super().__setitem__(i, adopt(value, self._owner, (*self._path, i)))
        self._owner.touched((*self._path, i))

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._restructured()

    def insert(self, index: SupportsIndex, value: Any) -> None:
        super().insert(index, value)
        self._restructured()

    def pop(self, index: SupportsIndex = -1) -> Any:
        value = super().pop(index)
        self._restructured()
        return value

    def remove(self, value: Any) -> None:
        super().remove(value)
        self._restructured()

    def clear(self) -> None:
        super().clear()
        self._restructured()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._restructured()

    def reverse(self) -> None:
        super().reverse()
        self._restructured()

    def __imul__(self, n: SupportsIndex) -> TrackedList:
        super().__imul__(n)
        self._restructured()
        return self

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return json.loads(json.dumps(self))

    def __reduce__(self) -> Any:
        return (list, (list(self),))


def adopt(value: Any, owner: Owner, path: NodePath, *, force: bool = False) -> Any:
    """``value`` as tracked containers at ``path`` (a copy, unless it is already exactly that)."""
    tracked = isinstance(value, TrackedDict | TrackedList)
    if tracked and not force and value._owner is owner and value._path == path:
        return value
    if isinstance(value, dict):
        d = TrackedDict(owner, path)
        for k, v in value.items():
            if not isinstance(k, str) or SEP in k:
                raise TypeError(f"state keys are strings without U+001F, not {k!r}")
            d._put(k, v)
        return d
    if isinstance(value, list | tuple):
        lst = TrackedList(owner, path)
        list.extend(lst, (adopt(v, owner, (*path, i)) for i, v in enumerate(value)))
        return lst
    return value
