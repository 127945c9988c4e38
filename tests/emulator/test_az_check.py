"""``scripts/az-check``: the Azure CLI (2.91, in its own venv) through the documented rotation.

Slow: the first run installs the CLI (~1 GB, a few minutes); later runs take ~15 s.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_azure_cli_runs_the_documented_rotation_against_the_emulator() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "az-check")],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "KEYOPS_EMULATOR": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("az-check: ok")]
    assert len(lines) == 5 and "all checks passed" in done.stdout
    assert "azure-cli 2.91." in done.stdout
