"""The forms at their edges (pinned against mutation survivors): a key joined over up to 8
lines (MAX_CHAIN) after a key-like name and around a lone ``JQQJ``, one line more not; the span
of a key split over bare lines; a query parameter's 32-hex value and the byte after it."""

from __future__ import annotations

import base64
import itertools
import random

import pytest

from keyops.scan.detectors import find_spans, scan_bytes
from keyops.scan.forms import CONCATENATED, HCL_DEFAULT, NAME_VALUE, URL_QUERY, find_forms
from keyops.scan.rules import LEGACY, Span
from keyops.secret import fingerprint_of
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key

KEY = make_annotated_key(random.Random(183))
HEX = make_legacy_key(random.Random(184))


def _split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _forms(data: bytes) -> list[Span]:
    return find_forms(data, data.lower(), [], 0, find_spans)


@pytest.mark.parametrize(("lines", "found"), [(7, True), (8, True), (9, False), (10, False)])
@pytest.mark.parametrize("layout", ["parenthesised", "plus"])
def test_a_key_joined_after_its_name_counts_over_up_to_8_lines(
    lines: int, found: bool, layout: str
) -> None:
    """A 32-hex key has no marker: only its name leads to it, over up to MAX_CHAIN lines (the
    newline after the last literal ends the chain, it adds no line)."""
    pieces = [f'"{p}"' for p in _split(HEX, [32 * i // lines for i in range(1, lines)])]
    if layout == "parenthesised":
        text = "api_key = (\n" + "\n".join(f"    {p}" for p in pieces) + "\n)\n"
    else:
        text = "api_key = " + " +\n    ".join(pieces) + "\n"
    hits = scan_bytes(text.encode())
    expected = [(CONCATENATED, fingerprint_of(HEX))] if found else []
    assert [(h.form, h.key_fingerprint) for h in hits] == expected


#: How the literals are laid out: after "x = (" and indented, or from the file's first byte
#: with none (the marker then sits one character into its line).
LAYOUTS = {"indented": ("x = (\n", "    ", 2), "first-byte": ("", "", 1)}


def _nameless(pieces: list[str], layout: str, sep: str = "\n") -> bytes:
    head, indent, _ = LAYOUTS[layout]
    return (head + sep.join(f'{indent}"{p}"' for p in pieces) + "\n)\n").encode()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("before", "found"), [(6, True), (7, True), (8, False)])
def test_a_split_key_is_joined_from_up_to_7_lines_above_its_marker(
    before: int, found: bool, layout: str
) -> None:
    """With no key-like name, a lone JQQJ leads to the key: the chain is read from the 8 lines
    ending at the marker's line. (ACOG is split too, so JQQJ is the only marker.)"""
    pieces = _split(KEY, [52 * i // before for i in range(1, before)] + [52, 78])
    assert ["JQQJ" in p for p in pieces].index(True) == before
    hits = scan_bytes(_nameless(pieces, layout))
    line = LAYOUTS[layout][2]
    assert [(h.form, h.line) for h in hits] == ([(CONCATENATED, line)] if found else [])


@pytest.mark.parametrize(("after", "found"), [(6, True), (7, True), (8, False)])
def test_a_split_key_is_joined_up_to_7_lines_below_its_marker(after: int, found: bool) -> None:
    """... and down to the 7th line below it."""
    cuts = [60, 78] + [60 + 24 * i // (after - 1) for i in range(1, after - 1)]
    pieces = _split(KEY, cuts)
    assert len(pieces) == after + 1 and "JQQJ" in pieces[0]
    hits = scan_bytes(_nameless(pieces, "indented"))
    assert [(h.form, h.line) for h in hits] == ([(CONCATENATED, 2)] if found else [])


@pytest.mark.parametrize(("blank", "found"), [(7, False), (8, True)])
def test_a_blank_line_is_one_of_the_7_lines_below_the_marker(blank: int, found: bool) -> None:
    """Literals may have a blank line between them; it is one of the lines read: one as the 7th
    line below the marker pushes the last piece out of reach."""
    pieces = _split(KEY, [60, 64, 68, 72, 76, 78, 80])  # 8 pieces: the marker's, then 7
    lines = [f'    "{p}"' for p in pieces]
    lines.insert(blank, "")
    hits = scan_bytes(("x = (\n" + "\n".join(lines) + "\n)\n").encode())
    assert [(h.form, h.line) for h in hits] == ([(CONCATENATED, 2)] if found else [])


@pytest.mark.parametrize(("blank", "found"), [(0, True), (1, False)])
def test_a_blank_line_is_one_of_the_7_lines_above_the_marker(blank: int, found: bool) -> None:
    """Above the marker too: a blank line among the 7 pushes the first piece out of reach (one
    above the first piece does not)."""
    pieces = _split(KEY, [8, 16, 24, 32, 40, 46, 52, 78])  # the marker's piece is the 8th
    lines = [f'    "{p}"' for p in pieces]
    lines.insert(blank, "")
    hits = scan_bytes(("x = (\n" + "\n".join(lines) + "\n)\n").encode())
    assert [(h.form, h.line) for h in hits] == ([(CONCATENATED, 3)] if found else [])


@pytest.mark.parametrize("cuts", [[30, 60], [30, 60, 78]], ids=["two-markers", "jqqj-only"])
def test_a_key_split_over_bare_lines_spans_those_lines(cuts: list[int]) -> None:
    """A block scalar under a name that is not key-like: the span runs from the first piece's
    line (its indentation too) to the end of the last piece, above and below the marker's."""
    pieces = _split(KEY, cuts)
    data = ("blob: >-\n" + "".join(f"  {p}\n" for p in pieces) + "next: 1\n").encode()
    first, end = data.index(b"  " + pieces[0].encode()), data.index(b"\nnext")
    spans = _forms(data)
    assert [(s.start, s.end, s.key, s.form) for s in spans] == [
        (first, end, KEY.encode(), CONCATENATED)
    ]


@pytest.mark.parametrize("above", [0, 1, 2])
@pytest.mark.parametrize(("cut", "indent"), [(20, "  "), (52, "")])
def test_a_key_wrapped_after_a_line_that_starts_it_spans_from_that_line(
    cut: int, indent: str, above: int
) -> None:
    """The tail of the line before the bare pieces ("k = " and its first characters) is the
    key's start: the span starts with that line (also when the marker starts a line)."""
    pieces = _split(KEY[cut:], [20, 50]) if cut < 52 else [KEY[cut:]]
    body = "".join(f"{indent}{p}\n" for p in pieces)
    data = ("top: 1\n" * above + "k = " + KEY[:cut] + "\n" + body).encode()
    spans = _forms(data)
    assert [(s.start, s.end, s.key) for s in spans] == [(7 * above, len(data) - 1, KEY.encode())]


@pytest.mark.parametrize("cuts", [[52], [30, 60, 78]], ids=["two-lines", "jqqj-only"])
def test_a_key_wrapped_from_the_first_byte_to_the_last_is_found(cuts: list[int]) -> None:
    """Bare lines from the file's first byte to its last (no newline at the end), joined
    upwards and downwards from the marker's line."""
    data = "\n".join(_split(KEY, cuts)).encode()
    spans = _forms(data)
    assert [(s.start, s.end, s.key) for s in spans] == [(0, len(data), KEY.encode())]


@pytest.mark.parametrize("tail", ["", " z", "\n"])
def test_a_joined_key_named_at_the_first_byte_is_found(tail: str) -> None:
    """The walk back to the start of the name stops at the first byte (it never wraps round to
    the file's last byte)."""
    data = f"api_key = '{HEX[:16]}' + '{HEX[16:]}'{tail}".encode()
    (hit,) = scan_bytes(data)
    assert (hit.form, hit.key_fingerprint) == (CONCATENATED, fingerprint_of(HEX))


@pytest.mark.parametrize(
    ("after", "found"),
    [
        ("", True),
        ("&a=b", True),
        (" 200", True),
        ("'", True),
        ("0", False),
        ("0&a=b", False),
        ("z", False),
    ],
)
def test_a_query_parameter_holds_exactly_32_hex_digits(after: str, found: bool) -> None:
    data = f"GET /chat?api-version=1;api-key={HEX}{after}".encode()
    start = data.index(HEX.encode())
    spans = [s for s in _forms(data) if s.form == URL_QUERY]
    expected = [(start, start + 32, HEX.encode(), LEGACY)] if found else []
    assert [(s.start, s.end, s.key, s.key_format) for s in spans] == expected


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "api-key",
        "api_key",
        "apikey",
        "subscription-key",
        "subscription_key",
        "subscriptionkey",
        "ocp-apim-subscription-key",
        "Subscription-Key",
    ],
)
@pytest.mark.parametrize("before", ["?", "&", ";"])
def test_each_query_parameter_name_of_a_key_is_read(name: str, before: str) -> None:
    data = f"https://x.openai.azure.com/a{before}{name}={HEX} x".encode()
    (hit,) = scan_bytes(data)
    assert (hit.form, hit.key_fingerprint) == (URL_QUERY, fingerprint_of(HEX))


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"?key={HEX}\n", URL_QUERY),
        (f"&api-key:{HEX}\n", "plain"),
        (f"&api-key {HEX}\n", "plain"),
        (f"&api-key@{HEX}\n", "plain"),
    ],
)
def test_a_query_parameter_is_a_name_then_an_equals_sign(text: str, form: str) -> None:
    """Also right after the file's first byte; a name followed by anything else is no query
    parameter (the plain rule reads it)."""
    hits = scan_bytes(text.encode())
    assert [(h.form, h.key_fingerprint) for h in hits] == [(form, fingerprint_of(HEX))]


