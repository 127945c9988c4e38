"""The demo's evidence chapters: a consumer on the previous key holds the revoke back, its
refresh lets it through; the keyless account is blocked by an app calling with its key until the
app moves to a token, then, its key callers at zero, it is switched and watched clean.

The demo runs in its own process: it points its process's environment at its emulators, which
must not leak into the tests that run after it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_the_demo_shows_both_chapters(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYOPS_", "MSI_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "keyops",
            "demo",
            "--state-dir",
            "demo",
            "--propagation-delay",
            "0.2",
        ],
        env=env | {"COLUMNS": "200"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    chapter10 = out[out.index("== 10. Revoke when consumers moved") : out.index("== 10b.")]
    assert "skipped" in chapter10 and "revoke of Key1 waits" in err and "10.20.0.4" in err
    chapter10b = out[out.index("== 10b.") : out.index("== 11. Keyless")]
    assert "revoked" in chapter10b and "consumers moved" in chapter10b
    # The key caller blocks the plan, named; once it moved to a token its key calls drop to zero.
    chapter11 = out[out.index("== 11. Keyless") : out.index("== 11b.")]
    assert re.search(r"contoso-openai-eus\s+blocked\s+1\s+a key caller at 10\.40\.0\.9", chapter11)
    chapter11b = out[out.index("== 11b.") : out.index("== 11c.")]
    assert re.search(r"contoso-openai-eus\s+ready\s+0\s", chapter11b)
    assert "disabled" in chapter11b and "10.40.0.9" not in chapter11b
    chapter11c = out[out.index("== 11c.") :]
    assert "no 403" in chapter11c
    last = chapter11c[chapter11c.rindex("$ keyops keyless plan") :]
    assert re.search(r"contoso-openai-eus\s+keyless\s+0\s", last)
