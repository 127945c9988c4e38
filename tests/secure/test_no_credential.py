"""When no credential works: one line per credential tried, saying what it lacked, and the fix
(not azure-identity's "failed to retrieve a token from the included credentials")."""

from __future__ import annotations

from keyops.azure.identity import explain_no_credential
from keyops.exitcodes import ExitStatus
from tests.secure.support import invoke
from tests.support.emulator import EmulatorHandle


def test_each_credential_says_what_it_lacked(shared_emulator: EmulatorHandle) -> None:
    seq = shared_emulator.last_seq
    r = invoke(
        shared_emulator,
        ["audit", "--vault-url", shared_emulator.vault_url()],
        AZURE_CLIENT_SECRET=None,
        AZURE_FEDERATED_TOKEN_FILE=None,
        PATH="/nonexistent",
    )
    assert r.exit_code == ExitStatus.AUTH
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith("keyops: error: ") and "no Azure credential" in lines[0]
    assert lines[1:5] == [
        "  environment: AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) not set",
        "  workload identity: AZURE_FEDERATED_TOKEN_FILE not set",
        "  managed identity: no managed identity endpoint answered (not on an Azure host with one)",
        "  Azure CLI: az not found on PATH",
    ]
    assert lines[5].startswith("fix: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
    assert len(lines) == 6
    assert "DefaultAzureCredential failed" not in r.stderr
    assert not [e for e in shared_emulator.log_since(seq) if e["write"]]


def test_a_refused_secret_keeps_its_own_message() -> None:
    """A credential that tried and was refused (a wrong secret) is not 'unavailable'."""
    text = (
        "ChainedTokenCredential failed to retrieve a token from the included credentials.\n"
        "Attempted credentials:\n"
        "\tEnvironmentCredential: Authentication failed: AADSTS7000215: Invalid client secret\n"
    )
    assert explain_no_credential(text, {}) is None


def test_nothing_set_names_every_variable() -> None:
    text = (
        "\tEnvironmentCredential: EnvironmentCredential authentication unavailable.\n"
        "\tAzureCliCredential: Please run 'az login' to set up an account\n"
    )
    report = explain_no_credential(text, {})
    assert report is not None
    assert (
        "environment: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET "
        "(or AZURE_CLIENT_CERTIFICATE_PATH) not set" in report
    )
    assert "Azure CLI: not signed in (run `az login`)" in report
