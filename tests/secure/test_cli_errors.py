"""The CLI's single handler: an unexpected exception is one line on stderr and exit status 1
(125 for ``keyops run``), the traceback only with --debug and redacted; and azure-identity's
per-credential warnings never add lines to that one line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import keyops.logs
from keyops.cli.main import COMMANDS, cli
from keyops.exitcodes import ExitStatus
from keyops.logs import configure_logging
from tests.secure.boom import KEY
from tests.secure.support import cli_env
from tests.support.emulator import EmulatorHandle


@pytest.fixture(autouse=True)
def _boom_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "boom", ("tests.secure.boom:boom", "Fail."))
    monkeypatch.setitem(COMMANDS, "boom-run", ("tests.secure.boom:boom_run", "Fail."))


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"KEYOPS_DEBUG": None}, catch_exceptions=False)


def test_an_unexpected_exception_is_one_line_and_status_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without redaction: the line holds the exception's type, never its message.
    monkeypatch.setattr(keyops.logs, "redact", lambda text: text)
    r = _invoke("boom")
    assert r.exit_code == ExitStatus.FAILED
    assert r.stdout == ""
    assert r.stderr == (
        "keyops: error: internal error (RuntimeError); rerun with --debug for details\n"
    )


def test_a_command_with_its_own_failure_status_keeps_it() -> None:
    r = _invoke("boom-run")
    assert r.exit_code == ExitStatus.CHILD_NOT_RUN
    assert r.stderr.splitlines() == [
        "keyops: error: internal error (RuntimeError); rerun with --debug for details"
    ]


def test_debug_adds_the_traceback_redacted() -> None:
    r = _invoke("--debug", "boom")
    assert r.exit_code == ExitStatus.FAILED
    assert "Traceback" in r.stderr and "ValueError: Invalid leading whitespace" in r.stderr
    assert r.stderr.endswith("keyops: error: internal error (RuntimeError)\n")
    assert KEY[:12] not in r.stderr and "REDACTED" in r.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_azure_identity_is_quiet_unless_debugging(debug: bool) -> None:
    configure_logging(debug)
    level = logging.getLogger("azure.identity").getEffectiveLevel()
    assert level == (logging.DEBUG if debug else logging.ERROR)


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["smoke"], ExitStatus.AUTH),
        (["audit"], ExitStatus.AUTH),
        (["rotate"], ExitStatus.AUTH),
        (["run", "--target", "x", "--", "true"], ExitStatus.CHILD_NOT_RUN),
    ],
)
def test_a_refused_identity_is_one_line_on_stderr(
    shared_emulator: EmulatorHandle, tmp_path: Path, command: list[str], status: ExitStatus
) -> None:
    """A wrong client secret: azure-identity would log each failed credential of the chain;
    every command leaves only its own one line."""
    config = tmp_path / "keyops.toml"
    config.write_text(
        f'[defaults]\nvault_url = "{shared_emulator.vault_url()}"\n\n[[targets]]\nname = "x"\n'
        'resource_group = "rg-ai-prod"\naccount = "contoso-openai-eus"\n'
    )
    env = cli_env(shared_emulator, AZURE_CLIENT_SECRET="not-the-secret", KEYOPS_CONFIG=str(config))
    r = CliRunner().invoke(cli, command, env=env, catch_exceptions=False)
    assert r.exit_code == status, (r.stdout, r.stderr)
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("keyops: error: ")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ["rotate", "--concurrency", "0"],
            ExitStatus.USAGE,
            "Invalid value for '--concurrency' (env var: 'KEYOPS_CONCURRENCY'): "
            "0 is not in the range 1<=x<=128.",
        ),
        (
            ["usage", "--window", "400d"],
            ExitStatus.USAGE,
            "Invalid value for '--window' (env var: 'KEYOPS_USAGE_WINDOW'): "
            "must be between 1h and 93d",
        ),
        (["usage", "--window", "60d", "--history", "60d"], ExitStatus.USAGE, "--history"),
        (["audit", "--fail-on", "urgent"], ExitStatus.USAGE, "unknown severity 'urgent'"),
        (["smoke", "--no-such-option"], ExitStatus.USAGE, "No such option '--no-such-option'"),
        (["-o", "xml", "audit"], ExitStatus.USAGE, "Invalid value for '--output' / '-o'"),
        (["no-such-command"], ExitStatus.USAGE, "no such command 'no-such-command'"),
        (["emulator", "serve", "--port", "99999"], ExitStatus.USAGE, "Invalid value for '--port'"),
        (["run"], ExitStatus.CHILD_NOT_RUN, "Missing argument 'COMMAND...'."),
        (["run", "--no-such-option", "--", "true"], ExitStatus.CHILD_NOT_RUN, "No such option"),
    ],
)
def test_a_usage_error_is_one_line_naming_what_is_wrong(
    args: list[str], status: ExitStatus, message: str
) -> None:
    """click would print Usage, Try, a blank line and Error; keyops prints one line."""
    r = _invoke(*args)
    assert r.exit_code == status, r.stderr
    assert r.stdout == ""
    [line] = r.stderr.splitlines()
    assert line.startswith("keyops: error: ") and message in line, line


def test_the_console_entry_point_prints_one_line_too() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "keyops", "rotate", "--concurrency", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == ExitStatus.USAGE
    assert proc.stdout == ""
    assert proc.stderr == (
        "keyops: error: Invalid value for '--concurrency' (env var: 'KEYOPS_CONCURRENCY'): "
        "0 is not in the range 1<=x<=128.\n"
    )


def test_bare_commands_still_show_their_help() -> None:
    r = _invoke()
    assert r.exit_code == ExitStatus.USAGE and "Commands:" in r.stderr
    sub = _invoke("emulator")
    assert sub.exit_code == ExitStatus.USAGE and "serve" in sub.stderr
