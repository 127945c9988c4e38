"""Every command's table on a real terminal of 80 and 120 columns (a pseudo-terminal of that
size), and piped: no line wider than the terminal, no token (a name, an id, a fingerprint, a
URL) split across lines, piped output plain and whole, control characters escaped."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from keyops.render import Layout, cell_width, escape_control, print_table
from tests.support.emulator import EmulatorHandle
from tests.support.terminal import on_terminal

ROOT = Path(__file__).resolve().parents[1]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOX = set("─│┃━┏┓┗┛┌┐└┘├┤┬┴┼╭╮╯╰═║")
#: A token worth checking: long, no spaces (names, ids, fingerprints, URLs).
_TOKEN = re.compile(r"[^\s]{10,}")


def _env(emulator: EmulatorHandle, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYOPS_"))}
    principal = emulator.principal("keyops-rotator")
    env.update(
        {
            "KEYOPS_EMULATOR": str(emulator.connection_path),
            "KEYOPS_VAULT_URL": emulator.vault_url(),
            "AZURE_TENANT_ID": emulator.conn["tenant_id"],
            "AZURE_CLIENT_ID": principal["client_id"],
            "AZURE_CLIENT_SECRET": principal["client_secret"] or "",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "",
            "TERM": "xterm",
        }
    )
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def _piped(args: Sequence[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=240,
        check=False,
    )
    assert "internal error" not in done.stderr, done.stderr
    return done.stdout


def split_tokens(text: str, tokens: set[str]) -> list[str]:
    """Tokens whose start ends one line and whose rest starts the next."""
    lines = [line.rstrip() for line in text.splitlines()]
    found = []
    for token in tokens:
        for line, following in itertools.pairwise(lines):
            for k in range(3, len(token) - 2):
                if line.endswith(token[:k]) and following.lstrip().startswith(token[k:]):
                    found.append(token)
    return found


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("scan-widths")
    # A 52-character location: fits 80 columns only once the other columns make room.
    deep = work / "services" / "payments-api" / "config"
    deep.mkdir(parents=True)
    (deep / "settings_production_eastus.py").write_text(
        f'AZURE_OPENAI_API_KEY = "{hashlib.sha256(b"width-test").hexdigest()[:32]}"\n'
    )
    return work


COMMANDS: dict[str, tuple[str, ...]] = {
    "rotate": ("rotate", "--dry-run"),
    "smoke": ("smoke",),
    "audit": ("audit",),
    "usage": ("usage",),
    "scan": ("scan", "."),
    "keyless": ("keyless", "plan"),
    # The demo runs its own emulator: one state directory per rendering ({mode}).
    "demo": ("demo", "--state-dir", "demo-{mode}", "--propagation-delay", "0.2"),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_table_fits_80_and_120_columns_and_pipes_plain(
    name: str, shared_emulator: EmulatorHandle, scan_dir: Path, tmp_path: Path
) -> None:
    env = _env(shared_emulator)
    cwd = scan_dir if name == "scan" else tmp_path
    outputs: dict[object, str] = {}

    def run(mode: object) -> None:
        args = [a.format(mode=mode) for a in COMMANDS[name]]
        if mode == "piped":
            outputs[mode] = _piped(args, env, cwd)
        else:
            assert isinstance(mode, int)
            outputs[mode] = on_terminal(args, env, cwd, columns=mode)[0]

    threads = [threading.Thread(target=run, args=(m,)) for m in ("piped", 80, 120)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    piped = outputs["piped"]
    assert piped.strip(), f"{name}: nothing on stdout"
    assert not (_BOX & set(piped)), f"{name}: box characters in piped output"
    assert "\x1b" not in piped
    tokens = set(_TOKEN.findall(piped))
    for width in (80, 120):
        text = _ANSI.sub("", outputs[width])
        assert text.strip(), f"{name} at {width}: nothing on stdout"
        wide = [line for line in text.splitlines() if cell_width(line) > width]
        assert not wide, f"{name} at {width} columns: {wide}"
        assert not split_tokens(text, tokens), f"{name} at {width}: split {text}"


def test_the_scanner_finds_a_split_token() -> None:
    token = "contoso-openai-eus-0123"
    assert split_tokens("a contoso-openai-\neus-0123 b", {token}) == [token]
    assert split_tokens("a contoso-openai-eus-0123\nb", {token}) == []


def _render(
    capsys: pytest.CaptureFixture[str], columns: Sequence[str], rows: list[list[str]], **kw: object
) -> str:
    print_table(columns, rows, **kw)  # type: ignore[arg-type]
    return capsys.readouterr().out


def test_control_characters_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "evil\u202etxt.exe\x1b[2J\x07"
    out = _render(capsys, ["account"], [[hostile]], title="t\x1b]0;x\x07")
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "evil\\u202etxt.exe\\x1b[2J\\x07" in out
    assert escape_control("plain ünïcode") == "plain ünïcode"


def test_tsv_is_one_line_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    out = _render(capsys, ["a", "b"], [["x\ty", "z"], ["1", "2"]], output="tsv")
    assert out.splitlines() == ["a\tb", "x\\x09y\tz", "1\t2"]


def test_piped_tables_never_drop_or_wrap(capsys: pytest.CaptureFixture[str]) -> None:
    row = ["contoso-openai-eus", "a reason " * 30]
    out = _render(capsys, ["account", "reason"], [row], layout=Layout(drop=["reason"]))
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("contoso-openai-eus  a reason")
