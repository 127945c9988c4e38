"""No option of any command takes a key or secret value; traps that refuse one must refuse.

Every command of the CLI (nested groups included) is walked. An option whose name says it
carries a key, token or password value fails the test — unless it is a hidden trap that exists
only to refuse such a value (``smoke --key``), which is then invoked and must exit 6 without
echoing what it was given. ``--secret NAME`` names a Key Vault secret and is fine; so are
options naming a variable, a file or a source (``--key-var``, ``--key-from``, ``--env-file``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from keyops.cli.main import COMMANDS, cli

#: Names (without dashes) that say "this is the value".
_VALUE = re.compile(
    r"^(?:.*-)?(?:key[12]?|api-?key|apikey|secret-value|client-secret|password|passwd|pwd|token"
    r"|access-token|bearer|credential|connection-string|sas|sig|value)$"
)
CANARY = "canaryValue0123456789abcdef"


def _commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    stack: list[tuple[str, click.Command]] = []
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        if command is not None:
            stack.append((name, command))
    while stack:
        path, command = stack.pop(0)
        yield path, command
        if isinstance(command, click.Group):
            stack.extend((f"{path} {sub}", command.commands[sub]) for sub in command.commands)


def _value_options(command: click.Command) -> list[tuple[click.Option, str]]:
    found = []
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        for opt in [*param.opts, *param.secondary_opts]:
            if _VALUE.match(opt.lstrip("-").lower()):
                found.append((param, opt))
    return found


def test_the_walk_sees_every_built_command() -> None:
    paths = [path for path, _ in _commands()]
    assert "run" in paths and "env" in paths and "export" in paths
    assert len(paths) >= 6


def test_the_pattern_tells_values_from_names() -> None:
    for opt in ("key", "api-key", "secret-value", "client-secret", "token", "key1", "value"):
        assert _VALUE.match(opt), opt
    for opt in (
        "secret",
        "secret-name",
        "key-var",
        "key-from",
        "key-env",
        "env-file",
        "vault-url",
        "keyvault",
        "endpoint-var",
        "live-from-env",
    ):
        assert not _VALUE.match(opt), opt


@pytest.mark.parametrize(
    ("path", "command"), list(_commands()), ids=lambda v: str(v) if isinstance(v, str) else ""
)
def test_no_option_takes_a_key(path: str, command: click.Command) -> None:
    for param, opt in _value_options(command):
        assert param.hidden and not param.expose_value, (
            f"keyops {path} {opt} takes a key/secret value on the command line"
        )
        needs_value = not param.is_flag
        args = [*path.split(), opt, *([CANARY] if needs_value else [])]
        result = CliRunner().invoke(cli, args, env={"KEYOPS_EMULATOR": None})
        assert result.exit_code == 6, (path, opt, result.output)
        assert CANARY not in result.output
