"""The one type that holds a key value, and the one fingerprint format.

A :class:`SecretValue` never shows its value in ``repr``/``str``/``format``; the only way to the
value is :meth:`SecretValue.reveal`, called at the few places that must send it (an HTTP header,
a Key Vault write, a child process environment, a pipeline masking command).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, NoReturn

FINGERPRINT_PREFIX = "sha256:"


def fingerprint_of(value: str) -> str:
    """The short fingerprint shown for a key: ``sha256:`` + first 8 hex digits of its SHA-256."""
    return FINGERPRINT_PREFIX + hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]


class SecretValue:
    """A key or secret value whose text representations are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("SecretValue wraps a str")
        self._value = value

    def reveal(self) -> str:
        """Return the value. Call only where the value must leave the process."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """The short fingerprint of the value, safe to print."""
        return fingerprint_of(self._value)

    @property
    def digest(self) -> str:
        """Full SHA-256 hex digest, for comparisons without holding the value."""
        return hashlib.sha256(self._value.encode("utf-8")).hexdigest()

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return hmac.compare_digest(self._value, other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"SecretValue({self.fingerprint})"

    def __str__(self) -> str:
        return f"<secret {self.fingerprint}>"

    def __format__(self, spec: str) -> str:
        return str(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("SecretValue cannot be pickled")

    def __getstate__(self) -> Any:
        raise TypeError("SecretValue cannot be pickled")
