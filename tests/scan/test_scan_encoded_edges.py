"""The base64 form at its edges (pinned against mutation survivors): what :func:`decode`
accepts, the length up to which a run is decoded whole and the window decoded around the marker
in a longer one, a run at the very start of a file, and a ``.dockerconfigjson`` value that
decodes to something other than Docker's credentials."""

from __future__ import annotations

import base64
import itertools
import json
import random
from hashlib import sha256

import pytest

from keyops.scan.detectors import drop_overlaps, find_spans, scan_bytes
from keyops.scan.encoded import BASE64, MAX_RUN, decode, find_encoded
from keyops.scan.rules import LEGACY, PLAIN, Span
from keyops.secret import fingerprint_of
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key

KEY = make_annotated_key(random.Random(181))
HEX = make_legacy_key(random.Random(182))


@pytest.mark.parametrize(
    ("run", "decoded"),
    [
        (b"YWJj", b"abc"),
        (b"YWJjZA", b"abcd"),  # padding optional
        (b"YWJjZA==", b"abcd"),
        (b"YWJjZGU", b"abcde"),
        (b"YWJjZ", b"abc"),  # one character past a whole quantum: a neighbour's, dropped
        (b"YWJjZGVmZ", b"abcdef"),
        (b"-_-_", b"\xfb\xff\xbf"),  # base64url
        (b"+/+/", b"\xfb\xff\xbf"),
        (b"-_+/", None),  # both alphabets: neither
        (b"ab-+", None),
        (b"ab_/", None),
        (b"YW.j", None),
        (b"YWJj....", None),  # not skipped: a character outside the alphabet is no base64
    ],
)
def test_decode_takes_either_alphabet_with_or_without_padding(
    run: bytes, decoded: bytes | None
) -> None:
    assert decode(run) == decoded


# A payload of 6,143 bytes (8,191 base64 characters) with the key at byte 3,002: its marker
# "JQQJ99" at byte 3,054, a multiple of 3, so the marker's base64 starts at character 4,072.
PAYLOAD = b"." * 3002 + KEY.encode() + b"." * (6143 - 3002 - len(KEY))
MARKER_AT = 1 + 3054 // 3 * 4  # in the data below, after its opening quote


@pytest.mark.parametrize(
    ("length", "window"),
    [(8191, False), (8192, False), (8193, True)],
)
def test_a_run_is_decoded_whole_up_to_8192_characters_and_in_a_window_past_it(
    length: int, window: bool
) -> None:
    run = base64.b64encode(PAYLOAD).rstrip(b"=").ljust(length, b"=")
    data = b"'" + run + b"'\n"
    spans = find_encoded(data, data.lower(), 0, find_spans)
    # Whole: the span is the run. Longer: 256 characters either side of the marker's base64.
    bounds = (MARKER_AT - 256, MARKER_AT + 256) if window else (1, 1 + length)
    assert [(s.start, s.end, s.key, s.form) for s in spans] == [(*bounds, KEY.encode(), BASE64)]


@pytest.mark.parametrize(
    ("before", "prefix", "tail", "more"),
    [
        (b"", b"", b"", 0),
        (b"", b"abc", b"", 0),
        (b"", b"abc", b"\n", 0),
        (b"ab '", b"abc", b"'\n", 0),
        (b"a '", b"abc", b"'\n", 0),
        (b"\n", b"", b"", 300),
    ],
)
def test_a_base64_run_is_read_from_its_first_byte(
    before: bytes, prefix: bytes, tail: bytes, more: int
) -> None:
    """The walk back to the run's start stops at the file's first byte (it never wraps round
    to the file's last bytes) or at the byte before the run, and from there each of the four
    alignments is tried: "abc" looks like base64, so the encoded text starts three in. The
    walk forward stops at the file's last byte (also past 256 characters)."""
    encoded = base64.b64encode(b"k: " + KEY.encode() + b" .." + b"." * more)  # no "="
    data = before + prefix + encoded + tail
    spans = find_encoded(data, data.lower(), 0, find_spans)
    bounds = (len(before) + len(prefix), len(data) - len(tail))
    assert [(s.start, s.end, s.key) for s in spans] == [(*bounds, KEY.encode())]


def test_a_run_is_read_8192_characters_past_its_marker_and_no_further() -> None:
    """A run that starts at a marker with no key around it: the 8,192 characters from there are
    decoded whole (a key 6 KB on is found); past that the run is another run."""
    payload = b"JQQJ99 " + b"." * 5000 + b"k: " + KEY.encode() + b" " + b"." * 4000
    data = b"'" + base64.b64encode(payload)[:-2] + b"'\n"  # no "=": one run to the quote
    spans = find_encoded(data, data.lower(), 0, find_spans)
    assert [(s.start, s.end, s.key) for s in spans] == [(1, 1 + 8192, KEY.encode())]


