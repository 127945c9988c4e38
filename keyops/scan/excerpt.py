"""Masked one-line excerpts: enough context to find the leak, never 8 characters of a key.

Every key found on the line is replaced by :func:`keyops.scan.findings.mask_key` (4 characters,
an ellipsis and the fingerprint). Any other long random-looking token (24+ letters and digits,
mixing both) is cut to 4 characters too, because it may be a key in a shape no rule knows (or one
that a rule rejected, e.g. a checksum typo); that keeps the canary rule independent of the rules.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from keyops.scan.findings import mask_key

#: Bytes of the line kept on each side of a key before masking (the rest is never decoded).
_RAW_CONTEXT = 240
#: Characters of masked context shown on each side of the key.
_SHOWN_CONTEXT = 48
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_EDGE_HEAD = re.compile(r"^[A-Za-z0-9]+")
_EDGE_TAIL = re.compile(r"[A-Za-z0-9]+$")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if any(ch.isdigit() for ch in run) and any(ch.isalpha() for ch in run):
        return run[:4] + "…"
    return run


def mask_runs(text: str) -> str:
    """Cut every long token mixing letters and digits to its first 4 characters."""
    return _LONG_RUN.sub(_mask_run, text)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def reach_of(spans: Sequence[tuple[int, int]]) -> list[int]:
    """The furthest end of ``spans[: i + 1]`` for each ``i`` (non-decreasing)."""
    return list(accumulate((e for _s, e in spans), max))


def _line_within(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The bounds of the line around ``data[start:end]``, looked for no further than one byte
    past the raw window on each side: a bound beyond it is given as that byte (the window is cut
    there all the same), so a long line is not searched to its ends for each key on it."""
    floor = max(0, start - _RAW_CONTEXT - 1)
    ceiling = min(len(data), end + _RAW_CONTEXT + 1)
    before = data.rfind(b"\n", floor, start)
    after = data.find(b"\n", end, ceiling)
    line_start = before + 1 if before != -1 else floor
    return line_start, after if after != -1 else ceiling


def build_excerpt(
    data: bytes,
    spans: Sequence[tuple[int, int]],
    target: int,
    keys: Sequence[str],
    reach: Sequence[int] | None = None,
) -> str:
    """The masked line around ``spans[target]``; ``spans`` are all key spans (sorted by start;
    a live key may lie inside another finding, and the keys decoded from one value share its
    bounds) and ``keys`` the keys they hold, as decoded (a base64 or joined key is shown by the
    hint and fingerprint of the key, not of its encoded text). A span over several lines is
    shown on one line; the other keys of the target's value are not shown. ``reach`` is
    :func:`reach_of` the spans, given once for a file's excerpts: each then visits only the
    spans near its window, not every span of the file.

    Only a window of the line is decoded, so a minified multi-megabyte line costs little.
    """
    reach = reach_of(spans) if reach is None else reach
    start, end = spans[target]
    line_start, line_end = _line_within(data, start, end)
    lo = max(line_start, start - _RAW_CONTEXT)
    hi = min(line_end, end + _RAW_CONTEXT)
    before: list[str] = []
    after: list[str] = []
    cursor = lo
    # Spans before ``first`` all end by ``lo``; from ``stop`` on, all start at ``hi`` or later.
    first = bisect_right(reach, lo)
    stop = bisect_left(spans, hi, lo=first, key=lambda span: span[0])
    for index in range(first, stop):
        s, e = spans[index]
        if e <= lo or ((s, e) == (start, end) and index != target):
            continue
        side = before if index <= target else after
        side.append(mask_runs(_decode(data[cursor:s])))
        side.append(mask_key(keys[index]) if index != target else "")
        cursor = e
    after.append(mask_runs(_decode(data[cursor:hi])))
    head = "".join(before)
    tail = "".join(after)
    # A token cut by the raw window is dropped whole: its visible part would escape mask_runs.
    if lo > line_start:
        head = _EDGE_HEAD.sub("", head)
    if hi < line_end:
        tail = _EDGE_TAIL.sub("", tail)
    head, tail = head.lstrip(), tail.rstrip()
    if len(head) > _SHOWN_CONTEXT or lo > line_start:
        head = "…" + head[-_SHOWN_CONTEXT:]
    if len(tail) > _SHOWN_CONTEXT or hi < line_end:
        tail = tail[:_SHOWN_CONTEXT] + "…"
    return head + mask_key(keys[target]) + tail
