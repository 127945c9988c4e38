"""A key whose text is not a key's (a stray newline, a space, a control character) is refused
where it enters keyops — Key Vault, the environment, a .env file, stdin — in one line naming its
fingerprint, before an HTTP library can quote it in an error. The CLI tests turn keyops.logs'
redaction off: the protection must not depend on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import keyops.logs
from keyops.cli.main import cli
from keyops.emulator.services.arm.models import current_key
from keyops.errors import MalformedKeyError
from keyops.exitcodes import ExitStatus
from keyops.secret import SecretValue, check_key_text, fingerprint_of, key_text_problem
from tests.secure.support import KeyRing, cli_env, git_repo, invoke
from tests.support.emulator import EmulatorHandle

EUS, WEU = "contoso-openai-eus", "contoso-aiservices-weu"
GOOD = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def no_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """keyops.logs passes text through unchanged (its formatter and hook look redact up)."""
    monkeypatch.setattr(keyops.logs, "redact", lambda text: text)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (GOOD, None),
        ("A" * 52 + "JQQJ99" + "b" * 26, None),
        ("", "is empty"),
        (GOOD + "\n", "has whitespace around it (a stray newline?)"),
        (GOOD + "\r\n", "has whitespace around it (a stray newline?)"),
        ("\t" + GOOD, "has whitespace around it (a stray newline?)"),
        (GOOD[:16] + " " + GOOD[16:], "contains whitespace"),
        (GOOD[:16] + "\n" + GOOD[16:], "contains whitespace"),
        (GOOD[:16] + "\x00" + GOOD[16:], "contains a control character"),
        (GOOD[:16] + "\x7f" + GOOD[16:], "contains a control character"),
        (GOOD[:16] + "é" + GOOD[16:], "contains a non-ASCII character"),
    ],
)
def test_key_text_problems(value: str, problem: str | None) -> None:
    assert key_text_problem(value) == problem == SecretValue(value).text_problem


def test_the_error_names_the_origin_and_fingerprint_never_the_value() -> None:
    value = GOOD + "\n"
    with pytest.raises(MalformedKeyError) as err:
        check_key_text(SecretValue(value), "the key from $K")
    message = str(err.value)
    assert message.startswith(f"the key from $K ({fingerprint_of(value)}) has whitespace")
    assert GOOD[:8] not in message and "\n" not in message
    assert err.value.exit_status is ExitStatus.CONFIG
    check_key_text(GOOD)  # a key's text passes


def _padded_secret(handle: EmulatorHandle, name: str, account: str = EUS) -> str:
    """Store ``account``'s Key2 plus a newline as secret ``name``; returns the stored value."""
    value = current_key(handle.server.emulator, account, "Key2") + "\n"
    client = handle.secret_client()
    try:
        client.set_secret(name, value)
    finally:
        client.close()
    return value


@pytest.mark.usefixtures("no_redaction")
def test_smoke_fails_the_target_of_a_stored_key_with_a_newline(
    shared_emulator: EmulatorHandle,
) -> None:
    value = _padded_secret(shared_emulator, "key-text-smoke")
    endpoint = shared_emulator.account(EUS)["endpoint"]
    r = invoke(
        shared_emulator,
        [
            "--debug",
            "smoke",
            *("--endpoint", endpoint, "--deployment", "gpt-4o-mini", "--key-from", "vault"),
            *("--vault-url", shared_emulator.vault_url(), "--secret-name", "key-text-smoke"),
        ],
    )
    assert r.exit_code == ExitStatus.FAILED, r.stderr
    [header, line] = r.stdout.splitlines()
    assert header.startswith("result") and line.startswith("FAIL") and "key_unavailable" in line
    assert f"/key-text-smoke ({fingerprint_of(value)}) has whitespace around it" in line
    assert not KeyRing({value.strip()}).leaks(r.stdout + r.stderr)


