"""Keys in the forms real repositories have besides written out whole.

* **base64** — see :mod:`keyops.scan.encoded`.
* **concatenated** — adjacent string literals joined by ``+`` (Python, TypeScript/JavaScript,
  C#), ``.`` (PHP), nothing (Python's implicit joining, C), over up to
  :data:`MAX_CHAIN` lines; and YAML block scalars (``>-``, ``|``) whose lines hold pieces of
  one key. Tried after a key-like name, and around a ``JQQJ``/``ACOG`` that is not part of a
  whole annotated key (one of the two survives any single split).
* **name-value** — a YAML sequence item ``- name: <key-like name>`` whose ``value:`` follows on
  a later line of the same item (Azure Pipelines variables, Kubernetes ``env:``).
* **url-query** — ``key=``, ``api-key=``, ``subscription-key=`` (and spellings) query
  parameters holding a 32-hex key.
* **hcl-default** — ``variable "<key-like name>" { ... default = "<key>" }``.

A legacy 32-hex key is trusted only where a key-like name vouches for it (the name of the
value, the Kubernetes data entry, the query parameter, the docker ``password``); annotated keys
carry their own checksum. The hint and fingerprint are of the decoded key.
"""

from __future__ import annotations

import re

from keyops.scan.encoded import (
    BASE64,
    MAX_DEPTH,
    Rescan,
    find_encoded,
    form_span,
    value_spans,
)
from keyops.scan.keyformat import is_legacy_key_shape
from keyops.scan.rules import LEGACY, NAME_BYTES, Span, find_annotated, is_key_name

CONCATENATED = "concatenated"
NAME_VALUE = "name-value"
URL_QUERY = "url-query"
HCL_DEFAULT = "hcl-default"

#: Lines a chain of joined literals (or a block scalar) may span.
MAX_CHAIN = 8

#: Markers of an annotated key and their offsets in it.
_SPLIT_MARKERS = ((b"JQQJ", 52), (b"ACOG", 76))
_WHOLE = re.compile(rb"[A-Za-z0-9]{84}")
_QUERY_NAMES = frozenset(
    {
        b"key",
        b"api-key",
        b"api_key",
        b"apikey",
        b"subscription-key",
        b"subscription_key",
        b"subscriptionkey",
        b"ocp-apim-subscription-key",
    }
)

_LITERAL = (
    rb"""(?:@|\$|[rRbBuUfF]{1,2})?(?:"[^"\\\n]{0,120}"|'[^'\\\n]{0,120}'|`[^`\\\n]{0,120}`)"""
)
_JOIN = rb"[ \t]*(?:\\?\r?\n[ \t]*)?(?:\+|\.|&|~|,)?[ \t]*(?:\\?\r?\n[ \t]*)?"
_CHAIN = re.compile(rb"(?:" + _LITERAL + _JOIN + rb"){2,12}")
_LITERAL_TEXT = re.compile(rb"""["'`]([^"'`\n]*)["'`]""")
_ASSIGN = re.compile(
    rb"""["'\]]?[ \t]*(?::=|=>|=|:|,)[ \t]*\(?[ \t]*(?:\\?\r?\n[ \t]*)?"""
    # HCL join("", [...]) and Python "".join([...]): the pieces follow
    rb"""(?:(?:""|'')\.join\(\[?[ \t]*|join\([ \t]*(?:""|'')[ \t]*,[ \t]*\[[ \t]*)?"""
)
_BLOCK = re.compile(rb"[>|][+-]?[ \t]*\r?\n((?:[ \t]+[^\n]*\n?){1,8})")
_TOKEN = re.compile(rb"""["']?([A-Za-z0-9+/_-]{24,600}={0,2})""")
_YAML_VALUE = re.compile(
    rb"""["']?[ \t]*\r?\n(?:[ \t]+(?!-)[A-Za-z_]+:[^\n]*\n){0,3}?"""
    rb"""[ \t]+value:[ \t]*["']?([A-Za-z0-9+/=_-]{24,200})"""
)
_HCL_DEFAULT = re.compile(
    rb""""[ \t]*\{(?:[^{}]|\{[^{}]*\}){0,600}?\bdefault[ \t]*=[ \t]*"([^"\n]{24,200})\""""
)
_NAME_PREFIX = re.compile(rb"""name:[ \t]*["']?\Z""")
_VARIABLE_PREFIX = re.compile(rb"""variable[ \t]+"\Z""")

