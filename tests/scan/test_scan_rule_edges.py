"""The rules at their edges (pinned against mutation survivors): the key name before a 32-hex
token, read back to the start of its identifier at the first byte of a file and at even and odd
offsets; annotated keys and nameless live keys at the end of a file, annotated keys side by side;
the values the rules hand on."""

from __future__ import annotations

import base64
import dataclasses
import random

import pytest

from keyops.scan.detectors import ANNOTATED, LEGACY, scan_bytes
from keyops.scan.rules import Span
from keyops.secret import SecretValue, fingerprint_of
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key

HEX = make_legacy_key(random.Random(18))


@pytest.mark.parametrize("tail", ["", "\n", " z", " z\n"])
def test_a_key_name_at_the_first_byte_is_read_whole(tail: str) -> None:
    """The walk back stops at the file's first byte, whatever the file's last byte is."""
    hits = scan_bytes(f"apikey: {HEX}{tail}".encode())
    assert [(h.key_format, h.detail) for h in hits] == [(LEGACY, "32-hex key next to 'apikey'")]


@pytest.mark.parametrize("prefix", ["ids ", "id ", "x ids ", "x id "])
def test_the_name_is_the_identifier_holding_key_and_no_word_before_it(prefix: str) -> None:
    """``key1`` is a key name only alone (``az ... keys list``): the word before it, at an even
    or an odd offset, is another identifier and must not join it."""
    hits = scan_bytes(f"{prefix}key1: {HEX}\n".encode())
    assert [(h.key_format, h.detail) for h in hits] == [(LEGACY, "32-hex key next to 'key1'")]


def test_spans_and_hits_are_immutable_values() -> None:
    """A span found in a decoded blob is shared with the outer scan, and hits are set members."""
    span = Span(0, 32, LEGACY, "detail", HEX.encode())
    (hit,) = scan_bytes(f"apikey: {HEX}".encode())
    for value in (span, hit):
        assert hash(value) == hash(dataclasses.replace(value))
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.detail = "changed"  # type: ignore[misc]


def test_a_long_key_name_is_shown_by_its_last_40_characters() -> None:
    name = "service_one_two_three_four_five_six_seven_openai_api_key"  # 56 characters
    (hit,) = scan_bytes(f"{name} = {HEX}".encode())
    assert hit.detail == "32-hex key next to 'three_four_five_six_seven_openai_api_key'"


@pytest.mark.parametrize("before", [0, 1, 255, 256, 300])
def test_an_annotated_key_is_found_as_the_last_bytes_of_a_file_of_any_length(before: int) -> None:
    """At the end of the data the right boundary is the end itself (no byte after it to read)."""
    key = make_annotated_key(random.Random(18))
    data = b"#" * before + key.encode()
    assert [(h.key_format, h.line) for h in scan_bytes(data)] == [(ANNOTATED, 1)]


def test_a_key_name_that_is_the_first_word_of_a_file_is_found() -> None:
    """``key1`` (``az ... keys list`` output) as the file's first three bytes."""
    (hit,) = scan_bytes(f"key1: {HEX}\n".encode())
    assert hit.detail == "32-hex key next to 'key1'"


@pytest.mark.parametrize("before", [0, 200])
def test_annotated_keys_side_by_side_are_each_found(before: int) -> None:
    """The next marker is searched from just after the last one, wherever that is."""
    rng = random.Random(7)
    keys = [make_annotated_key(rng) for _ in range(3)]
    data = (" " * before + " ".join(keys)).encode()
    assert [h.key_fingerprint for h in scan_bytes(data)] == [fingerprint_of(k) for k in keys]


@pytest.mark.parametrize("tail", ["", "\n", " x"])
def test_a_nameless_live_hex_key_is_found_as_the_files_last_bytes_too(tail: str) -> None:
    """The live rule's 32-hex token runs to the end of the data when nothing follows it."""
    live = frozenset({SecretValue(HEX).digest})
    hits = scan_bytes(f"value = {HEX}{tail}".encode(), live)
    assert [(h.key_format, h.live, h.detail) for h in hits] == [
        (LEGACY, True, "matches a live key")
    ]


@pytest.mark.parametrize("length", [31, 33, 40])
def test_a_live_digest_of_a_hex_token_of_another_length_is_not_a_live_key(length: int) -> None:
    """Only key-shaped tokens are compared: a 40-hex commit id is never a live key, whatever
    digests the caller passes."""
    token = (HEX * 2)[:length]
    assert scan_bytes(f"value = {token}\n".encode(), frozenset({SecretValue(token).digest})) == []


def test_a_key_found_by_a_rule_and_a_form_is_one_hit_after_other_keys_too() -> None:
    """Overlaps are dropped against the last kept span, not only the file's first one."""
    other = make_legacy_key(random.Random(3))
    data = f"key1: {other}\nGET /chat?api-key={HEX} 200\n".encode()
    hits = scan_bytes(data)
    assert [(h.line, h.form, h.key_fingerprint) for h in hits] == [
        (1, "plain", fingerprint_of(other)),
        (2, "url-query", fingerprint_of(HEX)),
    ]


@pytest.mark.parametrize(("before", "line"), [("", 1), ("\n", 2), ("\n\n", 3), ("x\n", 2)])
def test_a_hit_is_on_the_line_counted_from_the_first_byte(before: str, line: int) -> None:
    """A newline as the file's first byte counts: the key after it is on line 2."""
    (hit,) = scan_bytes(f"{before}apikey: {HEX}\n".encode())
    assert hit.line == line


@pytest.mark.parametrize(("levels", "found"), [(1, True), (2, True), (3, False)])
def test_base64_inside_base64_is_followed_two_levels_from_the_top(levels: int, found: bool) -> None:
    """A file is scanned at depth 0; MAX_DEPTH (2) levels of encoding are decoded, no more. Each
    level is a Kubernetes-style data map whose value is the next level, base64-encoded."""
    entry = b"data:\n  AZURE_OPENAI_API_KEY: "
    value = base64.b64encode(make_annotated_key(random.Random(18)).encode())
    for _ in range(levels - 1):
        value = base64.b64encode(entry + value + b"\n")
    hits = scan_bytes(entry + value + b"\n")
    assert [h.form for h in hits] == (["base64"] if found else [])


def test_a_key_right_after_the_end_of_another_finding_is_its_own_hit() -> None:
    """Spans end where the next may begin: a key straight after a joined literal's quote."""
    rng = random.Random(5)
    joined, after = make_annotated_key(rng), make_annotated_key(rng)
    data = f"k = '{joined[:40]}' + '{joined[40:]}'{after}\n".encode()
    hits = scan_bytes(data)
    assert [(h.form, h.key_fingerprint) for h in hits] == [
        ("concatenated", fingerprint_of(joined)),
        ("plain", fingerprint_of(after)),
    ]


@pytest.mark.parametrize("width", [0, 26, 30, 60])
def test_a_nameless_live_hex_key_is_found_at_any_offset(width: int) -> None:
    """The search for the end of a 32-hex run starts 32 bytes on, wherever the run starts."""
    live = frozenset({SecretValue(HEX).digest})
    hits = scan_bytes(f"{'v' * width} = {HEX}\n".encode(), live)
    assert [(h.live, h.detail) for h in hits] == [(True, "matches a live key")]
