"""Confirmations are typed: no option that confirms something destructive reads the
environment, neither a named variable nor one from ``auto_envvar_prefix``. Every option of every
command is enumerated, so a confirmation added later is held to the same rule."""

from __future__ import annotations

import re

import click
import pytest

from keyops.cli.main import cli
from tests.secure.test_options import _commands

#: What a confirmation's flag looks like: --force, --break-*, --confirm-*, --yes, and the
#: requests that regenerate keys consumers hold (--revoke-previous).
CONFIRMATION = re.compile(r"^--(force|yes|revoke-previous|break-[a-z-]+|confirm(-[a-z-]+)?)$")


def _confirmations(command: click.Command) -> list[click.Option]:
    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and any(CONFIRMATION.match(o) for o in p.opts)
    ]


def _child_context(path: str, command: click.Command) -> click.Context:
    ctx = click.Context(cli, info_name="keyops", auto_envvar_prefix="KEYOPS")
    for name in path.split()[:-1]:
        ctx = click.Context(click.Group(name), parent=ctx, info_name=name)
    return click.Context(command, parent=ctx, info_name=path.split()[-1])


def test_rotate_has_the_confirmations_the_rule_is_about() -> None:
    rotate = dict(_commands())["rotate"]
    flags = {o for p in _confirmations(rotate) for o in p.opts}
    assert {
        "--force",
        "--break-lease",
        "--confirm-revoke",
        "--confirm-breaking-consumers",
        "--revoke-previous",
    } <= flags


@pytest.mark.parametrize(
    ("path", "command"), list(_commands()), ids=lambda v: str(v) if isinstance(v, str) else ""
)
def test_no_confirmation_reads_the_environment(
    path: str, command: click.Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _child_context(path, command)
    for param in _confirmations(command):
        assert not param.envvar, f"keyops {path} {param.opts[0]} reads {param.envvar}"
        assert not param.allow_from_autoenv, f"keyops {path} {param.opts[0]} reads KEYOPS_*"
        # Whatever a CI environment holds, the value comes from the command line only.
        auto = f"{ctx.auto_envvar_prefix}_{(param.name or '').upper()}"
        bare = f"KEYOPS_{(param.name or '').upper()}"
        for name in (auto, bare):
            monkeypatch.setenv(name, "1")
        assert param.resolve_envvar_value(ctx) is None
        assert param.value_from_envvar(ctx) is None


def test_keyops_force_in_the_environment_does_not_force(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regression from the issue: KEYOPS_FORCE and friends used to confirm from the env."""
    for name in ("KEYOPS_FORCE", "KEYOPS_CONFIRM_REVOKE", "KEYOPS_BREAK_LEASE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("KEYOPS_ROTATE_FORCE", "true")
    rotate = dict(_commands())["rotate"]
    ctx = rotate.make_context("rotate", ["--dry-run"], parent=_child_context("x", rotate).parent)
    assert ctx.params["force"] is False and ctx.params["break_lease"] is False
    assert ctx.params["confirm_revoke"] is False
