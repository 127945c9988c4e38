"""Each secret-shaped pattern of the redactor, pinned on its own.

The values are chosen so that exactly one pattern can mask them (no 32-hex run, no annotated
key, nothing registered): removing or narrowing a pattern fails its case here, and each rule's
lower bound (8 characters of value) is tested at the limit and one character either side.
"""

from __future__ import annotations

import pytest

from keyops.redact import REDACTED, Redactor

#: An Entra client secret's shape (with "~"), an opaque (non-JWT) token, a password.
CLIENT_SECRET = "Xy8Q~tR2.vWq_Lm9-PzK3nB7cD1fG5hJ0sA4eU6i"
OPAQUE = "0.AXkAbC-dEfGhIjKlMnOpQrStUvWxYz_123456789"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiIxMjM0NTY3OCJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "template",
    [
        "Authorization: Bearer {v}",
        "authorization='bearer {v}'",
        "'Authorization': \"Bearer {v}\"",
        "api-key: {v}",
        "Ocp-Apim-Subscription-Key={v}",
        "client_secret={v}&grant_type=client_credentials",
        "client_assertion={v}",
        "access_token: '{v}'",
        '"refresh_token": "{v}"',
        "password={v}",
    ],
)
@pytest.mark.parametrize("value", [CLIENT_SECRET, OPAQUE])
def test_named_secret_values_are_masked(template: str, value: str) -> None:
    out = Redactor().redact(template.format(v=value))
    assert value not in out and value[:8] not in out and REDACTED in out


@pytest.mark.parametrize(("length", "masked"), [(7, False), (8, True), (9, True)])
def test_a_named_value_needs_eight_characters(length: int, masked: bool) -> None:
    value = "Q~" + "a" * (length - 2)
    out = Redactor().redact(f"client_secret={value} Authorization: Bearer {value}")
    assert (value not in out) is masked


def test_a_sas_signature_is_masked_and_the_rest_of_the_url_kept() -> None:
    url = "https://acct.blob.core.windows.net/c/b?sv=2024-11-04&sp=r&sig=AbC%2Bd%3D&se=2026"
    out = Redactor().redact(url)
    assert "AbC%2Bd%3D" not in out and "sp=r" in out and "se=2026" in out


def test_a_json_web_token_is_masked_anywhere() -> None:
    out = Redactor().redact(f"token {JWT} expired")
    assert JWT[:24] not in out and out.startswith("token ") and out.endswith(" expired")


def test_ordinary_text_is_left_alone() -> None:
    text = "password policy: use a vault; key rotation every 30d; eyJust.kidding"
    assert Redactor().redact(text) == text


#: A Key Vault version id's shape: 32 lowercase hex characters.
VERSION_ID = "4f1c2a9be07d4c3f8a6b5e2d1c0f9a87"


def test_a_version_id_keyops_read_from_key_vault_is_shown_next_to_a_key_word() -> None:
    redactor = Redactor()
    assert REDACTED in redactor.redact(f"Key2\t{VERSION_ID}")  # only the shape known: masked
    redactor.allow(VERSION_ID)
    assert redactor.redact(f"Key2\t{VERSION_ID}") == f"Key2\t{VERSION_ID}"
    assert redactor.redact(f"Key2  {VERSION_ID.upper()}") == f"Key2  {VERSION_ID.upper()}"


def test_a_legacy_key_of_the_same_shape_is_still_masked() -> None:
    redactor = Redactor()
    redactor.allow(VERSION_ID)
    other = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"  # not a version id keyops was handed
    assert redactor.redact(f"key: {other}") == f"key: {REDACTED}"
    # A key value keyops has seen is masked even if it equals an allowed identifier.
    redactor.register(VERSION_ID)
    assert VERSION_ID not in redactor.redact(f"Key2\t{VERSION_ID} and {VERSION_ID}")


def test_an_unsigned_json_web_token_is_masked_too() -> None:
    """``alg: none`` leaves the signature empty; the header and claims are still a token's."""
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4eCJ9."
    assert Redactor().redact(f"token {unsigned} seen") == f"token {REDACTED} seen"


def test_a_longer_hex_after_a_key_word_is_no_legacy_key() -> None:
    """A 40-hex commit id is not a 32-hex key with 8 more characters: left whole."""
    text = "token: 0123456789abcdef0123456789abcdef01234567"
    assert Redactor().redact(text) == text


def test_a_masked_hint_is_shown_as_it_is() -> None:
    """keyops' own hint (first characters, an ellipsis, a fingerprint) is no value to mask."""
    text = "api-key: abcd…sha256:12345678"
    assert Redactor().redact(text) == text


def test_a_stream_passes_on_every_complete_line_at_once() -> None:
    """Two lines and a partial one written together: both lines go out now, the partial one
    waits for its newline (a key written in pieces is masked whole)."""
    import io

    from keyops.redact import RedactingStream

    inner = io.StringIO()
    stream = RedactingStream(inner)
    stream.write("first\nsecond\nthi")
    assert inner.getvalue() == "first\nsecond\n"
    stream.write("rd\n")
    assert inner.getvalue() == "first\nsecond\nthird\n"


@pytest.mark.parametrize("signature", ["JQQJ99", "JQQJ9D"])
def test_an_annotated_key_is_masked_with_either_signature_anywhere(signature: str) -> None:
    """Microsoft's annotated keys carry "JQQJ99" (a key) or "JQQJ9D" (a derived key) after 52
    characters: masked in any text, with no key word before them."""
    key = "Zq3" + "x7" * 24 + "k" + signature + "Ab1" * 8 + "cd"
    out = Redactor().redact(f"deploy ok ({key}) done")
    assert key[:8] not in out and out == f"deploy ok ({REDACTED}) done"
