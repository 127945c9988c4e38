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
