"""The ARM adapter (and the credential chain) against the emulator, with the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyops.azure.arm import AccountsClient, parse_account_id, parse_slot
from keyops.azure.errors import BadRequestError
from keyops.azure.identity import build_credential
from keyops.azure.pacing import RetrySettings
from keyops.cloud import AzureEnvironment, resolve_environment
from keyops.errors import AuthError, ConfigError, NotFoundError
from tests.support.emulator import EmulatorHandle

RETRY = RetrySettings(total=2, connect=0, backoff_factor=0.1, backoff_max=0.5)
EUS = "contoso-openai-eus"


def env_of(emu: EmulatorHandle) -> AzureEnvironment:
    return resolve_environment(str(emu.connection_path), None)


def client(emu: EmulatorHandle, principal: str = "keyops-rotator") -> AccountsClient:
    return AccountsClient(
        env_of(emu), emu.credential(principal), emu.conn["subscription_id"], retry=RETRY
    )


def account_id(emu: EmulatorHandle, name: str) -> str:
    return str(emu.account(name)["id"])


@pytest.fixture
def arm(shared_emulator: EmulatorHandle) -> Iterator[AccountsClient]:
    c = client(shared_emulator)
    yield c
    c.close()


def test_list_and_get_accounts(arm: AccountsClient, shared_emulator: EmulatorHandle) -> None:
    accounts = {a.name: a for a in arm.list_accounts()}
    assert {EUS, "contoso-aiservices-weu", "contoso-openai-entra"} <= set(accounts)
    eus = accounts[EUS]
    assert (eus.kind, eus.resource_group, eus.custom_subdomain) == ("OpenAI", "rg-ai-prod", EUS)
    assert eus.endpoint == shared_emulator.account(EUS)["endpoint"]
    assert eus.tags["owner"] == "platform" and eus.is_openai
    assert accounts["contoso-openai-entra"].disable_local_auth is True
    assert accounts["contoso-openai-legacy"].custom_subdomain is None
    in_group = {a.name for a in arm.list_accounts("rg-ai-shared")}
    assert in_group == {"contoso-aiservices-weu"}
    assert arm.get_account(eus.id) == eus


def test_keys_are_masked_secret_values(
    arm: AccountsClient, shared_emulator: EmulatorHandle
) -> None:
    keys = arm.list_keys(account_id(shared_emulator, EUS))
    assert keys.key1 and keys.key2 and keys.key1 != keys.key2
    assert keys.key1.reveal() not in repr(keys)
    assert keys.slot("Key2") == keys.key2 and keys.slot_of(keys.key1) == "Key1"


def test_deployments_say_which_api_they_serve(
    arm: AccountsClient, shared_emulator: EmulatorHandle
) -> None:
    deployments = {d.name: d for d in arm.list_deployments(account_id(shared_emulator, EUS))}
    assert deployments["gpt-4o-mini"].is_chat and deployments["gpt-4o-mini"].model == "gpt-4o-mini"
    assert deployments["gpt-35-instruct"].api == "completions"


def test_regenerate_changes_only_that_slot(emulator: EmulatorHandle) -> None:
    arm = client(emulator)
    rid = account_id(emulator, EUS)
    before = arm.list_keys(rid)
    after = arm.regenerate_key(rid, "Key2")
    assert after.key1 == before.key1 and after.key2 != before.key2
    assert arm.list_keys(rid) == after
    with pytest.raises(ValueError, match="slot"):
        arm.regenerate_key(rid, "key1")  # type: ignore[arg-type]
    arm.close()


def test_errors_are_one_line_keyops_errors(shared_emulator: EmulatorHandle) -> None:
    arm = client(shared_emulator)
    missing = account_id(shared_emulator, EUS).replace(EUS, "no-such-account")
    with pytest.raises(NotFoundError, match="get account on account no-such-account"):
        arm.get_account(missing)
    with pytest.raises(BadRequestError) as err:  # listKeys with local auth disabled: 400
        arm.list_keys(account_id(shared_emulator, "contoso-openai-entra"))
    assert "listKeys on account contoso-openai-entra" in str(err.value)
    arm.close()
    reader = client(shared_emulator, "ops-reader")
    with pytest.raises(AuthError) as denied:
        reader.list_keys(account_id(shared_emulator, EUS))
    message = str(denied.value)
    assert "listKeys on account contoso-openai-eus" in message
    assert "AuthorizationFailed" in message and "\n" not in message
    reader.close()


def test_resource_ids_and_slots() -> None:
    ref = parse_account_id(
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/a/"
    )
    assert (ref.subscription_id, ref.resource_group, ref.name) == ("s", "rg", "a")
    for bad in (
        "",
        "/subscriptions/s",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a",
    ):
        with pytest.raises(ConfigError, match="malformed"):
            parse_account_id(bad)
    assert parse_slot("key2") == "Key2" and parse_slot("1") == "Key1"


def _clear_identity_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_USERNAME",
    ):
        monkeypatch.delenv(name, raising=False)


def _can_list(emu: EmulatorHandle) -> bool:
    env = env_of(emu)
    credential = build_credential(env)
    arm = AccountsClient(env, credential, emu.conn["subscription_id"], retry=RETRY)
    try:
        return bool(arm.list_accounts())
    finally:
        arm.close()
        credential.close()  # type: ignore[attr-defined]


def test_credential_chain_environment_service_principal(
    shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_identity_env(monkeypatch)
    p = shared_emulator.principal("keyops-rotator")
    monkeypatch.setenv("AZURE_TENANT_ID", shared_emulator.conn["tenant_id"])
    monkeypatch.setenv("AZURE_CLIENT_ID", p["client_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", p["client_secret"])
    assert _can_list(shared_emulator)


def test_credential_chain_workload_identity(
    shared_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_identity_env(monkeypatch)
    token = shared_emulator.admin("POST", "issuers/github/token", {})["token"]
    (tmp_path / "oidc").write_text(token)
    monkeypatch.setenv("AZURE_TENANT_ID", shared_emulator.conn["tenant_id"])
    monkeypatch.setenv("AZURE_CLIENT_ID", shared_emulator.principal("github-actions")["client_id"])
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(tmp_path / "oidc"))
    assert _can_list(shared_emulator)


def test_credential_chain_managed_identity(
    shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_identity_env(monkeypatch)
    msi = shared_emulator.conn["managed_identity"]
    monkeypatch.setenv("IDENTITY_ENDPOINT", msi["endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", msi["header"])
    assert _can_list(shared_emulator)
