"""One CLI: global options before or after the command, -q, --no-color/NO_COLOR, command
suggestions, every variable in --help but none for a confirmation, the same JSON envelope,
and a reader that closes stdout ending keyops quietly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from keyops.cli.globalopts import hoist_global_options
from keyops.cli.main import cli
from keyops.exitcodes import ExitStatus
from keyops.render import colour_enabled, configure, severity_label

ROOT = Path(__file__).resolve().parents[1]


def _invoke(*args: str, **env: str | None) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), env={"KEYOPS_OUTPUT": None, **env})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("nothing secret here\n")
    return tmp_path


def test_global_options_work_after_the_command(tree: Path) -> None:
    before = _invoke("-o", "json", "scan", str(tree))
    after = _invoke("scan", str(tree), "-o", "json")
    assert before.exit_code == after.exit_code == 0, before.stderr + after.stderr
    first, second = json.loads(before.stdout), json.loads(after.stdout)
    assert first["schema"] == second["schema"] and "summary" in first
    debug_after = _invoke("scan", str(tree), "--debug")
    assert debug_after.exit_code == 0, debug_after.stderr


def test_quiet_drops_info_lines_but_not_errors(tree: Path) -> None:
    loud = _invoke("scan", str(tree))
    assert "keyops: scan: 0 findings" in loud.stderr
    quiet = _invoke("scan", str(tree), "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    failing = _invoke("-q", "scan", str(tree / "missing"))
    assert failing.exit_code == ExitStatus.USAGE and failing.stderr.startswith("keyops: error:")


def test_hoisting_leaves_a_child_command_and_own_options_alone() -> None:
    ctx = click.Context(cli)
    child = ["run", "--secret", "s", "--", "python", "-q", "--debug"]
    assert hoist_global_options(cli, ctx, child) == child
    bare = ["run", "python", "-q"]  # run stops at its first argument
    assert hoist_global_options(cli, ctx, bare) == bare
    own = ["audit", "-o", "sarif", "--debug"]  # audit's own -o stays; --debug moves
    assert hoist_global_options(cli, ctx, own) == ["--debug", "audit", "-o", "sarif"]
    assert hoist_global_options(cli, ctx, ["scan", ".", "--emulator=x.json"]) == [
        "--emulator=x.json",
        "scan",
        ".",
    ]


def test_an_unknown_command_gets_a_suggestion() -> None:
    r = _invoke("rotat")
    assert r.exit_code == ExitStatus.USAGE
    assert r.stderr == (
        "keyops: error: no such command 'rotat'; did you mean rotate? (keyops --help lists them)\n"
    )
    assert "did you mean" not in _invoke("xyzzy").stderr


def test_help_names_every_variable_but_a_confirmation_takes_none() -> None:
    text = _invoke("rotate", "--help").stdout
    assert re.search(r"env\s+var:\s+KEYOPS_DRY_RUN", text)
    assert re.search(r"env\s+var:\s+KEYOPS_CONCURRENCY", text)
    confirm = text[text.index("\n  --confirm-revoke") :].split("\n  -", 2)[1]
    assert "env var" not in confirm
    refused = _invoke("rotate", "--revoke-previous", KEYOPS_ROTATE_CONFIRM_REVOKE="1")
    assert refused.exit_code == ExitStatus.USAGE and "--confirm-revoke" in refused.stderr
    assert re.search(r"env\s+var:\s+KEYOPS_EMULATOR", _invoke("--help").stdout)


def test_severities_are_coloured_only_when_colour_is_wanted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    configure(quiet=False, no_color=False)
    assert severity_label("high", Terminal()) == "\x1b[31mhigh\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert severity_label("high", Terminal()) == "high"
    monkeypatch.delenv("NO_COLOR")
    configure(quiet=False, no_color=True)
    assert not colour_enabled(Terminal())
    configure(quiet=False, no_color=False)


@pytest.mark.parametrize("args", [["--help"], ["emulator", "env", "--state-dir", "{tmp}"]])
def test_a_closed_stdout_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """`keyops ... | head -1`: the reader is gone before keyops writes; status 141, no stderr."""
    conn = {"authority_host": "https://a", "tenant_id": "t", "client_id": "c"}
    conn |= {"client_secret": "s", "subscription_id": "u", "ca_bundle": "b", "url": "https://u"}
    (tmp_path / "connection.json").write_text(json.dumps(conn))
    read, write = os.pipe()
    os.close(read)  # the reader went away before keyops wrote a byte
    proc = subprocess.run(
        [sys.executable, "-m", "keyops", *[a.replace("{tmp}", str(tmp_path)) for a in args]],
        stdout=write,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    os.close(write)
    assert proc.stderr.decode() == ""
    assert proc.returncode == ExitStatus.BROKEN_PIPE


def test_counts_agree_with_their_noun(tmp_path: Path) -> None:
    """ "1 finding", not "1 findings"; "1 file", not "1 files"."""
    hexkey = hashlib.sha256(b"plural").hexdigest()[:32]
    (tmp_path / "settings.py").write_text(f'AZURE_OPENAI_API_KEY = "{hexkey}"\n')
    r = _invoke("scan", str(tmp_path))
    assert r.exit_code == ExitStatus.FAILED, r.stderr
    assert "keyops: scan: 1 finding in 1 file (" in r.stderr
