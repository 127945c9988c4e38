"""The keyops error hierarchy: each error carries the exit status it maps to.

Errors from Azure SDKs are translated into these at the adapter edge (``keyops.azure``), so that
the CLI's single handler can turn any of them into one line on stderr and a documented status.
Messages never carry a key value: callers pass fingerprints, not keys.
"""

from __future__ import annotations

from keyops.exitcodes import ExitStatus


class KeyopsError(Exception):
    """Base class for every error keyops reports to the user."""

    exit_status: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(KeyopsError):
    """A configuration file, environment variable or connection file is wrong."""

    exit_status = ExitStatus.CONFIG


class MalformedKeyError(KeyopsError):
    """A key's text is not usable as a key (empty, whitespace or control characters in it).

    A configuration error wherever the key comes from (an environment variable, a .env file, a
    Key Vault secret): the fix is to store the key without the stray characters. It is not a
    :class:`ConfigError`, so that one bad stored key fails its own target, not a whole fleet.
    """

    exit_status = ExitStatus.CONFIG


class InputError(KeyopsError):
    """A command-line value is wrong (reported like a click usage error)."""

    exit_status = ExitStatus.USAGE


class AuthError(KeyopsError):
    """Azure refused the identity keyops runs as (authentication or authorization)."""

    exit_status = ExitStatus.AUTH


class ServiceError(KeyopsError):
    """Azure could not be reached or answered with a service error."""

    exit_status = ExitStatus.SERVICE


class NotFoundError(ServiceError):
    """A resource (account, secret, deployment) does not exist."""


class RefusedError(KeyopsError):
    """A safety guard refused the operation; nothing was changed."""

    exit_status = ExitStatus.REFUSED
