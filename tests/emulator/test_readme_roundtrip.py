"""The README's promise: serve, `eval "$(keyops emulator env)"`, and the round-trip script works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from keyops.cli.main import cli
from tests.support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]


def test_roundtrip_script_with_the_env_lines(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "settings", {"propagation_delay": 0})
    state_dir = emulator.connection_path.parent
    out = CliRunner().invoke(cli, ["emulator", "env", "--state-dir", str(state_dir)]).output
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYOPS_"))}
    # Apply the export lines as a shell would.
    script = f'{out}\nexec "{sys.executable}" "{ROOT / "scripts" / "roundtrip.py"}"'
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert "accounts: " in text and "contoso-openai-eus" in text
    assert "Key1 unchanged: True" in text
    assert "chat with key: 200" in text and "chat with token: 200" in text
    log = emulator.log_since(0)
    assert any(e["operation"] == "Accounts_RegenerateKey" and e["changed"] for e in log)
    # No key value in what the script printed (it prints fingerprints only).
    keys = emulator.mgmt_client().accounts.list_keys("rg-ai-prod", "contoso-openai-eus")
    assert keys.key1 not in text and keys.key2 not in text


def test_readme_shows_the_roundtrip_script_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- roundtrip:begin -->\n```python\n", 1)[1].split("```\n<!--", 1)[0]
    assert block == (ROOT / "scripts" / "roundtrip.py").read_text()