def test_a_split_key_is_joined_from_its_own_chain_past_another_above_it() -> None:
    """Other joined literals in the lines around the marker are passed over, not the end."""
    data = f'a = "x" + "y"\nk = "{KEY[:40]}" + "{KEY[40:]}"\n'.encode()
    hits = scan_bytes(data)
    assert [(h.form, h.line, h.key_fingerprint) for h in hits] == [
        (CONCATENATED, 2, fingerprint_of(KEY))
    ]


@pytest.mark.parametrize("header", ["# a comment\n" * 10, "# c\n" * 15])
def test_a_split_key_spans_its_literals_wherever_the_lines_read_start(header: str) -> None:
    """The span runs from the first literal's quote to the end of the chain (the newline after
    the last literal is the chain's), counted from the file's start, not the lines read."""
    pieces = _split(KEY, [30, 60])
    chain = "".join(f'    "{p}"\n' for p in pieces)
    data = (header + "x = (\n" + chain + ")\n").encode()
    spans = _forms(data)
    start = data.index(b'"')
    assert [(s.start, s.end, s.key) for s in spans] == [(start, data.rindex(b")"), KEY.encode())]


def test_a_bare_key_is_joined_though_a_joined_key_follows_it() -> None:
    """Two keys near each other, one wrapped over bare lines (ACOG split, so only its JQQJ leads
    to it), one joined from literals below: the chain below is not the wrapped key's."""
    other = make_annotated_key(random.Random(185))
    bare = "".join(f"  {p}\n" for p in _split(KEY, [30, 60, 78]))
    data = f"blob: >-\n{bare}k = '{other[:40]}' + '{other[40:]}'\n".encode()
    hits = scan_bytes(data)
    assert [(h.line, h.key_fingerprint) for h in hits] == [
        (2, fingerprint_of(KEY)),
        (6, fingerprint_of(other)),
    ]