#: An identifier holding "key", followed by what one of the forms needs (a prefilter at C
#: speed: most "key"s in code are followed by none of these, and cost no Python).
_NAMED = re.compile(
    rb"key[a-z0-9_.\-]*+(?="
    rb"=[0-9a-f]{32}"  # a query parameter
    rb"|[\"']?[ \t]*\r?\n(?:[^\n]*\n){0,4}?[ \t-]*value:"  # a name, its value below
    rb"|\"[ \t]*\{"  # an HCL variable block
    rb"|[\"'\]]?[ \t]*(?::=|=>|=|:|,)[ \t]*(?:[(>|\n]|\\\r?\n|join|\"\"|''"  # joined, block
    rb"|[\"'`@$]?[a-z0-9+/_-]{24}"  # a long token (base64)
    rb"|[\"'`][^\"'`\n]{0,120}[\"'`][ \t]*(?:\\?\r?\n|[+.&~,\"'`]))"  # a literal, then more
    rb")"
)


def _joined(chain: bytes) -> bytes:
    return b"".join(m.group(1) for m in _LITERAL_TEXT.finditer(chain))


def _chains_near(data: bytes, pos: int, found: list[Span]) -> list[Span]:
    """Annotated keys split over literals or lines around a lone ``JQQJ``/``ACOG``."""
    lo = pos
    for _ in range(MAX_CHAIN):
        lo = max(0, data.rfind(b"\n", 0, lo - 1) + 1 if lo > 0 else 0)
    hi = pos
    for _ in range(MAX_CHAIN):
        nxt = data.find(b"\n", hi + 1)
        hi = len(data) if nxt == -1 else nxt
    window = data[lo:hi]
    spans: list[Span] = []
    for chain in _CHAIN.finditer(window):
        if not chain.start() <= pos - lo < chain.end():
            continue
        for span in find_annotated(_joined(chain.group(0))):
            start, end = lo + chain.start(), lo + chain.end()
            spans.append(
                form_span(start, end, span.key, span.key_format, span.detail, CONCATENATED)
            )
    if not spans:
        spans = _lines_near(window, lo, pos)
    return [s for s in spans if not any(f.start <= s.start < f.end for f in found)]


def _lines_near(window: bytes, lo: int, pos: int) -> list[Span]:
    """A key split over lines of bare base62 pieces (a YAML block scalar, a wrapped line)."""
    lines = window.split(b"\n")
    offsets = [lo]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    at = max(i for i, off in enumerate(offsets) if off <= pos)
    pieces = [line.strip().strip(b"\"'") for line in lines]
    first, last = at, at
    while first > 0 and pieces[first - 1].isalnum():
        first -= 1
    while last + 1 < len(lines) and pieces[last + 1].isalnum():
        last += 1
    # Also the tail of the line before a run of bare pieces ("key: >-" has none; "k = ab" has).
    tail = re.search(rb"[A-Za-z0-9]+$", pieces[first - 1]) if first > 0 else None
    joined = (tail.group(0) if tail else b"") + b"".join(pieces[first : last + 1])
    start = offsets[first - 1] if tail else offsets[first]
    end = offsets[last] + len(lines[last])
    return [
        form_span(start, end, s.key, s.key_format, s.detail, CONCATENATED)
        for s in find_annotated(joined)
    ]


def _split_annotated(data: bytes, found: list[Span]) -> list[Span]:
    spans: list[Span] = []
    for marker, offset in _SPLIT_MARKERS:
        pos = data.find(marker)
        while pos != -1:
            inside = any(s.start <= pos < s.end for s in (*found, *spans))
            # A whole 84-character token around it is not split (a bad checksum, if not found).
            whole = pos >= offset and _WHOLE.fullmatch(data, pos - offset, pos - offset + 84)
            if not inside and not whole:
                spans += _chains_near(data, pos, [*found, *spans])
            pos = data.find(marker, pos + 1)
    return spans


