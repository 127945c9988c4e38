"""``keyops env --write`` and ``keyops export`` against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from dotenv import dotenv_values

from keyops.secret import fingerprint_of
from tests.secure.runners import parse_github_file
from tests.secure.support import KeyRing, git_repo, invoke
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"
ENDPOINT = "https://contoso-aiservices-weu.openai.azure.com/"


def _args(handle: EmulatorHandle) -> list[str]:
    return ["--vault", handle.vault_url(), "--secret", f"{WEU}-api-key", "--endpoint", ENDPOINT]


def _stored(handle: EmulatorHandle) -> str:
    client = handle.secret_client()
    try:
        return str(client.get_secret(f"{WEU}-api-key").value)
    finally:
        client.close()


def _vault_reads(handle: EmulatorHandle, seq: int) -> list[dict[str, object]]:
    return [e for e in handle.log_since(seq) if e["surface"] == "keyvault"]


def test_env_writes_a_git_ignored_0600_file_and_prints_no_key(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / ".env").write_text("KEEP=me\n")
    r = invoke(
        shared_emulator,
        ["-o", "json", "env", *_args(shared_emulator), "--write", str(repo / ".env")],
    )
    assert r.exit_code == 0, r.stderr
    key = _stored(shared_emulator)
    assert dotenv_values(repo / ".env") == {
        "KEEP": "me",
        "AZURE_OPENAI_API_KEY": key,
        "AZURE_OPENAI_ENDPOINT": ENDPOINT,
    }
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600
    doc = json.loads(r.stdout)
    assert doc["schema"] == "keyops.env/v1" and doc["kept_entries"] == 1
    assert doc["variables"]["AZURE_OPENAI_API_KEY"]["fingerprint"] == fingerprint_of(key)
    assert not KeyRing({key}).leaks(r.stdout + r.stderr)


def test_env_refuses_before_reading_the_key(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo", ignore=())
    seq = shared_emulator.last_seq
    r = invoke(shared_emulator, ["env", *_args(shared_emulator), "--write", str(repo / ".env")])
    assert r.exit_code == 6 and "git does not ignore it" in r.stderr
    assert not (repo / ".env").exists() and r.stdout == ""
    assert _vault_reads(shared_emulator, seq) == []


def test_export_under_github_actions(shared_emulator: EmulatorHandle, tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("env", "output")}
    for path in files.values():
        path.write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_OUTPUT": str(files["output"]),
    }
    key = _stored(shared_emulator)
    to_env = invoke(shared_emulator, ["export", *_args(shared_emulator)], **env)
    to_output = invoke(
        shared_emulator,
        ["export", *_args(shared_emulator), "--to", "output", "--key-var", "KEY"],
        **env,
    )
    assert to_env.exit_code == 0 and to_output.exit_code == 0, (to_env.stderr, to_output.stderr)
    assert to_env.stdout == to_output.stdout == f"::add-mask::{key}\n"
    assert parse_github_file(files["env"].read_text()) == {
        "AZURE_OPENAI_API_KEY": key,
        "AZURE_OPENAI_ENDPOINT": ENDPOINT,
    }
    assert parse_github_file(files["output"].read_text()) == {
        "KEY": key,
        "AZURE_OPENAI_ENDPOINT": ENDPOINT,
    }
    assert not KeyRing({key}).leaks(to_env.stderr + to_output.stderr)


def test_export_under_azure_pipelines_with_a_json_report(shared_emulator: EmulatorHandle) -> None:
    key = _stored(shared_emulator)
    r = invoke(shared_emulator, ["-o", "json", "export", *_args(shared_emulator)], TF_BUILD="True")
    assert r.exit_code == 0, r.stderr
    first, second, *report = r.stdout.splitlines()
    assert first == f"##vso[task.setvariable variable=AZURE_OPENAI_API_KEY;issecret=true]{key}"
    assert second == f"##vso[task.setvariable variable=AZURE_OPENAI_ENDPOINT]{ENDPOINT}"
    doc = json.loads("\n".join(report))
    assert doc["schema"] == "keyops.export/v1" and doc["format"] == "azure-pipelines"
    assert doc["variables"][0] == {
        "name": "AZURE_OPENAI_API_KEY",
        "secret": True,
        "fingerprint": fingerprint_of(key),
    }
    assert not KeyRing({key}).leaks("\n".join(report))


def test_export_refuses_without_a_masker(shared_emulator: EmulatorHandle) -> None:
    seq = shared_emulator.last_seq
    plain = invoke(shared_emulator, ["export", *_args(shared_emulator)])
    forced = invoke(
        shared_emulator, ["export", "--format", "github", *_args(shared_emulator)], TF_BUILD="True"
    )
    assert plain.exit_code == forced.exit_code == 6
    assert "nothing would mask the key" in plain.stderr + forced.stderr
    assert plain.stdout == forced.stdout == ""
    assert _vault_reads(shared_emulator, seq) == []


def test_export_to_a_dotenv_file_outside_a_pipeline(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo", ignore=("*.env",))
    missing = invoke(shared_emulator, ["export", "--format", "dotenv", *_args(shared_emulator)])
    assert missing.exit_code == 2 and "--write FILE" in missing.stderr
    r = invoke(
        shared_emulator,
        ["export", "--format", "dotenv", "--write", str(repo / "ci.env"), *_args(shared_emulator)],
    )
    assert r.exit_code == 0, r.stderr
    assert (repo / "ci.env").stat().st_mode & 0o777 == 0o600
    assert dotenv_values(repo / "ci.env")["AZURE_OPENAI_API_KEY"] == _stored(shared_emulator)
    assert r.stdout == ""
