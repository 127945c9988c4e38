"""The scanner's limits, each at the limit and one step either side.

- A legacy 32-hex key counts only within 8 words (and 60 characters) after a key-like name.
- A live key counts only as a whole token: inside a longer base62 run it is some other string.
"""

from __future__ import annotations

import random

import pytest

from keyops.scan.detectors import scan_bytes
from keyops.secret import SecretValue
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key

RNG = random.Random(2026)
HEX = make_legacy_key(RNG)
ANNO = make_annotated_key(RNG)


@pytest.mark.parametrize(("words", "found"), [(0, True), (7, True), (8, True), (9, False)])
def test_a_legacy_key_counts_within_eight_words_of_its_name(words: int, found: bool) -> None:
    gap = " ".join(["w"] * words)
    line = f"AZURE_OPENAI_API_KEY {gap} {HEX}\n" if words else f"AZURE_OPENAI_API_KEY {HEX}\n"
    assert bool(scan_bytes(line.encode())) is found


@pytest.mark.parametrize(("spaces", "found"), [(58, True), (59, True), (60, False)])
def test_a_legacy_key_counts_within_sixty_characters_of_its_name(spaces: int, found: bool) -> None:
    # The gap is the separator run between the name and the key: ":" plus the spaces.
    line = f"api_key:{' ' * spaces}{HEX}\n"
    assert bool(scan_bytes(line.encode())) is found


@pytest.mark.parametrize("key", [HEX, ANNO], ids=["legacy", "annotated"])
@pytest.mark.parametrize(
    ("before", "after", "found"),
    [
        ("value = '", "'", True),
        ("id-", "-x", True),
        ("x", "", False),
        ("", "0", False),
        ("Z", "Z", False),
    ],
)
def test_a_live_key_counts_only_as_a_whole_token(
    key: str, before: str, after: str, found: bool
) -> None:
    live = frozenset({SecretValue(key).digest})
    hits = [h for h in scan_bytes(f"note {before}{key}{after} end\n".encode(), live) if h.live]
    assert bool(hits) is found
