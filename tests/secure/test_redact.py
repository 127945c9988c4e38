"""The one redactor: known values in every encoding and alignment, and the streams over stdout."""

from __future__ import annotations

import base64
import io

import pytest

import keyops.redact
from keyops.redact import REDACTED, RedactingStream, Redactor
from keyops.secret import SecretValue

KEY = "Qm9vZ2xlU2VjcmV0S2V5VGhhdElzTm90UmVhbGx5QUtleVRoYXRJc1Rlc3Q0Mj"  # no known shape
HEX = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def redactor() -> Redactor:
    """The process-wide redactor (a fresh one per test: tests/conftest.py)."""
    return keyops.redact.REDACTOR


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "Basic-auth:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_forms_are_masked_at_every_alignment(
    redactor: Redactor, prefix: str, encode: object
) -> None:
    redactor.register(KEY)
    blob = encode(f"{prefix}{KEY}\n".encode()).decode()  # type: ignore[operator]
    out = redactor.redact(f"auth: {blob} end")
    assert REDACTED in out
    # What is left of the blob is the few characters that also encode the neighbours.
    assert len(out) < len(blob) - len(KEY)


def test_a_bare_hex_key_is_masked_once_seen_and_not_before(redactor: Redactor) -> None:
    text = f"echo {HEX} done"
    assert redactor.redact(text) == text  # a Key Vault version id has this shape
    SecretValue(HEX)
    assert redactor.redact(text) == f"echo {REDACTED} done"


def test_short_values_are_not_registered(redactor: Redactor) -> None:
    SecretValue("name")
    assert redactor.redact("a name here") == "a name here"


def test_the_stream_masks_a_key_written_in_pieces(redactor: Redactor) -> None:
    redactor.register(KEY)
    inner = io.StringIO()
    stream = RedactingStream(inner)
    stream.write("value: " + KEY[:20])
    assert inner.getvalue() == ""  # held until the line is whole
    stream.write(KEY[20:] + "\nnext")
    assert inner.getvalue() == f"value: {REDACTED}\n"
    stream.flush()
    assert inner.getvalue() == f"value: {REDACTED}\nnext"


def test_raw_stdout_bypasses_the_redactor_in_order(
    redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    redactor.register(KEY)
    inner = io.StringIO()
    monkeypatch.setattr("sys.stdout", RedactingStream(inner))
    print(f"before {KEY}", end="")
    keyops.redact.raw_stdout().write(f"::add-mask::{KEY}\n")
    assert inner.getvalue() == f"before {REDACTED}::add-mask::{KEY}\n"


def test_install_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setattr("sys.stderr", io.StringIO())
    keyops.redact.install_streams()
    first = keyops.redact.sys.stdout
    keyops.redact.install_streams()
    assert keyops.redact.sys.stdout is first and isinstance(first, RedactingStream)
