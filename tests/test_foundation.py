"""The shared contract: masked secrets, exit statuses, clouds, lazy imports, emulator boundary."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from keyops.cli.main import cli
from keyops.cloud import CLOUDS, resolve_environment
from keyops.errors import ConfigError
from keyops.exitcodes import ExitStatus
from keyops.secret import SecretValue, fingerprint_of
from keyops.severity import Severity

ROOT = Path(__file__).resolve().parents[1]
KEY = "0123456789abcdef0123456789abcdef"


def test_secret_value_never_shows_its_value() -> None:
    s = SecretValue(KEY)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, json.dumps({"k": str(s)})):
        assert KEY not in text and KEY[:8] not in text
    assert s.reveal() == KEY
    assert s.fingerprint == fingerprint_of(KEY)
    assert s.fingerprint.startswith("sha256:") and len(s.fingerprint) == len("sha256:") + 8
    assert s == SecretValue(KEY) and s != SecretValue(KEY[::-1])


def test_secret_value_refuses_pickling() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(SecretValue(KEY))


def test_exit_statuses_are_distinct_and_documented() -> None:
    values = [s.value for s in ExitStatus]
    assert len(values) == len(set(values))
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for status in (0, 1, 2, 3, 4, 5, 6, 130):
        assert str(status) in result.output


def test_severity_scale_parses_and_orders() -> None:
    assert Severity.parse("High") > Severity.parse("medium")
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("urgent")


def test_sovereign_clouds_have_their_own_endpoints() -> None:
    assert resolve_environment(None, None).resource_manager == "https://management.azure.com"
    china = resolve_environment(None, "AzureChinaCloud")
    assert china.authority_host == "https://login.chinacloudapi.cn"
    assert not china.is_emulator and china.verify is True
    assert set(CLOUDS) == {"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"}


def test_bad_connection_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "connection.json"
    bad.write_text('{"schema_version": 99}')
    with pytest.raises(ConfigError, match="schema_version"):
        resolve_environment(str(bad), None)
    with pytest.raises(ConfigError, match="not found"):
        resolve_environment(str(tmp_path / "missing.json"), None)


def test_help_imports_no_heavy_sdk() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['keyops', '--help']\n"
        "try:\n    runpy.run_module('keyops', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('azure', 'msal', 'starlette', 'uvicorn', 'rich', 'requests', 'jwt', 'cryptography'))\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = out.stdout.split("HEAVY=")[1].strip()
    assert heavy == "", f"keyops --help imported: {heavy}"


ALLOWED_EMULATOR_IMPORTERS = {"keyops/cli/emulator.py", "keyops/cli/demo.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_part_of_keyops_imports_the_emulator_except_its_commands() -> None:
    offenders = []
    for path in sorted((ROOT / "keyops").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("keyops/emulator/") or rel in ALLOWED_EMULATOR_IMPORTERS:
            continue
        if any(n == "keyops.emulator" or n.startswith("keyops.emulator.") for n in _imports(path)):
            offenders.append(rel)
    assert offenders == []
