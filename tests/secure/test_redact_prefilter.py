"""The redactor skips a shape's expression only where it cannot match.

Each shape names words every match holds; text without them is not scanned (nor is the
expression compiled). These tests hold the redactor to the plain rule: every expression run over
the text in order, on seeded random text built from the shapes' own pieces, their near misses,
and Unicode letters that ``(?i)`` folds onto ASCII ones (the Kelvin sign matches "k", the long
s matches "s").
"""

from __future__ import annotations

import random
import re

import pytest

import keyops.redact
from keyops.redact import _LEGACY_KEY, _SHAPES, REDACTED, Redactor

B62 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"

PIECES = [
    "Authorization: Bearer ",
    "authorization=bearer ",
    "AUTHORIZATION:'BEARER ",
    "api-key: ",
    "Api-Key=",
    "ocp-apim-subscription-key:",
    'Ocp-Apim-Subscription-KEY="',
    "client_secret=",
    "CLIENT_ASSERTION:",
    "access_token=",
    "Refresh_Token: ",
    "password=",
    "?sig=",
    "&SIG=",
    "eyJhbGciOiJSUzI1",
    ".eyJzdWIiOiIxMjM0",
    ".",
    "JQQJ99",
    "JQQJ9D",
    "key ",
    "Key2: ",
    "SECRET=",
    "value(",
    "header[",
    "token '",
    "\u212aey: ",  # KELVIN SIGN K: (?i) "key" matches it
    "pa\u017f\u017fword=",  # LATIN SMALL LETTER LONG S: (?i) "s" matches it
    "\u0130",
    "\u0131",
    "\u2026",
    " ",
    "\n",
    ",",
    "&",
    "/",
]


def _word(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choice(HEX) for _ in range(rng.choice([31, 32, 33])))
    if kind == 1:
        return "".join(rng.choice(B62) for _ in range(rng.choice([8, 26, 52])))
    if kind == 2:
        return "".join(rng.choice(HEX.upper()) for _ in range(32))
    return rng.choice(["a", "Z", "1", "-", "_", "ab12"])


def _text(rng: random.Random) -> str:
    return "".join(
        rng.choice(PIECES) if rng.random() < 0.5 else _word(rng)
        for _ in range(rng.randrange(1, 14))
    )


def _every_expression(redactor: Redactor, text: str) -> str:
    """The plain rule: each shape's expression over the text, in order, then the legacy key."""
    for shape in _SHAPES:
        text = re.compile(shape.source).sub(shape.replacement, text)
    return re.compile(_LEGACY_KEY.source).sub(redactor._legacy, text)


@pytest.mark.parametrize("seed", range(20261207, 20261217))
def test_skipping_an_expression_never_changes_what_is_masked(seed: int) -> None:
    rng = random.Random(seed)
    redactor = keyops.redact.REDACTOR
    masked = 0
    for _ in range(400):
        text = _text(rng)
        expected = _every_expression(redactor, text)
        assert redactor.redact(text) == expected, text
        masked += REDACTED in expected
    assert masked > 100  # the texts exercise the shapes, not only their absence


@pytest.mark.parametrize(
    "text",
    [
        "\u212aey: " + "0123456789abcdef" * 2,  # Kelvin sign in "key"
        "to\u212aen=" + "0123456789abcdef" * 2,
        "pa\u017f\u017fword=hunter2hunter2",  # long s in "password"
        "api-\u212aey: abcdefgh12345678",
        "Bearer-less authorization: bearer\u00a0abcdefgh12345678",
    ],
)
def test_unicode_case_folding_is_masked_like_its_ascii_twin(text: str) -> None:
    redactor = keyops.redact.REDACTOR
    out = redactor.redact(text)
    assert REDACTED in out
    assert out == _every_expression(redactor, text)


def test_a_masking_that_joins_text_is_scanned_again() -> None:
    """Each expression sees the text the previous ones left: the legacy key's word check runs
    on the masked text, not on the text as it came in."""
    redactor = keyops.redact.REDACTOR
    text = "Authorization: Bearer abcdefgh12345678 key " + "0123456789abcdef" * 2
    assert redactor.redact(text) == f"Authorization: Bearer {REDACTED} key {REDACTED}"


def test_text_without_any_shape_is_handed_back_unscanned() -> None:
    help_like = "Usage: keyops rotate [OPTIONS]\n  --dry-run  Say what would happen.\n"
    assert keyops.redact.REDACTOR.redact(help_like) is help_like
