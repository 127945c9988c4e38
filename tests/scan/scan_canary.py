"""The canary check: no 8-character piece of a key in some output."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from keyops.secret import SecretValue


def leaked_pieces(text: str, keys: Iterable[SecretValue], width: int = 8) -> Iterator[str]:
    """The fingerprints of keys that have a ``width``-character piece in ``text`` (canary)."""
    for key in keys:
        value = key.reveal()
        if any(value[i : i + width] in text for i in range(len(value) - width + 1)):
            yield key.fingerprint
