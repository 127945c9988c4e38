"""Key formats: legacy hex keys and SEC101/206 annotated keys (no server needed)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone

import pytest

from keyops.emulator.services.arm.keyformat import (
    BASE62,
    annotated_key,
    is_annotated_key,
    legacy_key,
    marvin32,
    marvin64,
    new_key,
)

#: microsoft/security-utilities SEC101/206 (AzureOpenAILegacyCommonAnnotatedSecurityKey):
#: 52 base62, JQQJ99, base62 year, A-L month, 12 base62 platform, "AAAB" + "ACOG", 4 base62.
SEC101_206 = re.compile(
    r"^[A-Za-z0-9]{52}JQQJ99[A-Za-z0-9][A-L][A-Za-z0-9]{12}AAABACOG"
    r"[A-Za-z0-9]{4}$"
)
SEC101_205 = re.compile(
    r"^[A-Za-z0-9]{52}JQQJ99[A-Za-z0-9][A-L][A-Za-z0-9]{12}AAAAACOG"
    r"[A-Za-z0-9]{4}$"
)
MAY_2025 = datetime(2025, 5, 17, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("seed", "text", "expected"),
    [
        # SymCrypt's own Marvin32 test vectors (lib/marvin32.c), as security-utilities uses them.
        (0xD53CD9CECD0893B7, b"abc", 0x22C74339492769BF),
        (0xDDDDEEEEFFFF000, b"abcdefghijklmnopqrstuvwxyz", 0xA128EB7E7260ACA2),
    ],
)
def test_marvin_matches_symcrypt_vectors(seed: int, text: bytes, expected: int) -> None:
    assert marvin64(text, seed) == expected
    assert marvin32(text, seed) == (expected >> 32) ^ (expected & 0xFFFFFFFF)


def test_legacy_keys_are_32_lowercase_hex() -> None:
    key = legacy_key(random.Random(1))
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert new_key("legacy", random.Random(1)) == key


def test_openai_annotated_key_matches_sec101_206() -> None:
    key = annotated_key(random.Random(7), "OpenAI", MAY_2025)
    assert len(key) == 84
    assert SEC101_206.match(key)
    assert key[58:60] == "BE"  # 2025 -> 'B' (2024 + 1), May -> 'E'
    assert is_annotated_key(key)


def test_aiservices_annotated_key_matches_sec101_205() -> None:
    key = annotated_key(random.Random(7), "AIServices", MAY_2025)
    assert SEC101_205.match(key)
    assert is_annotated_key(key)


def test_checksum_covers_every_character() -> None:
    key = annotated_key(random.Random(3), "OpenAI", MAY_2025)
    for pos in (0, 30, 51, 62, 70):
        other = BASE62[(BASE62.index(key[pos]) + 1) % 62]
        tampered = key[:pos] + other + key[pos + 1 :]
        assert not is_annotated_key(tampered)


def test_generation_is_deterministic_and_distinct() -> None:
    first = [annotated_key(random.Random(11), "OpenAI", MAY_2025) for _ in range(2)]
    assert first[0] == first[1]
    rng = random.Random(11)
    keys = {annotated_key(rng, "OpenAI", MAY_2025) for _ in range(50)}
    assert len(keys) == 50
    assert all(is_annotated_key(k) for k in keys)


def test_is_annotated_key_rejects_other_shapes() -> None:
    assert not is_annotated_key(legacy_key(random.Random(1)))
    key = annotated_key(random.Random(5), "OpenAI", MAY_2025)
    assert not is_annotated_key(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not is_annotated_key(key.replace("ACOG", "AZEG"))