@pytest.mark.usefixtures("no_redaction")
@pytest.mark.parametrize(
    ("source", "inside", "problem"),
    [
        ("env", " ", "contains whitespace"),
        ("dotenv", "\t", "contains whitespace"),
        ("stdin", "\x01", "contains a control character"),
    ],
)
def test_a_key_given_by_a_person_is_refused_in_one_line(
    shared_emulator: EmulatorHandle, tmp_path: Path, source: str, inside: str, problem: str
) -> None:
    """Whitespace around such a key is not part of it (and is dropped); inside, it is refused."""
    key = current_key(shared_emulator.server.emulator, EUS, "Key1")
    broken = key[:16] + inside + key[16:]
    endpoint = shared_emulator.account(EUS)["endpoint"]
    env_file = tmp_path / ".env"
    env_file.write_text(f'AZURE_OPENAI_API_KEY="{broken}"\n')
    args = ["smoke", "--endpoint", endpoint, "-d", "gpt-4o-mini", "--key-from", source]
    r = CliRunner().invoke(
        cli,
        [*args, "--env-file", str(env_file)] if source == "dotenv" else args,
        env=cli_env(shared_emulator, AZURE_OPENAI_API_KEY=broken),
        input=f"  {broken}\n",
        catch_exceptions=False,
    )
    assert r.exit_code == ExitStatus.CONFIG, (r.stdout, r.stderr)
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("keyops: error: the key from ") and problem in r.stderr
    assert fingerprint_of(broken) in r.stderr and key[:8] not in r.stderr


@pytest.mark.usefixtures("no_redaction")
def test_hand_over_commands_refuse_a_stored_key_with_a_newline(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """run, env and export would hand the newline on (a broken .env line, a broken header in
    the child): each refuses in one line, and writes nothing."""
    value = _padded_secret(shared_emulator, "key-text-handover")
    source = [
        *("--vault", shared_emulator.vault_url(), "--secret", "key-text-handover"),
        *("--endpoint", shared_emulator.account(EUS)["endpoint"]),
    ]
    repo = git_repo(tmp_path / "repo")
    gh_env = tmp_path / "github-env"
    gh_env.touch()
    cases = [
        (["run", *source, "--", "true"], {}, ExitStatus.CHILD_NOT_RUN),
        (["env", *source, "--write", str(repo / ".env")], {}, ExitStatus.CONFIG),
        (
            ["export", *source],
            {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(gh_env)},
            ExitStatus.CONFIG,
        ),
    ]
    for args, env, status in cases:
        r = invoke(shared_emulator, args, **env)
        assert r.exit_code == status, (args[0], r.stdout, r.stderr)
        assert r.stdout == "" and len(r.stderr.splitlines()) == 1, (args[0], r.stderr)
        assert f"({fingerprint_of(value)}) has whitespace around it" in r.stderr
        assert not KeyRing({value.strip()}).leaks(r.stderr)
    assert not (repo / ".env").exists() and gh_env.read_text() == ""


@pytest.mark.usefixtures("no_redaction")
def test_audit_reports_a_stored_key_with_a_newline(emulator: EmulatorHandle) -> None:
    """The secret still holds Key1 (as rotate judges it); AUD017 says what to fix, and the
    value is not sent to the data plane."""
    key1 = current_key(emulator.server.emulator, WEU, "Key1")
    client = emulator.secret_client()
    client.set_secret(f"{WEU}-api-key", key1 + "\n")
    client.close()
    r = invoke(
        emulator,
        ["--debug", "audit", "--account", WEU, "--vault-url", emulator.vault_url(), "-o", "json"],
    )
    assert r.exit_code == 0, r.stderr
    [row] = json.loads(r.stdout)["accounts"]
    secret, vault = row["secret"], row["calls"]["vault"]
    assert (secret["matches"], secret["text_problem"]) == ("Key1", key_text_problem(key1 + "\n"))
    assert vault["outcome"] is None and "whitespace around it" in vault["skipped"]
    [finding] = [f for f in json.loads(r.stdout)["findings"] if f["rule_id"] == "AUD017"]
    assert "without it, it is Key1" in finding["message"]
    assert fingerprint_of(key1 + "\n") in finding["message"]
    assert not KeyRing({key1}).leaks(r.stdout + r.stderr)


def test_an_empty_key_is_named_empty_without_a_fingerprint() -> None:
    """An unset or blank variable: "is empty" says it all (no fingerprint of nothing)."""
    with pytest.raises(MalformedKeyError) as err:
        check_key_text("", "the key from $AZURE_OPENAI_API_KEY")
    assert str(err.value) == "the key from $AZURE_OPENAI_API_KEY is empty"
