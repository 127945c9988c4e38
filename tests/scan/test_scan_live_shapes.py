"""The live rule's annotated shape: an 84-character base62 token with the signature at 52, at
the file's first byte or anywhere later, found by its digest alone (no rule parses it)."""

from __future__ import annotations

import random

from keyops.scan.detectors import ANNOTATED, scan_bytes
from keyops.scan.keyformat import PROVIDER_SIGNATURE_OFFSET, parse_annotated_key
from keyops.secret import SecretValue
from keyops_bench.scan.keys import make_annotated_key

RNG = random.Random(1818)


def _unparsed(key: str) -> str:
    """``key`` with its provider signature broken: still annotated-shaped, but no rule's key."""
    at = PROVIDER_SIGNATURE_OFFSET
    swapped = "Q" if key[at] != "Q" else "R"
    shaped = key[:at] + swapped + key[at + 1 :]
    assert parse_annotated_key(shaped) is None and len(shaped) == 84
    return shaped


FIRST = _unparsed(make_annotated_key(RNG))
LATER = _unparsed(make_annotated_key(RNG))


def test_live_annotated_shapes_at_the_first_byte_and_further_on_are_found() -> None:
    # LATER starts at byte 90: not a multiple of the signature offset's remainder, and 90 | 84
    # differs from 90 + 84, so only the exact arithmetic finds it.
    data = f"{FIRST}\nx = '{LATER}'\n".encode()
    assert data.index(LATER.encode()) == 90
    live = frozenset({SecretValue(FIRST).digest, SecretValue(LATER).digest})
    hits = scan_bytes(data, live)
    assert [(h.line, h.live, h.key_format, h.detail) for h in hits] == [
        (1, True, ANNOTATED, "matches a live key"),
        (2, True, ANNOTATED, "matches a live key"),
    ]
    assert scan_bytes(data) == []


def test_a_live_digest_of_a_token_that_is_not_base62_is_not_a_live_key() -> None:
    """Only annotated-*shaped* tokens are compared: 84 characters with one '-' are not."""
    token = FIRST[:10] + "-" + FIRST[11:]
    data = f"{token}\n".encode()
    assert scan_bytes(data, frozenset({SecretValue(token).digest})) == []


def test_live_annotated_shapes_side_by_side_are_each_found() -> None:
    """After padding, so that each next signature lies before twice the last one's offset: the
    search resumes just after the last signature, not further on."""
    shapes = [_unparsed(make_annotated_key(RNG)) for _ in range(3)]
    data = (" " * 200 + " ".join(shapes) + "\n").encode()
    live = frozenset(SecretValue(s).digest for s in shapes)
    hits = scan_bytes(data, live)
    assert [(h.live, h.key_fingerprint) for h in hits] == [
        (True, SecretValue(s).fingerprint) for s in shapes
    ]
