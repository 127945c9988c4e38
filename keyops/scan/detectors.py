"""The detection rules, run over the bytes of one file or blob.

:mod:`keyops.scan.rules` finds keys written out whole (annotated, and legacy next to a key-like
name); :mod:`keyops.scan.forms` finds them in the other forms real repositories have (base64,
joined string literals, a name and its value on separate lines, URL query parameters, HCL
variable defaults). The **live** rule matches any bounded 32-hex or 84-character
annotated-shaped token whose SHA-256 is in the caller's set of live-key digests; only run when
such digests are given.

A hit keeps the key's SHA-256 and fingerprint (of the decoded key, so they match live-key
fingerprints), the form it was written in and a masked excerpt; the key itself is dropped
before :func:`scan_bytes` returns.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass, replace

from keyops.scan.excerpt import build_excerpt, reach_of
from keyops.scan.forms import find_forms
from keyops.scan.keyformat import ANNOTATED_KEY_LENGTH, SIGNATURE_OFFSET
from keyops.scan.rules import (
    ANNOTATED,
    LEGACY,
    MARKER,
    PLAIN,
    Span,
    bounded,
    find_annotated,
    find_legacy,
    is_key_name,
)
from keyops.secret import fingerprint_of

__all__ = ["ANNOTATED", "LEGACY", "PLAIN", "Hit", "is_key_name", "scan_bytes"]

#: Maps hex digits to "x" and every other byte to " ", so 32-hex tokens are found with a
#: substring search (a character-class regex without a literal runs ~20x slower).
_HEX_MASK = bytes(ord("x") if chr(b) in "0123456789abcdef" else ord(" ") for b in range(256))
_HEX_RUN = b"x" * 32
_ANNOTATED_SHAPE = re.compile(rb"[A-Za-z0-9]{84}")


@dataclass(frozen=True)
class Hit:
    """One key occurrence in one file or blob (never the key itself)."""

    key_format: str
    line: int
    excerpt: str
    key_digest: str
    key_fingerprint: str
    detail: str
    live: bool
    form: str = PLAIN


def _hex_tokens(lowered: bytes) -> list[tuple[int, int]]:
    """Every run of exactly 32 hex digits (boundaries are checked by the caller)."""
    mask = lowered.translate(_HEX_MASK)
    spans: list[tuple[int, int]] = []
    start = mask.find(_HEX_RUN)
    while start != -1:
        end = mask.find(b" ", start + len(_HEX_RUN))
        end = len(mask) if end == -1 else end
        if end - start == len(_HEX_RUN):
            spans.append((start, end))
        start = mask.find(_HEX_RUN, end)
    return spans


def _live_candidates(data: bytes, lowered: bytes) -> list[Span]:
    """Every key-shaped token, for comparison against live-key digests."""
    spans = [Span(s, e, LEGACY, "", data[s:e]) for s, e in _hex_tokens(lowered)]
    index = data.find(MARKER)
    while index != -1:
        start = index - SIGNATURE_OFFSET
        end = start + ANNOTATED_KEY_LENGTH
        if start >= 0 and _ANNOTATED_SHAPE.fullmatch(data, start, end):
            spans.append(Span(start, end, ANNOTATED, "", data[start:end]))
        index = data.find(MARKER, index + 1)
    return spans


def _digest(span: Span) -> str:
    return hashlib.sha256(span.key).hexdigest()


def _merge_live(
    data: bytes, lowered: bytes, spans: list[Span], live_digests: frozenset[str]
) -> tuple[list[Span], set[tuple[int, str]]]:
    """Mark rule spans that are live keys, add live keys no rule found; return the (start,
    digest) of each live one (one encoded value may hold a live key beside another)."""
    live: set[tuple[int, str]] = set()
    for index, span in enumerate(spans):
        if _digest(span) in live_digests:
            spans[index] = replace(span, detail=f"{span.detail}; matches a live key")
            live.add((span.start, _digest(span)))
    starts = [span.start for span in spans]  # in order: find_spans sorts them
    begun, found = set(starts), {_digest(span) for span in spans}
    for span in _live_candidates(data, lowered):
        if span.start in begun or not bounded(data, span.start, span.end):
            continue
        digest = _digest(span)
        # Inside a finding of the same key (one of an encoded value's keys, a form's value) it
        # is that finding; a live key no rule found is added, wherever it is.
        at = bisect_right(starts, span.start) - 1
        inside = at >= 0 and span.start < spans[at].end
        if digest in live_digests and not (inside and digest in found):
            spans.append(replace(span, detail="matches a live key"))
            live.add((span.start, digest))
    return spans, live


def find_spans(data: bytes, depth: int = 0) -> list[Span]:
    """Every key the rules and forms find in ``data``, in order, overlaps dropped (the first
    found wins: a key written whole before a form that also covers it). Keys decoded from one
    encoded value share its bounds: each is kept (a base64 ``.env`` holding two keys)."""
    lowered = data.lower()
    spans = find_annotated(data)
    if b"key" in lowered:
        spans.extend(find_legacy(data, lowered))
    spans.extend(find_forms(data, lowered, spans, depth, find_spans))
    # At one place a form's span wins: it says more about how the key was written.
    # At one start the widest span first: a key decoded from a whole value, not from a window
    # around its first marker, keeps the value's other keys.
    spans.sort(key=lambda span: (span.start, span.form == PLAIN, -span.end))
    return drop_overlaps(spans)


def drop_overlaps(spans: list[Span]) -> list[Span]:
    """The sorted ``spans`` less each that starts inside one kept before it, unless it is
    another key decoded from the same value (the same bounds, a key not kept there yet)."""
    kept: list[Span] = []
    here: set[bytes] = set()  # the keys kept at the last kept span's bounds
    for span in spans:
        if kept and span.start < kept[-1].end:
            last = kept[-1]
            if (span.start, span.end) != (last.start, last.end) or span.key in here:
                continue
        else:
            here = set()
        here.add(span.key)
        kept.append(span)
    return kept


def scan_bytes(data: bytes, live_digests: frozenset[str] = frozenset()) -> list[Hit]:
    """Run every rule over one file's bytes and return its hits in file order."""
    spans = find_spans(data)
    live: set[tuple[int, str]] = set()
    if live_digests:
        spans, live = _merge_live(data, data.lower(), spans, live_digests)
        spans.sort(key=lambda span: span.start)
    if not spans:
        return []
    bounds = [(span.start, span.end) for span in spans]
    keys = [span.key.decode("latin-1") for span in spans]
    reach = reach_of(bounds)
    hits: list[Hit] = []
    line, cursor = 1, 0
    for index, span in enumerate(spans):
        line += data.count(b"\n", cursor, span.start)
        cursor = span.start
        hits.append(
            Hit(
                key_format=span.key_format,
                line=line,
                excerpt=build_excerpt(data, bounds, index, keys, reach),
                key_digest=_digest(span),
                key_fingerprint=fingerprint_of(keys[index]),
                detail=span.detail,
                live=(span.start, _digest(span)) in live,
                form=span.form,
            )
        )
    return hits
