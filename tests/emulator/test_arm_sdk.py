"""The real azure-mgmt-cognitiveservices client against the emulated ARM."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from keyops.emulator.services.arm import models
from tests.emulator.arm_support import error_code, error_message, mgmt
from tests.support.emulator import EmulatorHandle, start_emulator

RG = "rg-ai-prod"
EUS = "contoso-openai-eus"


def test_list_accounts_in_subscription(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator) as client:
        accounts = list(client.accounts.list())
    names = {a.name for a in accounts}
    assert {EUS, "contoso-aiservices-weu", "contoso-openai-legacy", "contoso-openai-entra"} <= names
    eus = next(a for a in accounts if a.name == EUS)
    assert eus.kind == "OpenAI"
    assert eus.properties.endpoint == shared_emulator.account(EUS)["endpoint"]
    assert eus.properties.custom_sub_domain_name == EUS
    assert eus.properties.provisioning_state == "Succeeded"
    assert eus.tags == {"env": "prod", "owner": "platform"}


def test_get_account_properties(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator) as client:
        entra = client.accounts.get(RG, "contoso-openai-entra")
        legacy = client.accounts.get(RG, "contoso-openai-legacy")
    assert entra.properties.disable_local_auth is True
    assert legacy.properties.custom_sub_domain_name is None
    assert legacy.properties.endpoint.endswith("/regional/eastus/")
    assert legacy.properties.public_network_access == "Enabled"
    assert legacy.properties.date_created


def test_list_keys_returns_both_slots(shared_emulator: EmulatorHandle) -> None:
    seq = shared_emulator.last_seq
    with mgmt(shared_emulator) as client:
        keys = client.accounts.list_keys(RG, "contoso-openai-legacy")
    assert len(keys.key1) == 32 and len(keys.key2) == 32
    assert keys.key1 != keys.key2
    entries = [e for e in shared_emulator.log_since(seq) if e["operation"] == "Accounts_ListKeys"]
    assert entries and entries[-1]["write"] is False and entries[-1]["changed"] is False


def test_regenerate_key2_leaves_key1(emulator: EmulatorHandle) -> None:
    with mgmt(emulator) as client:
        before = client.accounts.list_keys(RG, EUS)
        after = client.accounts.regenerate_key(RG, EUS, "Key2")
        listed = client.accounts.list_keys(RG, EUS)
    assert after.key1 == before.key1
    assert after.key2 != before.key2
    assert listed.key2 == after.key2
    emu = emulator.server.emulator
    assert models.key_status(emu, EUS, before.key2) == "invalid"
    assert models.key_status(emu, EUS, before.key1) == "valid"
    entry = [e for e in emulator.log_since(0) if e["operation"] == "Accounts_RegenerateKey"][-1]
    assert entry["write"] is True and entry["changed"] is True


def test_regenerated_key_waits_for_propagation(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "settings", {"propagation_delay": 45})
    with mgmt(emulator) as client:
        new = client.accounts.regenerate_key(RG, EUS, "Key1")
    emu = emulator.server.emulator
    assert models.key_status(emu, EUS, new.key1) == "propagating"
    emulator.admin("POST", "clock", {"advance": 46})
    assert models.key_status(emu, EUS, new.key1) == "valid"


def test_regeneration_survives_a_restart(tmp_path: Path, tls_dir: Path) -> None:
    first = start_emulator(tmp_path / "state", tls_dir)
    try:
        with mgmt(first) as client:
            new = client.accounts.regenerate_key(RG, EUS, "Key2")
    finally:
        first.stop()
    again = start_emulator(tmp_path / "state", tls_dir)
    try:
        with mgmt(again) as client:
            assert client.accounts.list_keys(RG, EUS).key2 == new.key2
    finally:
        again.stop()


def test_deployments_list_and_get(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator) as client:
        deps = list(client.deployments.list(RG, EUS))
        dep = client.deployments.get(RG, EUS, "gpt-4o-mini")
        with pytest.raises(ResourceNotFoundError):
            client.deployments.get(RG, EUS, "no-such-deployment")
    assert [d.name for d in deps] == ["gpt-4o-mini", "gpt-35-instruct"]
    assert dep.properties.model.name == "gpt-4o-mini"
    assert dep.properties.model.version == "2024-07-18"
    assert dep.sku.name == "GlobalStandard" and dep.sku.capacity == 50


def test_list_by_resource_group_pages(emulator: EmulatorHandle) -> None:
    created = emulator.admin(
        "POST",
        "accounts",
        {
            "name": "fleet",
            "resource_group": "rg-fleet",
            "custom_subdomain": "fleet",
            "count": 50,
            "deployments": [{"name": "chat", "model": "gpt-4o-mini"}],
        },
    )
    assert len(created["accounts"]) == 50
    emulator.admin("POST", "arm/settings", {"page_size": 7})
    seq = emulator.last_seq
    with mgmt(emulator) as client:
        names = [a.name for a in client.accounts.list_by_resource_group("rg-fleet")]
        everything = list(client.accounts.list())
    assert names == [f"fleet-{i:03d}" for i in range(1, 51)]
    pages = [e for e in emulator.log_since(seq) if e["operation"] == "Accounts_ListByResourceGroup"]
    assert len(pages) == 8  # ceil(50 / 7)
    assert len(everything) == 54


def test_local_auth_disabled_refuses_list_keys(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator) as client, pytest.raises(HttpResponseError) as info:
        client.accounts.list_keys(RG, "contoso-openai-entra")
    assert info.value.status_code == 400
    assert error_code(info.value) == "BadRequest"
    assert "disableLocalAuth" in error_message(info.value)


@pytest.mark.parametrize("principal", ["ops-reader", "app-consumer"])
def test_readers_cannot_list_keys(shared_emulator: EmulatorHandle, principal: str) -> None:
    with mgmt(shared_emulator, principal) as client:
        assert client.accounts.get(RG, EUS).name == EUS
        with pytest.raises(HttpResponseError) as info:
            client.accounts.list_keys(RG, EUS)
    assert info.value.status_code == 403
    assert error_code(info.value) == "AuthorizationFailed"
    p = shared_emulator.principal(principal)
    scope = shared_emulator.account(EUS)["id"]
    assert error_message(info.value) == (
        f"The client '{p['client_id']}' with object id '{p['object_id']}' does not have "
        "authorization to perform action 'Microsoft.CognitiveServices/accounts/listKeys/action' "
        f"over scope '{scope}' or the scope is invalid. If access was recently granted, please "
        "refresh your credentials."
    )


def test_readers_cannot_regenerate(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator, "ops-reader") as client, pytest.raises(HttpResponseError) as info:
        client.accounts.regenerate_key(RG, EUS, "Key1")
    assert info.value.status_code == 403
    assert "regenerateKey/action" in error_message(info.value)


def test_consumer_sees_only_its_account(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator, "app-consumer") as client:
        assert [a.name for a in client.accounts.list()] == [EUS]
        with pytest.raises(HttpResponseError) as info:
            client.accounts.get(RG, "contoso-openai-legacy")
    assert info.value.status_code == 403


def test_unknown_account_and_group(shared_emulator: EmulatorHandle) -> None:
    with mgmt(shared_emulator) as client:
        with pytest.raises(ResourceNotFoundError) as missing:
            client.accounts.get(RG, "nope")
        with pytest.raises(ResourceNotFoundError) as no_group:
            client.accounts.get("rg-missing", EUS)
        with pytest.raises(ResourceNotFoundError) as no_group_list:
            list(client.accounts.list_by_resource_group("rg-missing"))
    assert error_code(missing.value) == "ResourceNotFound"
    assert error_message(missing.value) == (
        "The Resource 'Microsoft.CognitiveServices/accounts/nope' under resource group "
        f"'{RG}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix"
    )
    assert error_code(no_group.value) == "ResourceGroupNotFound"
    assert error_code(no_group_list.value) == "ResourceGroupNotFound"


def test_unknown_subscription(shared_emulator: EmulatorHandle) -> None:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    with (
        shared_emulator.credential() as cred,
        CognitiveServicesManagementClient(
            cred,
            "00000000-0000-0000-0000-000000000000",
            base_url=shared_emulator.url,
            connection_verify=shared_emulator.ca_bundle,
            retry_total=0,
        ) as client,
        pytest.raises(ResourceNotFoundError) as info,
    ):
        client.accounts.get(RG, EUS)
    assert error_code(info.value) == "SubscriptionNotFound"