def test_a_block_scalar_after_a_name_spans_its_lines() -> None:
    """A 32-hex key (no marker: the name leads to it) in a block scalar: the span is the
    block's lines, not the indicator before them."""
    data = f"openai_api_key: >-\n  {HEX[:16]}\n  {HEX[16:]}\nnext: 1\n".encode()
    start, end = data.index(b"  " + HEX[:4].encode()), data.index(b"next")
    spans = _forms(data)
    assert [(s.start, s.end, s.key, s.form) for s in spans] == [
        (start, end, HEX.encode(), CONCATENATED)
    ]


@pytest.mark.parametrize("last", [";", "&", "?", "\n"])
def test_a_name_at_the_first_byte_is_no_query_parameter_whatever_the_last_byte(last: str) -> None:
    """Only a name after "?", "&" or ";" is a query parameter: at the first byte there is no
    byte before it (the file's last byte is not one)."""
    hits = scan_bytes(f"api-key={HEX}\nnext{last}".encode())
    assert [(h.form, h.key_fingerprint) for h in hits] == [("plain", fingerprint_of(HEX))]


@pytest.mark.parametrize("text", [f"{KEY}\n", f"  {KEY}\n", f'k = "{KEY}"\n'])
def test_a_key_written_whole_is_not_joined_again_from_its_own_line(text: str) -> None:
    """Its markers lie inside a key already found: no form is looked for around them."""
    hits = scan_bytes(text.encode())
    assert [(h.form, h.key_fingerprint) for h in hits] == [("plain", fingerprint_of(KEY))]