def test_keys_further_apart_than_8192_characters_in_one_run_are_each_found() -> None:
    """A long run (a bundle's base64) holding two keys: each marker has its own window."""
    rng = random.Random(7)
    other = make_annotated_key(rng)
    payload = rng.randbytes(7000) + KEY.encode() + rng.randbytes(7000) + other.encode() + b"."
    data = b"blob: " + base64.b64encode(payload) + b"\n"
    spans = find_encoded(data, data.lower(), 0, find_spans)
    assert [s.key for s in sorted(spans, key=lambda s: s.start)] == [KEY.encode(), other.encode()]


def test_a_key_two_levels_down_is_described_by_two_levels() -> None:
    """A data map holding a key as written, inside base64 found by its marker, inside a data
    map: two levels of base64, and the innermost map is not read as a third."""
    innermost = b"data:\n  AZURE_OPENAI_API_KEY: " + KEY.encode() + b"\n"
    data = _entry(b"blob: " + base64.b64encode(innermost) + b"\n")
    (hit,) = scan_bytes(data)
    assert (hit.form, hit.key_fingerprint) == (BASE64, fingerprint_of(KEY))
    assert hit.detail.endswith(") (base64) (base64)") and hit.detail.count("(base64)") == 2


def _entry(value: bytes) -> bytes:
    return b"data:\n  AZURE_OPENAI_API_KEY: " + base64.b64encode(value) + b"\n"


@pytest.mark.parametrize(
    ("in_map", "levels", "found"), [(False, 2, True), (False, 3, False), (True, 2, False)]
)
def test_a_run_found_by_its_marker_counts_as_one_level_of_base64(
    in_map: bool, levels: int, found: bool
) -> None:
    """Base64 text found by a marker (here one with no key, as in a document about keys) is
    one level: inside it, one more level is followed, not two; and inside a data map's value
    (a level itself), none."""
    inner = KEY.encode()
    for _ in range(levels - 1):
        inner = _entry(inner)
    data = base64.b64encode(b"marker JQQJ99\n" + inner) + b"\n"
    if in_map:
        data = _entry(b"blob: " + data)
    spans = find_encoded(data, data.lower(), 0, find_spans)
    assert [s.key for s in spans] == ([KEY.encode()] if found else [])


@pytest.mark.parametrize(("after", "found"), [(b"", True), (b" \t", True), (b"1", False)])
def test_a_data_map_starts_at_a_data_line_with_nothing_else_on_it(
    after: bytes, found: bool
) -> None:
    """A legacy key has no marker: only the map's entries lead to it (the entry's name here is
    not key-like; the decoded text names it)."""
    value = base64.b64encode(b"LOG=1\nOPENAI_API_KEY=" + HEX.encode())
    data = b"data:" + after + b"\n  app.env: " + value + b"\n"
    spans = find_encoded(data, data.lower(), 0, find_spans)
    assert [s.key for s in spans] == ([HEX.encode()] if found else [])


def test_a_data_line_at_the_end_of_a_file_opens_no_map() -> None:
    """Nothing follows it; entries before it (here at the very start) are not its own."""
    value = base64.b64encode(b"LOG=1\nOPENAI_API_KEY=" + HEX.encode())
    data = b"\n  app.env: " + value + b"\ndata:"
    assert find_encoded(data, data.lower(), 0, find_spans) == []


def _docker_line(decoded: bytes) -> bytes:
    return b'  ".dockerconfigjson": "' + base64.b64encode(decoded) + b'"\n'


@pytest.mark.parametrize(
    "decoded",
    [
        b"this is not json at all, just text",
        b'["a list", "of strings", "not an object"]',
        b'{"auths": ["registry.example.io", "not a map"]}',
        b'{"auths": {"registry.example.io": "a string, not an entry"}}',
        b'{"auths": {"registry.example.io": {"password": 12345678901234567890}}}',
        json.dumps({"auths": {"r.io": {"auth": base64.b64encode(HEX.encode()).decode()}}}).encode(),
    ],
    ids=["text", "list", "auths-list", "entry-string", "password-number", "auth-without-colon"],
)
def test_a_docker_value_that_is_not_docker_credentials_is_no_finding(decoded: bytes) -> None:
    assert scan_bytes(_docker_line(decoded)) == []


