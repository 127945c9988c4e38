"""The annotated key format: Marvin32 vectors, layout, checksum, generator."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from keyops.scan._marvin import marvin32, marvin64
from keyops.scan.keyformat import (
    AZURE_AI_SERVICES,
    CHECKSUM_SEED,
    is_annotated_key,
    is_legacy_key_shape,
    parse_annotated_key,
)
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key


@pytest.mark.parametrize(
    ("seed", "data", "expected"),
    [
        # SymCrypt marvin32.c self-test, also in microsoft/security-utilities' tests.
        (0xD53CD9CECD0893B7, b"abc", 0x22C74339492769BF),
        (0x0DDDDEEEEFFFF000, b"abcdefghijklmnopqrstuvwxyz", 0xA128EB7E7260ACA2),
        # skeeto/marvin32 cases used by security-utilities: empty, 1, 3, 7 bytes.
        (0x004FB61A001BDBCC, b"", 0x30ED35C100CD3C7D),
        (0x004FB61A001BDBCC, bytes([175]), 0x48E73FC77D75DDC1),
        (0x004FB61A001BDBCC, bytes([55, 244, 149]), 0xF0B07C789B8CF7E8),
        (0x804FB61A001BDBCC, bytes([171, 66, 126, 168, 209, 15, 199]), 0xE203987DBA252FB3),
    ],
)
def test_marvin_matches_reference_vectors(seed: int, data: bytes, expected: int) -> None:
    assert marvin64(data, seed) == expected
    assert marvin32(data, seed) == (expected >> 32) ^ (expected & 0xFFFFFFFF)


def test_checksum_seed_is_default0_reversed() -> None:
    assert CHECKSUM_SEED == 0x44656661756C7430


def test_generated_key_has_the_documented_layout() -> None:
    key = make_annotated_key(random.Random(1), year=2025, month=3)
    assert len(key) == 84 and key.isascii() and key.isalnum()
    assert key[52:58] == "JQQJ99"
    assert key[58:60] == "BC"  # 2025, March
    assert key[60:62] == "AC" and key[67:72] == "XJ3w3"
    assert key[72:76] == "AAAB"  # Azure OpenAI
    assert key[76:80] == "ACOG"
    info = parse_annotated_key(key)
    assert info is not None
    assert (info.service, info.rule_id, info.year, info.month) == (
        "Azure OpenAI",
        "SEC101/206",
        2025,
        3,
    )


def test_generator_is_deterministic_and_varied() -> None:
    first = [make_annotated_key(random.Random(7)) for _ in range(2)]
    assert first[0] == first[1]
    rng = random.Random(8)
    keys = {make_annotated_key(rng) for _ in range(200)}
    assert len(keys) == 200 and all(is_annotated_key(k) for k in keys)


def test_ai_services_keys_carry_their_service() -> None:
    key = make_annotated_key(random.Random(2), service_index=AZURE_AI_SERVICES)
    info = parse_annotated_key(key)
    assert key[72:76] == "AAAA" and info is not None and info.rule_id == "SEC101/205"


def test_any_single_character_change_breaks_the_key() -> None:
    rng = random.Random(3)
    key = make_annotated_key(rng)
    for position in range(84):
        replacement = "A" if key[position] != "A" else "B"
        mutated = key[:position] + replacement + key[position + 1 :]
        assert not is_annotated_key(mutated), position


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k[:-1],  # too short
        lambda k: k + "A",  # too long
        lambda k: k[:10] + "+" + k[11:],  # not base62
        lambda k: k[:52] + "JQQJ9D" + k[58:],  # a derived key, not an access key
        lambda k: k[:59] + "M" + k[60:],  # month 13
        lambda k: k[:76] + "AZEG" + k[80:],  # another provider (Event Grid)
    ],
)
def test_malformed_keys_are_rejected(mutate: Callable[[str], str]) -> None:
    key = make_annotated_key(random.Random(4))
    assert not is_annotated_key(mutate(key))
    assert parse_annotated_key(mutate(key)) is None


def test_legacy_shape_accepts_random_keys_and_rejects_placeholders() -> None:
    rng = random.Random(5)
    assert all(is_legacy_key_shape(make_legacy_key(rng)) for _ in range(1000))
    for placeholder in (
        "0" * 32,
        "0123456789abcdef" * 2,
        "deadbeef" * 4,
        "f" * 31 + "0",
        "g" * 32,
        "abc",
    ):
        assert not is_legacy_key_shape(placeholder), placeholder


def test_the_emulator_issues_keys_this_module_accepts() -> None:
    """Two independent implementations of SEC101/205-206 must agree (checksum included)."""
    from keyops.emulator.services.arm.keyformat import annotated_key

    rng = random.Random(6)
    may_2025 = 1747440000.0
    for kind, rule in (("OpenAI", "SEC101/206"), ("AIServices", "SEC101/205")):
        for _ in range(50):
            info = parse_annotated_key(annotated_key(rng, kind, may_2025))
            assert info is not None and (info.rule_id, info.year, info.month) == (rule, 2025, 5)
