"""The rules over one file's bytes: what is a key, what is bait, what the excerpt shows."""

from __future__ import annotations

import hashlib
import random

import pytest

from keyops.scan.detectors import ANNOTATED, LEGACY, is_key_name, scan_bytes
from keyops.scan.excerpt import build_excerpt, reach_of
from keyops.secret import SecretValue, fingerprint_of
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key
from tests.scan.scan_canary import leaked_pieces

RNG = random.Random(99)
HEX = make_legacy_key(RNG)
ANNO = make_annotated_key(RNG)
MD5 = hashlib.md5(b"bait", usedforsecurity=False).hexdigest()
SHA1 = hashlib.sha1(b"commit", usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    "line",
    [
        f"AZURE_OPENAI_API_KEY={HEX}",
        f'export AZURE_OPENAI_KEY="{HEX}"',
        f'client = AzureOpenAI(api_key="{HEX}", azure_endpoint=url)',
        f'api_key = os.getenv("AZURE_OPENAI_API_KEY", "{HEX}")',
        f'  "apiKey": "{HEX}",',
        f"  api-key: {HEX}",
        f'curl -H "api-key: {HEX}" https://x.openai.azure.com',
        f"Ocp-Apim-Subscription-Key: {HEX.upper()}",
        f'new AzureKeyCredential("{HEX}")',
        f'{{"key1": "{HEX}", "key2": "{MD5}"}}',
        f"$env:AZURE_OPENAI_API_KEY = '{HEX}'",
        f"keyops --api-key {HEX}",
    ],
)
def test_legacy_keys_next_to_key_names_are_found(line: str) -> None:
    hits = scan_bytes(f"first line\n{line}\n".encode())
    assert hits and hits[0].key_format == LEGACY and hits[0].line == 2
    assert hits[0].key_fingerprint == fingerprint_of(HEX if "Ocp" not in line else HEX.upper())


@pytest.mark.parametrize(
    "line",
    [
        f'cache_key = "{MD5}"',
        f'"key": "{MD5}"',
        f'api_key_hash = "{MD5}"',
        f'AZURE_OPENAI_API_KEY_ID = "{MD5}"',
        f'{{"apiKey": null, "md5": "{MD5}"}}',
        f'request_id = "{MD5}"  # the api key is elsewhere',
        "api_key = '00000000000000000000000000000000'",
        "api_key = '0123456789abcdef0123456789abcdef'",
        f"api_key = '{MD5}0'",  # 33 hex: not a key
        f"api_key = 'x{MD5}'",  # part of a longer token
        f"api_key = get_key()\nchecksum = '{MD5}'",  # the name is on another line
        f"api_key = {'x' * 70} '{MD5}'",  # too far from the name
        f"commit {SHA1} api_key",
        f"token = '{ANNO[:-1]}{'A' if ANNO[-1] != 'A' else 'B'}'",  # annotated, bad checksum
        f"blob = '{ANNO}Zz'",  # annotated inside a longer base62 run
    ],
)
def test_bait_is_not_a_key(line: str) -> None:
    assert scan_bytes(line.encode()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AZURE_OPENAI_API_KEY", True),
        ("api-key", True),
        ("apiKey", True),
        ("Ocp-Apim-Subscription-Key", True),
        ("AzureKeyCredential", True),
        ("key1", True),
        ("AOAI_KEY", True),
        ("cache_key", False),
        ("key", False),
        ("keyboard", False),
        ("api_key_name", False),
        ("primary_key", False),
    ],
)
def test_key_names(name: str, expected: bool) -> None:
    assert is_key_name(name) is expected


def test_annotated_keys_are_found_anywhere_with_service_detail() -> None:
    text = f"# notes\n\nconfig = {{'x': '{ANNO}'}}\n{ANNO}".encode()
    hits = scan_bytes(text)
    assert [(h.key_format, h.line) for h in hits] == [(ANNOTATED, 3), (ANNOTATED, 4)]
    assert "Azure OpenAI annotated key (SEC101/206" in hits[0].detail
    assert not any(h.live for h in hits)


def test_live_digests_mark_known_keys_and_find_nameless_ones() -> None:
    nameless = make_legacy_key(RNG)
    live = frozenset({SecretValue(nameless).digest, SecretValue(ANNO).digest})
    text = f"value = '{nameless}'\nkey: {ANNO}\nother = '{MD5}'\n".encode()
    hits = scan_bytes(text, live)
    assert [(h.line, h.live) for h in hits] == [(1, True), (2, True)]
    assert hits[0].detail == "matches a live key"
    assert hits[1].detail.endswith("; matches a live key")
    assert scan_bytes(f"value = '{nameless}'".encode()) == []


def test_excerpt_masks_every_key_on_the_line_and_long_tokens() -> None:
    other = make_legacy_key(RNG)
    token = "Zq9" * 10  # 30 random-looking characters, no rule matches it
    line = f'headers = {{"api-key": "{HEX}", "x": "{ANNO}", "t": "{token}"}}'
    hits = scan_bytes((line + f"\nkey2={other}\n").encode())
    assert len(hits) == 3
    keys = [SecretValue(v) for v in (HEX, ANNO, other, token)]
    for hit in hits:
        assert list(leaked_pieces(hit.excerpt, keys)) == []
    assert hits[0].excerpt.startswith('headers = {"api-key": "' + HEX[:4] + "…sha256:")
    assert f"{ANNO[:4]}…{fingerprint_of(ANNO)}" in hits[0].excerpt
    assert "Zq9Z…" in hits[0].excerpt