def test_every_docker_registry_entry_is_read_past_one_that_is_not_a_map() -> None:
    auths = {"a.io": "not an entry", "b.io": {"password": 7}, "c.io": {"password": HEX}}
    (hit,) = scan_bytes(_docker_line(json.dumps({"auths": auths}).encode()))
    assert (hit.form, hit.key_fingerprint) == (BASE64, fingerprint_of(HEX))


def test_a_docker_key_spans_the_value_it_was_decoded_from() -> None:
    value = base64.b64encode(json.dumps({"auths": {"r.io": {"password": HEX}}}).encode())
    data = b'{".dockerconfigjson": "' + value + b'"}\n'
    spans = find_encoded(data, data.lower(), 0, find_spans)
    start = data.index(value)
    assert [(s.start, s.end, s.key) for s in spans] == [(start, start + len(value), HEX.encode())]


def test_a_docker_value_that_is_not_base64_is_no_finding() -> None:
    data = b'  ".dockerconfigjson": "abcd-efgh+ijklmnop0123"\n'  # both alphabets
    assert scan_bytes(data) == []


@pytest.mark.parametrize(
    "text",
    [f"AZURE_OPENAI_API_KEY: {KEY}\n", f'api_key = "{KEY}"\n', f"data:\n  OPENAI_KEY: {KEY}\n"],
)
def test_a_key_written_as_is_where_base64_may_be_is_a_plain_finding(text: str) -> None:
    """A value after a key-like name or in a data map is decoded when it is base64; a key
    written there as is was not encoded, and is reported as written (no "(base64)")."""
    (hit,) = scan_bytes(text.encode())
    assert (hit.form, hit.key_fingerprint) == ("plain", fingerprint_of(KEY))
    assert "(base64)" not in hit.detail


OTHER_HEX = make_legacy_key(random.Random(183))
OTHER_KEY = make_annotated_key(random.Random(184))


def _secret_of_env(*keys: str) -> bytes:
    """A Kubernetes Secret made ``--from-file=.env``: one base64 value holding every key."""
    env = "".join(f"AZURE_OPENAI_KEY_{n}={key}\n" for n, key in enumerate(keys)).encode()
    return b"apiVersion: v1\nkind: Secret\ndata:\n  .env: " + base64.b64encode(env) + b"\n"


def test_each_key_of_one_base64_value_is_its_own_finding() -> None:
    """Two accounts' keys in one encoded .env: both must be rotated, so both are found; each
    excerpt masks its own key only, and a live digest marks the key it is of."""
    data = _secret_of_env(HEX, OTHER_HEX)
    live = frozenset({sha256(OTHER_HEX.encode()).hexdigest()})
    first, second = scan_bytes(data, live)
    assert [first.key_fingerprint, second.key_fingerprint] == [
        fingerprint_of(HEX),
        fingerprint_of(OTHER_HEX),
    ]
    assert (first.line, second.line) == (4, 4) and first.form == second.form == BASE64
    assert first.excerpt == f".env: {HEX[:4]}…{fingerprint_of(HEX)}"
    assert second.excerpt == f".env: {OTHER_HEX[:4]}…{fingerprint_of(OTHER_HEX)}"
    assert (first.live, second.live) == (False, True)


def test_one_key_twice_in_one_base64_value_is_one_finding() -> None:
    (hit,) = scan_bytes(_secret_of_env(HEX, HEX))
    assert hit.key_fingerprint == fingerprint_of(HEX)


def _span(start: int, end: int, key: bytes, form: str = BASE64) -> Span:
    return Span(start, end, LEGACY, "", key, form)


def test_overlaps_are_dropped_but_for_other_keys_of_the_same_value() -> None:
    """Sorted spans: one starting inside a kept one is dropped (a key written whole inside a
    form's span, or a span that only starts where the kept one does), past it the next key is
    kept; a second key with the kept one's bounds is another key of that value, once."""
    spans = [
        _span(0, 10, b"A"),
        _span(0, 8, b"B", PLAIN),  # same start, shorter: inside
        _span(0, 10, b"C"),  # the same value's other key
        _span(0, 10, b"A"),  # one of its keys again
        _span(0, 10, b"C"),
        _span(5, 12, b"D"),  # starts inside
        _span(10, 14, b"E"),  # starts where the value ends
        _span(12, 20, b"F"),
        _span(14, 20, b"G"),  # the same end, another start: a key of its own place
        _span(20, 30, b"Z"),
        _span(20, 30, b"Y"),  # in whatever order the value's keys come
        _span(40, 50, b"Z"),  # a later value holding keys of earlier ones
        _span(40, 50, b"A"),
    ]
    kept = drop_overlaps(spans)
    assert [(s.start, s.end, s.key) for s in kept] == [
        (0, 10, b"A"),
        (0, 10, b"C"),
        (10, 14, b"E"),
        (14, 20, b"G"),
        (20, 30, b"Z"),
        (20, 30, b"Y"),
        (40, 50, b"Z"),
        (40, 50, b"A"),
    ]