def _line_tail(lowered: bytes, begin: int) -> bytes:
    """What of the text before ``begin`` :data:`_NAME_PREFIX` and :data:`_VARIABLE_PREFIX` can
    match (both end at it, and neither crosses a line): a quote, the spaces and tabs before it,
    and the 8 bytes before those; never the whole line, which a minified file makes long."""
    at = begin - lowered.endswith((b'"', b"'"), 0, begin)
    while lowered.endswith((b" ", b"\t"), 0, at):
        at -= 1
    return lowered[max(0, at - len(b"variable")) : begin]


def _after_name(
    data: bytes, lowered: bytes, begin: int, end: int, depth: int, rescan: Rescan
) -> list[Span]:
    """Keys a key-like name (data[begin:end]) vouches for, in every form but the same-line
    plain one (:func:`keyops.scan.rules.find_legacy`)."""
    prefix = _line_tail(lowered, begin)
    if _NAME_PREFIX.search(prefix):
        m = _YAML_VALUE.match(data, end)
        if m:
            return value_spans(*m.span(1), m.group(1), True, NAME_VALUE, depth, rescan)
    if _VARIABLE_PREFIX.search(prefix):
        m = _HCL_DEFAULT.match(data, end)
        if m:
            return value_spans(*m.span(1), m.group(1), True, HCL_DEFAULT, depth, rescan)
    assign = _ASSIGN.match(data, end)
    if assign is None:
        return []
    at = assign.end()
    chain = _CHAIN.match(data, at)
    # Lines the literals are on: the newline the last join may take ends none of them.
    if chain and chain.group(0).rstrip().count(b"\n") < MAX_CHAIN:
        joined = _joined(chain.group(0))
        return value_spans(at, chain.end(), joined, True, CONCATENATED, MAX_DEPTH, rescan)
    block = _BLOCK.match(data, at)
    if block:
        joined = b"".join(line.strip() for line in block.group(1).split(b"\n"))
        return value_spans(*block.span(1), joined, True, CONCATENATED, MAX_DEPTH, rescan)
    token = _TOKEN.match(data, at)
    if token and not _is_hex(token.group(1)):
        return value_spans(*token.span(1), token.group(1), True, BASE64, depth, rescan)
    return []


def _is_hex(token: bytes) -> bool:
    return len(token) == 32 and all(ch in b"0123456789abcdefABCDEF" for ch in token)


def _url_query(data: bytes, lowered: bytes, begin: int, end: int) -> list[Span]:
    value = lowered[end + 1 : end + 33]
    after = lowered[end + 33 : end + 34]
    if after.isalnum() or not is_legacy_key_shape(value.decode("latin-1")):
        return []
    key = data[end + 1 : end + 33]
    return [form_span(end + 1, end + 33, key, LEGACY, "32-hex key in a query parameter", URL_QUERY)]


def _named(data: bytes, lowered: bytes, depth: int, rescan: Rescan) -> list[Span]:
    spans: list[Span] = []
    last = 0
    for match in _NAMED.finditer(lowered):
        end = match.end()
        if match.start() < last:
            continue  # a second "key" in the same identifier
        last = end
        begin = match.start()
        while begin > 0 and lowered[begin - 1] in NAME_BYTES:
            begin -= 1
        name = lowered[begin:end]
        if begin > 0 and lowered[begin - 1] in b"?&;" and lowered[end : end + 1] == b"=":
            if name in _QUERY_NAMES:
                spans += _url_query(data, lowered, begin, end)
        elif is_key_name(name.decode("latin-1")):
            spans += _after_name(data, lowered, begin, end, depth, rescan)
    return spans


def find_forms(
    data: bytes, lowered: bytes, found: list[Span], depth: int, rescan: Rescan
) -> list[Span]:
    """Keys in ``data`` in the forms above (``found``: the keys written whole, not repeated;
    ``rescan``: the full detector, for decoded bytes)."""
    spans = _split_annotated(data, found) + find_encoded(data, lowered, depth, rescan)
    if b"key" in lowered:
        spans += _named(data, lowered, depth, rescan)
    return spans