def test_a_split_key_after_a_key_written_whole_is_found_too() -> None:
    other = make_annotated_key(random.Random(186))
    data = f'first = "{other}"\n\n\nx = "{KEY[:40]}" + "{KEY[40:]}"\n'.encode()
    hits = scan_bytes(data)
    assert [(h.form, h.line, h.key_fingerprint) for h in hits] == [
        ("plain", 1, fingerprint_of(other)),
        (CONCATENATED, 4, fingerprint_of(KEY)),
    ]


def test_a_joined_key_under_a_name_that_starts_with_key_at_the_first_byte() -> None:
    (hit,) = scan_bytes(f"key1 = '{HEX[:16]}' + '{HEX[16:]}'\n".encode())
    assert (hit.form, hit.line, hit.key_fingerprint) == (CONCATENATED, 1, fingerprint_of(HEX))


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"variables:\n- name: AZURE_OPENAI_API_KEY\n  value: {HEX}\n", "name-value"),
        (
            f'variable "openai_api_key" {{\n  type = string\n  default = "{HEX}"\n}}\n',
            "hcl-default",
        ),
    ],
)
def test_a_value_on_a_later_line_is_found_on_its_own_line(text: str, form: str) -> None:
    """The span is the value's, not the name's: the hit is on the value's line."""
    (hit,) = scan_bytes(text.encode())
    assert (hit.form, hit.line, hit.key_fingerprint) == (form, 3, fingerprint_of(HEX))


def test_a_base64_value_after_a_name_spans_the_value_inside_its_quotes() -> None:
    value = base64.b64encode(f"OPENAI_API_KEY={HEX}".encode())
    data = b"api_key = '" + value + b"'\n"
    spans = _forms(data)
    start = data.index(value)
    assert [(s.start, s.end, s.key) for s in spans] == [(start, start + len(value), HEX.encode())]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"- name: AZURE_OPENAI_API_KEY\n  value: {KEY}\n", NAME_VALUE),
        (f'variable "openai_api_key" {{\n  default = "{KEY}"\n}}\n', HCL_DEFAULT),
    ],
)
def test_a_form_found_at_a_plain_keys_place_names_how_it_was_written(text: str, form: str) -> None:
    """The rules find the key written whole at the same place: the form says more (which
    manifest entry or variable holds it), so the form's finding is the one kept."""
    (hit,) = scan_bytes(text.encode())
    assert (hit.form, hit.key_fingerprint) == (form, fingerprint_of(KEY))
