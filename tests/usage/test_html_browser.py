"""The HTML report in a real headless Chromium: charts are drawn and anomaly markers exist.

Needs Debian's ``chromium`` (``apt-get update && apt-get install -y chromium``); skipped, saying
so, where it is not installed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from keyops.usage import analyze
from keyops.usage.html import render_html
from keyops_bench.usage.synth import PlantedEvent
from tests.usage.factory import rotation, series

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # Let the page load and paint completely before the screenshot or the DOM dump is taken,
    # however slow a busy machine is (virtual time runs only when the page is otherwise idle).
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=10000",
]
#: The stroke colour of the calls line (.calls in keyops/usage/html.py).
CALLS_BLUE = (0x25, 0x63, 0xEB)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get update && apt-get install -y chromium)")
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=120, check=True)


def _decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and rows of an 8-bit RGB(A), non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        filt, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spiky = series("spiky", events=(PlantedEvent("spike", 30, 2, 15.0),), seed=2)
    left = series("left-behind", events=(PlantedEvent("auth_surge_401", 90, 3, 60.0),), seed=4)
    pricey = series("pricey", events=(PlantedEvent("token_spend", 60, 3, 5.0),), seed=5)
    report = analyze([spiky, left, pricey], [rotation("left-behind", 88)])
    assert {f.kind for f in report.findings} == {"spike", "auth_surge_401", "token_spend"}
    path = tmp_path_factory.mktemp("html") / "usage.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_chromium_draws_the_charts(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=820,1100", page.as_uri())
    width, height, bpp, rows = _decode_png(shot.read_bytes())
    assert (width, height) == (820, 1100), (width, height)
    # Every other pixel of every other row: plenty to tell a drawn chart from a blank page.
    pixels = [tuple(row[i : i + 3]) for row in rows[::2] for i in range(0, len(row), 2 * bpp)]
    non_white = sum(1 for p in pixels if min(p) < 235)
    assert non_white > 0.02 * len(pixels), f"the page is (nearly) blank: {non_white} dark pixels"
    blue = sum(
        1 for p in pixels if all(abs(a - b) <= 40 for a, b in zip(p, CALLS_BLUE, strict=True))
    )
    assert blue > 20, f"no call-volume line was drawn ({blue} blue pixels)"
    assert len(set(pixels)) > 50, f"{len(set(pixels))} colours"


def test_chromium_dom_has_the_anomaly_markers_and_rotations(page: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout.decode()
    kinds = re.findall(r'<rect class="anomaly anomaly-[\w]+" data-kind="(\w+)"', dom)
    assert sorted(kinds) == ["auth_surge_401", "spike", "token_spend"]
    assert dom.count("<polyline") == 3 * 5  # per resource: calls+failed, 401+403, tokens
    assert 'class="rotation" data-slot="Key2"' in dom
