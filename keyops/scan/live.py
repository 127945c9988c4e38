"""Live keys, reduced to SHA-256 digests before the scanner sees them.

The scanner compares key-shaped tokens by hash, so it never holds or prints a live key. Sources:
environment variables (``--live-from-env``) and ARM ``listKeys`` for the accounts in scope
(``--live``; the caller passes a function that lists an account's keys, so this module needs no
Azure SDK). Key Vault holds copies of one of the two ARM keys, so it adds nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from keyops.errors import InputError, KeyopsError
from keyops.secret import SecretValue


@dataclass(frozen=True)
class LiveKeys:
    """Digests of the live keys gathered, and why some accounts' keys could not be read."""

    digests: frozenset[str]
    accounts_read: int
    unreadable: tuple[str, ...]


def digests_of(secrets: Iterable[SecretValue]) -> frozenset[str]:
    """The SHA-256 hex digests of the given keys (empty values are ignored)."""
    return frozenset(secret.digest for secret in secrets if secret)


def digests_from_env(names: Iterable[str], environ: Mapping[str, str]) -> frozenset[str]:
    """Digests of the keys held in the named environment variables.

    An unset or empty variable is an :class:`InputError`: a scan that silently compares against
    nothing would report "no live key leaked" without having looked.
    """
    secrets: list[SecretValue] = []
    for name in names:
        value = environ.get(name, "").strip()
        if not value:
            raise InputError(f"--live-from-env: environment variable {name} is not set or empty")
        secrets.append(SecretValue(value))
    return digests_of(secrets)


def digests_from_accounts(
    accounts: Iterable[tuple[str, str]],
    list_keys: Callable[[str], Iterable[SecretValue]],
) -> LiveKeys:
    """Digests of both keys of each ``(name, resource id)`` account, "when credentials allow".

    An account whose keys cannot be read (no ``listKeys`` permission, local auth disabled, ...)
    is recorded in ``unreadable`` with the reason instead of failing the scan.
    """
    digests: set[str] = set()
    unreadable: list[str] = []
    read = 0
    for name, resource_id in accounts:
        try:
            digests |= digests_of(list_keys(resource_id))
        except KeyopsError as exc:
            unreadable.append(f"{name}: {exc.message}")
        else:
            read += 1
    return LiveKeys(frozenset(digests), read, tuple(unreadable))
