"""Never weaker than the guidance: TLS verification stays on, bodies are never logged, keys
never go to an http:// endpoint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keyops.cloud import CLOUDS, resolve_environment
from tests.secure.support import REPO, git_repo, invoke
from tests.support.emulator import EmulatorHandle

#: Ways to turn TLS verification off, or to log HTTP bodies, in the libraries keyops uses.
WEAKENING = re.compile(
    r"verify\s*=\s*False|connection_verify\s*=\s*False|logging_enable\s*=\s*True"
    r"|logging_body\s*=\s*True|CERT_NONE|check_hostname\s*=\s*False|disable_warnings"
    r"|_create_unverified_context|PYTHONHTTPSVERIFY"
)


def test_no_source_file_weakens_tls_or_logs_bodies() -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "keyops").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WEAKENING.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "\n".join(found)


def test_every_environment_verifies_tls(shared_emulator: EmulatorHandle) -> None:
    for name in CLOUDS:
        assert resolve_environment(None, name).verify is True
    emulated = resolve_environment(str(shared_emulator.connection_path), None)
    assert emulated.verify == shared_emulator.conn["ca_bundle"]


@pytest.mark.parametrize(("command", "status"), [("run", 125), ("env", 6), ("export", 6)])
def test_no_key_for_an_http_endpoint(
    shared_emulator: EmulatorHandle, tmp_path: Path, command: str, status: int
) -> None:
    repo = git_repo(tmp_path / "repo")
    tail = {"run": ["--", "true"], "env": ["--write", str(repo / ".env")], "export": []}[command]
    seq = shared_emulator.last_seq
    r = invoke(
        shared_emulator,
        [
            command,
            "--vault",
            shared_emulator.vault_url(),
            "--secret",
            "contoso-aiservices-weu-api-key",
            "--endpoint",
            "http://a.openai.azure.com/",
            *tail,
        ],
        GITHUB_ACTIONS="true",
        GITHUB_ENV=str(repo / "github_env"),
    )
    assert r.exit_code == status and "plain http" in r.stderr, r.stderr
    assert not (repo / ".env").exists() and not (repo / "github_env").exists()
    assert [e for e in shared_emulator.log_since(seq) if e["surface"] == "keyvault"] == []
