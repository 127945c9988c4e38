"""scripts/readme-check itself: it runs marked blocks only, and fails a command whose status
differs from the documented one (the README's own run is in scripts/test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    readme = tmp_path / "README.md"
    readme.write_text(body)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme-check"), str(readme)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_documented_statuses_pass_and_unmarked_blocks_are_not_run(tmp_path: Path) -> None:
    done = _check(
        tmp_path,
        "<!-- readme-check -->\n```sh\ntrue\nfalse   # exit 1\n"
        'export X=1\n[ "$X" = 1 ]   # one session: variables carry over\n```\n\n'
        "```sh\nexit 3\n```\n",
    )
    assert done.returncode == 0, done.stderr
    assert "4 commands from README.md ended as documented" in done.stderr


def test_a_status_other_than_documented_fails(tmp_path: Path) -> None:
    done = _check(tmp_path, "<!-- readme-check -->\n```sh\nfalse\ntrue  # exit 2\n```\n")
    assert done.returncode == 1
    assert "README.md:3: exit 1, documented 0" in done.stderr
    assert "README.md:4: exit 0, documented 2" in done.stderr