@pytest.mark.parametrize(("pad_a", "pad_b"), list(itertools.product(range(3), repeat=2)))
def test_each_key_of_a_base64_value_longer_than_a_run_decoded_whole_is_found(
    pad_a: int, pad_b: int
) -> None:
    """A .env of 600 settings (over 8,192 base64 characters), a key before and after the first
    200: the window decoded around the first key's marker, which also holds the second's
    marker, is not the value, and does not hide the second key, at each byte alignment of
    either key (its name padded by 0-2 characters)."""
    settings = [
        "".join(f"SETTING_{n:03}=value-{n:03}\n" for n in r) for r in (range(200), range(400))
    ]
    env = (
        f"AZURE_OPENAI_KEY_A{'_' * pad_a}={KEY}\n{settings[0]}"
        f"AZURE_OPENAI_KEY_B{'_' * pad_b}={OTHER_KEY}\n{settings[1]}"
    ).encode()
    value = base64.b64encode(env)
    assert len(value) > MAX_RUN
    data = b"apiVersion: v1\nkind: Secret\ndata:\n  .env: " + value + b"\n"
    hits = scan_bytes(data)
    assert [h.key_fingerprint for h in hits] == [fingerprint_of(KEY), fingerprint_of(OTHER_KEY)]
    assert all(h.form == BASE64 for h in hits)


def test_a_live_key_found_by_a_form_is_not_found_again_as_written() -> None:
    """Two keys in one HCL default, after a key on a line of its own: each is the form's
    finding, the live one marked live, and neither is found a second time by the live rule."""
    text = (
        f'AZURE_OPENAI_KEY="{HEX}"\n'
        f'variable "openai_api_key" {{\n  default = "{KEY} {OTHER_KEY}"\n}}\n'
    ).encode()
    live = frozenset({sha256(OTHER_KEY.encode()).hexdigest()})
    hits = scan_bytes(text, live)
    assert [(h.key_fingerprint, h.live) for h in hits] == [
        (fingerprint_of(HEX), False),
        (fingerprint_of(KEY), False),
        (fingerprint_of(OTHER_KEY), True),
    ]


def test_a_live_key_written_again_where_no_rule_finds_it_is_found_there_too() -> None:
    """Found by the rules under its name on line 1, the live key is pasted bare on line 3: the
    second place is the live rule's finding (each place a key is written must be cleaned)."""
    text = f"AZURE_OPENAI_KEY={HEX}\n\nsee {HEX} above\n".encode()
    hits = scan_bytes(text, frozenset({sha256(HEX.encode()).hexdigest()}))
    assert [(h.line, h.live) for h in hits] == [(1, True), (3, True)]


@pytest.mark.parametrize("first", [True, False], ids=["after-a-key", "first-in-file"])
def test_a_live_key_inside_a_forms_value_is_that_forms_finding_only(first: bool) -> None:
    """A default of "Bearer <key>": the form's span is the value, which starts before the key;
    the live key inside it is that finding, not a second one (whether or not a finding comes
    before it in the file)."""
    before = f'AZURE_OPENAI_KEY="{HEX}"\n' if first else ""
    text = f'{before}variable "openai_api_key" {{\n  default = "Bearer {OTHER_KEY}"\n}}\n'
    hits = scan_bytes(text.encode(), frozenset({sha256(OTHER_KEY.encode()).hexdigest()}))
    expected = [(fingerprint_of(HEX), False)] if first else []
    assert [(h.key_fingerprint, h.live) for h in hits] == [
        *expected,
        (fingerprint_of(OTHER_KEY), True),
    ]


def test_a_live_key_inside_another_keys_finding_is_found_too() -> None:
    """A joined value holding a live 32-hex key and then an annotated key in two pieces: the
    form's finding is the annotated key; the live key inside its span is a finding of its own."""
    text = f'conn = "{HEX};" + "{KEY[:42]}" + "{KEY[42:]}"\n'
    hits = scan_bytes(text.encode(), frozenset({sha256(HEX.encode()).hexdigest()}))
    assert sorted((h.key_fingerprint, h.live) for h in hits) == sorted(
        [(fingerprint_of(KEY), False), (fingerprint_of(HEX), True)]
    )
