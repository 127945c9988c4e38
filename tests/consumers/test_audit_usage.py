"""`keyops audit --consumers`: a "used by" column and the keys-in-use / no-usage-evidence
findings, from the same logs `keyops consumers` reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from keyops.cli.main import cli
from tests.consumers.worlds import WEU, consumers_world
from tests.support.cli import principal_env
from tests.support.emulator import EmulatorHandle, start_emulator


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A consumers-world emulator (the audit only reads)."""
    handle = start_emulator(
        tmp_path_factory.mktemp("audit-usage"), tls_dir, world=consumers_world()
    )
    yield handle
    handle.stop()


def _audit(emulator: EmulatorHandle, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli,
        ["--emulator", str(emulator.connection_path), "audit", *args],
        env={**principal_env(emulator), "KEYOPS_VAULT_URL": emulator.vault_url()},
    )
    return result.exit_code, result.stdout, result.stderr


def _by_account(doc: dict[str, Any], rule: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in doc["findings"]:
        if f["rule_id"] == rule:
            out.setdefault(f["account"], []).append(f["message"])
    return out


def test_audit_reports_keys_in_use_and_missing_evidence(audited: EmulatorHandle) -> None:
    status, out, err = _audit(audited, "--output", "json", "--consumers")
    assert status == 0, err
    doc = json.loads(out)
    in_use = _by_account(doc, "AUD019")
    assert list(in_use) == [WEU]
    # billing-api and hand-pasted call with a key; billing-api, weekly-report and late-app read.
    assert "in use by 5 caller(s): 2 calling with a key (slot unknown), 3 reading" in in_use[WEU][0]
    gaps = _by_account(doc, "AUD020")
    assert {"contoso-openai-eus", "contoso-openai-legacy", "contoso-openai-entra"} <= set(gaps)
    assert WEU not in gaps
    assert any("403 on workspace sec-logs" in m for m in gaps["contoso-openai-entra"])
    row = next(a for a in doc["accounts"] if a["account"] == WEU)
    assert len(row["consumers"]["readers"]) == 3


def test_the_table_gains_a_used_by_column(audited: EmulatorHandle) -> None:
    status, out, _ = _audit(audited, "--output", "tsv", "--consumers", "30d")
    assert status == 0
    lines = [line.split("\t") for line in out.splitlines()]
    header = lines[0]
    assert header[-1] == "used by"
    cells = {
        line[0]: line[header.index("used by")] for line in lines[1:] if len(line) == len(header)
    }
    assert cells[WEU] == "2 key, 1 token, 3 read"
    assert cells["contoso-openai-eus"] == "nobody (partial)"


def test_without_the_flag_the_logs_are_not_read(audited: EmulatorHandle) -> None:
    seq = audited.last_seq
    status, out, _ = _audit(audited, "--output", "json", "--account", WEU)
    assert status == 0
    assert json.loads(out)["accounts"][0]["consumers"] is None
    touched = {e["operation"] for e in audited.log_since(seq)}
    assert not touched & {"Query_Execute", "Query_ResourceExecute", "DiagnosticSettings_List"}


def test_keyops_own_reads_and_401_challenges_are_not_consumers(audited: EmulatorHandle) -> None:
    """Each audit reads the secret (the SDK's 401 challenge, then keyops's own read): once those
    records are ingested, a second audit minutes later must count the same consumers."""
    import requests

    # The SDK caches a vault's challenge per process, so send the request it opens with (no
    # token) explicitly: Key Vault logs its 401 with no identity.
    url = f"{audited.vault_url()}/secrets/{WEU}-api-key/?api-version=7.5"
    assert requests.get(url, verify=audited.ca_bundle, timeout=30).status_code == 401
    counts = []
    for _ in range(2):
        status, out, err = _audit(audited, "--output", "json", "--consumers", "--account", WEU)
        assert status == 0, err
        doc = json.loads(out)
        counts.append(_by_account(doc, "AUD019")[WEU])
        entry = doc["accounts"][0]["consumers"]
        audited.admin("POST", "clock", {"advance": 11 * 60})
    assert counts[0] == counts[1]
    assert "in use by 5 caller(s)" in counts[1][0]
    # The second run sees the first one's records: keyops's read labelled, the challenge apart.
    assert entry["unauthenticated_401s"] >= 1
    assert any(r["keyops"] for r in entry["readers"])
    assert not any(r["object_id"] is None and r["reads"] == 0 for r in entry["readers"])