def test_excerpt_of_a_long_line_is_a_window() -> None:
    data = ("a = 1; " * 500 + f"api_key='{HEX}'" + "; b = 2" * 500).encode()
    start = data.index(HEX.encode())
    excerpt = build_excerpt(data, [(start, start + 32)], 0, [data[start : start + 32].decode()])
    assert excerpt.startswith("…") and excerpt.endswith("…")
    assert len(excerpt) < 140
    assert list(leaked_pieces(excerpt, [SecretValue(HEX)])) == []


TOKEN = "Tq" + "7x" * 99  # a 200-character token mixing letters and digits: shown as "Tq7x…"


@pytest.mark.parametrize(("gap", "cut"), [(239, False), (240, False), (241, True), (242, True)])
def test_a_line_begun_beyond_the_window_is_cut_there_and_one_within_it_is_shown(
    gap: int, cut: bool
) -> None:
    """The key's raw window reaches 240 bytes back: a line that begins ``gap`` bytes before
    the key shows its first token (masked) when it begins within reach; when not, it is cut
    with an ellipsis and the cut token's visible part is dropped (a long line above it too)."""
    head = TOKEN + " " * (gap - len(TOKEN) - len("api_key=")) + "api_key="
    data = ("z" * 900 + "\n" + head + HEX + "\n").encode()
    start = data.index(HEX.encode())
    excerpt = build_excerpt(data, [(start, start + 32)], 0, [HEX])
    assert excerpt.startswith("……" if cut else "Tq7x… ")


@pytest.mark.parametrize(("gap", "cut"), [(239, False), (240, False), (241, True), (242, True)])
def test_a_line_ending_beyond_the_window_is_cut_there_and_one_within_it_is_shown(
    gap: int, cut: bool
) -> None:
    tail = "," + " " * (gap - len(TOKEN) - 1) + TOKEN
    data = ("api_key=" + HEX + tail + "\n" + "z" * 900).encode()
    start = data.index(HEX.encode())
    excerpt = build_excerpt(data, [(start, start + 32)], 0, [HEX])
    assert excerpt.endswith("Tq7x……" if cut else " Tq7x…")  # cut: one more ellipsis


@pytest.mark.parametrize("seed", range(20))
def test_an_excerpt_shows_the_same_keys_as_when_it_visits_every_span(seed: int) -> None:
    """Each excerpt visits only the spans near its window (``reach``): on lines dense with
    keys, some inside others (a live key inside another finding), it masks what visiting
    every span from the first masks."""
    rng = random.Random(seed)
    pieces, spans, keys = [], [], []
    at = 0
    for _ in range(60):
        gap = " " * rng.choice((1, 3, 40, 120)) + ("\n" if rng.random() < 0.1 else "")
        key = "%032x" % rng.getrandbits(128)
        pieces.append(gap + key)
        start = at + len(gap)
        spans.append((start, start + 32))
        keys.append(key)
        if rng.random() < 0.2:  # a live key found inside this one
            spans.append((start + 8, start + 24))
            keys.append(key[8:24])
        at = start + 32
    data = "".join(pieces).encode()
    reach = reach_of(spans)
    visit_all = [len(data)] * len(spans)
    for target in range(len(spans)):
        assert build_excerpt(data, spans, target, keys, reach) == build_excerpt(
            data, spans, target, keys, visit_all
        )


def test_a_finding_that_reaches_into_the_window_past_a_key_inside_it_is_masked() -> None:
    """A 100-byte finding with a live key inside its first half, and a key whose window
    begins after that live key ends but before the finding does: the finding is masked."""
    outer, inner, target = "%0100x" % 7**80, "%032x" % 3**60, "%032x" % 5**50
    data = f"{outer} {'x9' * 99} {target}".encode()  # the token between is masked short
    spans = [(0, 100), (10, 42), (300, 332)]
    excerpt = build_excerpt(data, spans, 2, [outer, inner, target], reach_of(spans))
    assert excerpt == f"……{fingerprint_of(outer)} x9x9… {target[:4]}…{fingerprint_of(target)}"


def test_window_edges_never_show_part_of_a_cut_token() -> None:
    secretish = "k" + "9x" * 150  # one 301-character token around the key's line window
    data = f"{secretish} api_key={HEX} {secretish}".encode()
    hits = scan_bytes(data)
    assert len(hits) == 1
    assert list(leaked_pieces(hits[0].excerpt, [SecretValue(secretish)])) == []


def test_binary_like_and_non_utf8_bytes_do_not_break_scanning() -> None:
    data = b"\xff\xfe garbage \x80 api_key=" + HEX.encode() + b" \xc3\x28\n"
    hits = scan_bytes(data)
    assert len(hits) == 1 and "\ufffd" in hits[0].excerpt


def test_a_24_character_token_beside_a_key_shows_4_characters() -> None:
    token = "ab12" * 6  # 24 letters and digits: as long as an unknown key may be
    data = f"api_key={HEX} {token}".encode()
    start = data.index(HEX.encode())
    excerpt = build_excerpt(data, [(start, start + 32)], 0, [HEX])
    assert excerpt.endswith(" ab12…") and token[:5] not in excerpt


def test_a_token_cut_by_the_windows_right_edge_shows_nothing_of_itself() -> None:
    """Five long tokens (masked short) after the key, then one that the 240-byte window cuts:
    its visible 14 characters are dropped, not shown."""
    tokens = [f"T{i}" + "x9" * 21 for i in range(5)]  # 44 characters each: 4 shown
    cut = "Qz8" * 9  # 27 characters from byte 226 after the key: the window ends inside it
    data = f"api_key={HEX} {' '.join(tokens)} {cut}\n".encode()
    start = data.index(HEX.encode())
    excerpt = build_excerpt(data, [(start, start + 32)], 0, [HEX])
    assert "Qz8" not in excerpt and excerpt.endswith("T4x9……")
