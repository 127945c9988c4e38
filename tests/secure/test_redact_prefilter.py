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
    "Authorization:\tBearer\t",
    "authorization='bearer\x0b",
    'authorization = "Bearer\x1c',  # \x1c-\x1f are ASCII, and \s in Python's re
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


#: The names the shapes' expressions match, each written out from their alternatives.
NAMES = [
    "authorization",
    "bearer",
    "api-key",
    "ocp-apim-subscription-key",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "password",
    "sig",
    "key",
    "secret",
    "value",
    "header",
    "token",
]
#: What may stand between a name and its value (every branch of the expressions' classes).
JOINS = ["", " ", "\t", "  ", ":", "=", "'", '"', "(", "[", ",", "\n", "?", "&", ": '", '="']


def _random_case(rng: random.Random, word: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in word)


def _word(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return "".join(rng.choice(HEX) for _ in range(rng.choice([31, 32, 33])))
    if kind == 1:
        return "".join(rng.choice(B62) for _ in range(rng.choice([8, 26, 52])))
    if kind == 2:
        return "".join(rng.choice(HEX.upper()) for _ in range(32))
    if kind == 3:  # a name in any case, joined to what follows by any separator
        return _random_case(rng, rng.choice(NAMES)) + rng.choice(JOINS)
    if kind == 4:  # a token's pieces: eyJ, then base64url
        return "eyJ" + "".join(rng.choice(B62 + "_-") for _ in range(rng.choice([7, 8, 20])))
    return rng.choice(["a", "Z", "1", "-", "_", "ab12", "d" + rng.choice(JOINS)])


def _text(rng: random.Random) -> str:
    return "".join(
        rng.choice(PIECES) if rng.random() < 0.3 else _word(rng)
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


def test_two_shapes_in_one_line_are_both_masked() -> None:
    redactor = keyops.redact.REDACTOR
    text = "Authorization: Bearer abcdefgh12345678 key " + "0123456789abcdef" * 2
    assert redactor.redact(text) == f"Authorization: Bearer {REDACTED} key {REDACTED}"


@pytest.mark.parametrize("shape", [*_SHAPES, _LEGACY_KEY], ids=lambda s: s.source[:24])
def test_each_shape_is_marked_as_its_expression_reads(shape: keyops.redact._Shape) -> None:
    """A case-insensitive expression is marked folded (its words then are checked lower-case,
    and only in ASCII text); every word is a literal every match holds."""
    compiled = re.compile(shape.source)
    assert shape.folded == bool(compiled.flags & re.IGNORECASE)
    assert shape.words and all(shape.words)
    if shape.folded:
        assert all(word == word.lower() for word in shape.words)


def test_text_without_any_shape_is_handed_back_unscanned() -> None:
    help_like = "Usage: keyops rotate [OPTIONS]\n  --dry-run  Say what would happen.\n"
    assert keyops.redact.REDACTOR.redact(help_like) is help_like
