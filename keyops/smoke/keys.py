"""Where ``keyops smoke`` takes the credential from — never from a command-line argument.

A key comes from the target's Key Vault secret, from ARM (a key slot), from an environment
variable, from a ``.env`` file (python-dotenv) or from stdin; or the call uses an Entra token
instead. Command-line arguments are refused because they end up in shell history and in the
process list. Every key is a :class:`~keyops.secret.SecretValue` from the moment it is read.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from keyops.errors import ConfigError, InputError, NotFoundError
from keyops.secret import SecretValue, check_key_text

if TYPE_CHECKING:
    from keyops.azure.arm import AccountsClient, KeySlot
    from keyops.azure.vault import VaultClient

#: The variable the OpenAI SDKs and Azure's samples use for the key.
DEFAULT_KEY_VARIABLE = "AZURE_OPENAI_API_KEY"
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class KeySource(str, enum.Enum):
    """Where the key comes from (``entra``: no key, a token)."""

    VAULT = "vault"
    ARM = "arm"
    ENV = "env"
    DOTENV = "dotenv"
    STDIN = "stdin"
    ENTRA = "entra"


@dataclass(frozen=True)
class KeyOrigin:
    """A key and a printable description of where it came from."""

    key: SecretValue
    origin: str


def check_variable(name: str) -> str:
    """An environment variable name, or InputError."""
    if not _VARIABLE.match(name or ""):
        raise InputError(f"bad environment variable name {name!r}")
    return name


def _non_empty(value: str | None, origin: str) -> KeyOrigin:
    """A key from the environment, a file or a person: surrounding whitespace (a newline) is
    not part of it; unset, empty or malformed is a configuration error (exit status 3)."""
    if value is None:
        raise ConfigError(f"no key: {origin} is not set")
    key = SecretValue(value.strip())
    check_key_text(key, f"the key from {origin}")
    return KeyOrigin(key, origin)


def _checked(key: SecretValue, origin: str) -> KeyOrigin:
    """A key stored in Azure is used exactly as stored (its consumers read it as it is, so a
    test of a repaired copy would prove nothing); an empty or malformed one fails that target
    only, with a MalformedKeyError."""
    check_key_text(key, f"the key from {origin}")
    return KeyOrigin(key, origin)


def key_from_env(variable: str, environ: Mapping[str, str] | None = None) -> KeyOrigin:
    """The key in environment variable ``variable``."""
    environ = os.environ if environ is None else environ
    return _non_empty(environ.get(check_variable(variable)), f"${variable}")


def key_from_dotenv(path: str | os.PathLike[str], variable: str) -> KeyOrigin:
    """The key assigned to ``variable`` in a ``.env`` file (read, never exported)."""
    from dotenv import dotenv_values

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f".env file not found: {file}")
    try:
        values = dotenv_values(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f".env file {file} is unreadable: {exc}") from None
    return _non_empty(values.get(check_variable(variable)), f"{variable} in {file}")


def key_from_stdin(stream: TextIO | None, prompt: Callable[[], str] | None = None) -> KeyOrigin:
    """The first line of stdin (or a hidden prompt when stdin is a terminal)."""
    if stream is None or stream.closed:
        raise ConfigError("stdin is closed: pipe the key in, or use --key-from env|dotenv|vault")
    if prompt is not None and stream.isatty():
        return _non_empty(prompt(), "the prompt")
    try:
        line = stream.readline()
    except UnicodeDecodeError:
        raise ConfigError("stdin is not UTF-8 text, so it holds no key") from None
    return _non_empty(line, "stdin")


def key_from_vault(vault: VaultClient, secret_name: str) -> KeyOrigin:
    """The latest version of a secret."""
    latest = vault.get_latest(secret_name)
    where = f"vault {vault.name}/{secret_name}"
    if latest is None:
        raise NotFoundError(f"no secret {secret_name!r} in vault {vault.name}")
    if latest.value is None:
        raise NotFoundError(f"{where} has no value")
    return _checked(latest.value, where)


def key_from_arm(
    accounts: AccountsClient, account_id: str, slot: KeySlot, account_name: str
) -> KeyOrigin:
    """Slot ``Key1``/``Key2`` of an account, through ARM listKeys."""
    keys = accounts.list_keys(account_id)
    return _checked(keys.slot(slot), f"ARM {account_name}/{slot}")
