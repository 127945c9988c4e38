"""SecretValue's comparisons by digest: what live-key scanning and rotation's read-back rest on."""

from __future__ import annotations

import hashlib

from keyops.secret import SecretValue, fingerprint_of


def test_digest_is_the_full_sha256_of_the_value() -> None:
    value = "0123456789abcdef0123456789abcdef"
    assert SecretValue(value).digest == hashlib.sha256(value.encode()).hexdigest()
    assert SecretValue(value).fingerprint == fingerprint_of(value)
    assert SecretValue(value).fingerprint == "sha256:" + SecretValue(value).digest[:8]


def test_equal_values_are_one_set_member_and_different_ones_are_not() -> None:
    a, b, c = SecretValue("k" * 32), SecretValue("k" * 32), SecretValue("j" * 32)
    assert a == b and a != c
    assert len({a, b, c}) == 2
    assert hash(a) == hash(b)


def test_strip_takes_whitespace_off_both_ends() -> None:
    """A key pasted with a leading space or tab, and a stray newline after it."""
    assert SecretValue(" \tabc123\n").strip() == SecretValue("abc123")
