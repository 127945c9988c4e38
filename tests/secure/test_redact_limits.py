"""The redactor's figures and its reach, each pinned at the limit: the shortest value it
registers, the credentials it takes from the environment (and how much of a token file), and
the streams it is put over and flushes at the end of a command."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import pytest

import keyops.redact
from keyops.redact import REDACTED, RedactingStream, register_environment_credentials

#: Base62 text with no secret shape (no 32-hex run, no annotated key, no key-like word).
TEXT = "Zq7Wm2Xr9Tb4Nc8Vd1Kp5Hs3Lf6Gj0Ya" * 4


@pytest.mark.parametrize(("length", "masked"), [(11, False), (12, True), (13, True)])
def test_values_of_twelve_characters_or_more_are_registered(length: int, masked: bool) -> None:
    value = TEXT[:length]
    keyops.redact.register(value)
    out = keyops.redact.redact(f"upstream said {value} here")
    assert out == (f"upstream said {REDACTED} here" if masked else f"upstream said {value} here")


#: Azure's names for the credentials the identity chain reads (azure-identity, GitHub Actions'
#: OIDC request token, Azure Pipelines' System.AccessToken, App Service's managed identity).
CREDENTIAL_NAMES = [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "IDENTITY_HEADER",
]


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_each_credential_variable_is_registered_without_its_padding(name: str) -> None:
    secret = TEXT[:40]
    register_environment_credentials({name: f"  {secret}\n", "HOME": TEXT[40:80]})
    out = keyops.redact.redact(f"echo {secret} {TEXT[40:80]}")
    assert out == f"echo {REDACTED} {TEXT[40:80]}"  # HOME is not a credential


def test_a_federated_token_file_is_registered(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(f"\n{TEXT}\n", encoding="utf-8")
    register_environment_credentials({"AZURE_FEDERATED_TOKEN_FILE": str(token)})
    assert keyops.redact.redact(f"assertion {TEXT} refused") == f"assertion {REDACTED} refused"


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_the_first_64_kib_of_a_token_file_is_registered(tmp_path: Path, extra: int) -> None:
    body = (TEXT * 600)[:65536]
    tail = TEXT[:12][-extra:] if extra else ""
    token = tmp_path / "token"
    token.write_text(body + tail + " end", encoding="utf-8")
    register_environment_credentials({"AZURE_FEDERATED_TOKEN_FILE": str(token)})
    # The first 65,536 characters are the value: exactly those are masked, not one more.
    assert keyops.redact.redact(body + tail) == REDACTED + tail
    assert keyops.redact.redact(body[:-1]) == body[:-1]  # one short of it: not the value


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_an_unreadable_token_file_is_left_to_azure_identity(tmp_path: Path, where: str) -> None:
    path = tmp_path / "token" if where == "missing" else tmp_path
    secret = TEXT[:24]
    register_environment_credentials(
        {"AZURE_FEDERATED_TOKEN_FILE": str(path), "AZURE_CLIENT_SECRET": secret}
    )
    assert keyops.redact.redact(secret) == REDACTED


def test_install_puts_one_redacting_stream_over_stdout_and_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    keyops.redact.install_streams()
    keyops.redact.install_streams()
    for stream, inner in ((sys.stdout, out), (sys.stderr, err)):
        assert isinstance(stream, RedactingStream) and stream.inner is inner


def test_flush_streams_writes_what_both_streams_hold_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyops.redact.register(TEXT)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", RedactingStream(out))
    monkeypatch.setattr("sys.stderr", RedactingStream(err))
    sys.stdout.write(f"table {TEXT}")
    sys.stderr.write(f"error {TEXT}")
    assert out.getvalue() == err.getvalue() == ""  # held: no newline yet
    keyops.redact.flush_streams()
    assert (out.getvalue(), err.getvalue()) == (f"table {REDACTED}", f"error {REDACTED}")


def test_the_stream_reports_what_it_wraps(tmp_path: Path) -> None:
    """Libraries ask sys.stdout for its encoding and whether it is a terminal (rich, click)."""
    with open(tmp_path / "out", "w", encoding="latin-1", errors="strict") as raw:
        stream = RedactingStream(raw)
        assert (stream.encoding, stream.errors) == ("latin-1", "strict")
        assert (stream.isatty(), stream.fileno(), stream.writable()) == (False, raw.fileno(), True)
        assert stream.write("twelve chars") == 12
    bare = RedactingStream(io.StringIO())
    assert (bare.encoding, bare.errors) == ("utf-8", None)  # StringIO has no encoding


@pytest.mark.parametrize("between", [" ", "\n", " : "])
def test_known_values_side_by_side_are_each_masked_once(between: str) -> None:
    first, second = TEXT[:20], TEXT[40:70]
    keyops.redact.register(first)
    keyops.redact.register(second)
    out = keyops.redact.redact(f"{first}{between}{second} end")
    assert out == f"{REDACTED}{between}{REDACTED} end"


def test_the_base64_of_a_known_value_is_masked_whole() -> None:
    """24 characters are 32 base64 characters with no pad bits: every one depends on the value."""
    value = TEXT[:24]
    keyops.redact.register(value)
    encoded = base64.b64encode(value.encode()).decode()
    assert keyops.redact.redact(f"auth {encoded} end") == f"auth {REDACTED} end"


def test_a_short_value_registers_no_encoded_form_either() -> None:
    value = TEXT[:11]
    keyops.redact.register(value)
    encoded = base64.b64encode(value.encode()).decode()
    assert keyops.redact.redact(f"auth {encoded} end") == f"auth {encoded} end"


def test_a_known_value_that_starts_another_leaves_none_of_the_longer_one() -> None:
    """A secret and the same secret with more after it: the longer is masked whole."""
    keyops.redact.register(TEXT[:20])
    keyops.redact.register(TEXT[:30])
    assert keyops.redact.redact(f"x {TEXT[:30]} y") == f"x {REDACTED} y"


def test_a_known_value_two_bytes_into_base64_is_masked_from_its_first_own_character() -> None:
    """After two bytes of something else, the third base64 character still mixes in their
    bits; from the fourth on every character is the value's and is masked."""
    value = TEXT[:25]  # 2 + 25 bytes: 36 base64 characters, no pad bits at the end
    keyops.redact.register(value)
    encoded = base64.b64encode(b"ab" + value.encode()).decode()
    assert keyops.redact.redact(f"auth {encoded} end") == f"auth {encoded[:3]}{REDACTED} end"
