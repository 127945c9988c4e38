"""The one type that holds a key value, and the one fingerprint format.

A :class:`SecretValue` never shows its value in ``repr``/``str``/``format``; the only way to the
value is :meth:`SecretValue.reveal`, called at the few places that must send it (an HTTP header,
a Key Vault write, a child process environment, a pipeline masking command).

:func:`check_key_text` is the one check of a key's text, made where a key enters keyops (Key
Vault, ARM, the environment, a .env file, stdin): a key is printable ASCII without whitespace
(Azure's keys are 32 hexadecimal digits or 84 base62 characters). Anything else — most often a
newline pasted with the key — is refused there, naming the fingerprint only, before an HTTP
library can reject it with the whole value in its error message (``requests``' InvalidHeader
does).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, NoReturn

from keyops.errors import MalformedKeyError
from keyops.redact import register

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
        # Every printed line is redacted of the values keyops holds (keyops.redact).
        register(value)

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

    @property
    def text_problem(self) -> str | None:
        """What makes the value unusable as a key's text (see :func:`key_text_problem`)."""
        return key_text_problem(self._value)

    def strip(self) -> SecretValue:
        """The value without whitespace around it (a stored key with a stray newline)."""
        return SecretValue(self._value.strip())

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            # Bytes: compare_digest refuses str with non-ASCII characters, and a stored
            # secret can hold any text.
            return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))
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


def key_text_problem(value: str) -> str | None:
    """What makes ``value`` unusable as a key's text, as a phrase safe to print, or None."""
    if not value:
        return "is empty"
    if value != value.strip():
        return "has whitespace around it (a stray newline?)"
    if any(ch.isspace() for ch in value):
        return "contains whitespace"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "contains a control character"
    if not value.isascii():
        return "contains a non-ASCII character"
    return None


def check_key_text(value: str | SecretValue, origin: str = "the key") -> None:
    """Refuse a key whose text is not a key's (see the module documentation).

    ``origin`` says where the key came from (``the key from $AZURE_OPENAI_API_KEY``). Raises
    :class:`~keyops.errors.MalformedKeyError` naming the origin and the fingerprint, never the
    value.
    """
    key = value if isinstance(value, SecretValue) else SecretValue(value)
    problem = key.text_problem
    if problem is None:
        return
    if not key:
        raise MalformedKeyError(f"{origin} {problem}")
    raise MalformedKeyError(
        f"{origin} ({key.fingerprint}) {problem}: a key is printable ASCII without "
        "whitespace; store it again without the stray characters"
    )
