"""Emulated Key Vault secrets driven by the real azure-keyvault-secrets SecretClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import KeyVaultSecretIdentifier, SecretClient

from tests.emulator.keyvault_support import (
    kv_call,
    kv_client,
    own_emulator,
    present,
)
from tests.support.emulator import EmulatorHandle

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """One emulator for the module: each test works on secrets of its own names."""
    with own_emulator(tmp_path_factory.mktemp("kv"), tls_dir) as handle:
        yield handle


@pytest.fixture(scope="module")
def client(kv: EmulatorHandle) -> Iterator[SecretClient]:
    """The rotator's SecretClient."""
    with kv_client(kv) as c:
        yield c


def emulated_now(h: EmulatorHandle) -> float:
    return float(h.admin("GET", "clock")["now"])


def test_set_then_get_latest_and_each_version(kv: EmulatorHandle, client: SecretClient) -> None:
    first = client.set_secret(
        "api-key", "value-one", content_type="text/plain", tags={"CredentialId": "Key1"}
    )
    second = client.set_secret("api-key", "value-two", tags={"CredentialId": "Key2"})
    assert HEX32.match(present(first.properties.version))
    assert HEX32.match(present(second.properties.version))
    assert first.properties.version != second.properties.version
    assert client.get_secret("api-key").value == "value-two"
    old = client.get_secret("api-key", first.properties.version)
    assert old.value == "value-one"
    assert old.properties.content_type == "text/plain"
    assert old.properties.tags == {"CredentialId": "Key1"}
    assert old.properties.recovery_level == "Recoverable+Purgeable"
    assert old.properties.recoverable_days == 90
    ident = KeyVaultSecretIdentifier(present(second.id))
    assert (ident.name, ident.version) == ("api-key", second.properties.version)
    created = present(second.properties.created_on).timestamp()
    assert abs(created - emulated_now(kv)) < 60


def test_names_are_case_insensitive(client: SecretClient) -> None:
    client.set_secret("Mixed-Case", "v")
    assert client.get_secret("mixed-case").value == "v"
    assert client.get_secret("MIXED-CASE").name == "Mixed-Case"


def test_missing_secret_and_version_are_404(client: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        client.get_secret("no-such-secret")
    assert caught.value.error is not None and caught.value.error.code == "SecretNotFound"
    assert "A secret with (name/id) no-such-secret was not found" in str(caught.value)
    client.set_secret("exists", "v")
    with pytest.raises(ResourceNotFoundError, match="exists/0123456789abcdef"):
        client.get_secret("exists", "0123456789abcdef0123456789abcdef")


def test_list_properties_pages_past_25(kv: EmulatorHandle, client: SecretClient) -> None:
    seeded = {p.name for p in client.list_properties_of_secrets()}
    for i in range(30):
        client.set_secret(f"paged-{i:02d}", f"v{i}")
    names = [p.name for p in client.list_properties_of_secrets()]
    assert len(names) == len(set(names)) == 30 + len(seeded)
    total = 30 + len(seeded)
    pages = [list(page) for page in client.list_properties_of_secrets(max_page_size=7).by_page()]
    assert [len(p) for p in pages] == [7] * (total // 7) + ([total % 7] if total % 7 else [])
    # The default page is Key Vault's 25, and the first page links to the rest.
    first = kv_call(kv, "GET", "/secrets").json()
    assert len(first["value"]) == 25
    assert first["nextLink"].startswith(f"{kv.vault_url()}/secrets?")
    assert "$skiptoken=" in first["nextLink"] and "api-version=2025-07-01" in first["nextLink"]
    assert all("value" not in item for item in first["value"])


def test_list_versions(client: SecretClient) -> None:
    made = [present(client.set_secret("rotating", f"v{i}").properties.version) for i in range(4)]
    listed = list(client.list_properties_of_secret_versions("rotating", max_page_size=3))
    assert sorted(present(p.version) for p in listed) == sorted(made)
    assert all(p.name == "rotating" and p.created_on is not None for p in listed)
    with pytest.raises(ResourceNotFoundError):
        list(client.list_properties_of_secret_versions("never-set"))


def test_update_properties_and_disabled_secret_cannot_be_read(client: SecretClient) -> None:
    made = client.set_secret("toggle", "v", tags={"a": "1"})
    expires = present(made.properties.created_on) + timedelta(days=30)
    props = client.update_secret_properties(
        "toggle",
        content_type="application/json",
        tags={"b": "2"},
        expires_on=expires,
        enabled=False,
    )
    assert props.enabled is False
    assert props.tags == {"b": "2"} and props.content_type == "application/json"
    assert props.expires_on == expires
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret("toggle")
    assert caught.value.status_code == 403
    assert caught.value.error is not None and caught.value.error.code == "Forbidden"
    assert "SecretDisabled" in str(caught.value)
    assert "Operation get is not allowed on a disabled secret." in str(caught.value)
    # Metadata stays readable and the version can be enabled again.
    assert next(iter(client.list_properties_of_secrets())).name
    client.update_secret_properties("toggle", made.properties.version, enabled=True)
    assert client.get_secret("toggle").value == "v"


def test_delete_recover_purge_cycle(kv: EmulatorHandle, client: SecretClient) -> None:
    client.set_secret("short-lived", "v1")
    deleted = client.begin_delete_secret("short-lived").result()
    assert deleted.recovery_id == f"{kv.vault_url()}/deletedsecrets/short-lived"
    purge_after = present(deleted.scheduled_purge_date) - present(deleted.deleted_date)
    assert purge_after == timedelta(days=90)
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("short-lived")
    with pytest.raises(ResourceExistsError) as conflict:
        client.set_secret("short-lived", "v2")
    assert "ObjectIsDeletedButRecoverable" in str(conflict.value)
    assert "v2" not in str(conflict.value)
    assert [d.name for d in client.list_deleted_secrets()] == ["short-lived"]
    assert client.get_deleted_secret("short-lived").properties.version is not None
    recovered = client.begin_recover_deleted_secret("short-lived").result()
    assert recovered.name == "short-lived"
    assert client.get_secret("short-lived").value == "v1"
    client.begin_delete_secret("short-lived").result()
    client.purge_deleted_secret("short-lived")
    with pytest.raises(ResourceNotFoundError, match="Deleted Secret not found: short-lived"):
        client.get_deleted_secret("short-lived")
    assert client.set_secret("short-lived", "fresh").value == "fresh"
    assert len(list(client.list_properties_of_secret_versions("short-lived"))) == 1


def test_deleted_secret_is_purged_after_its_retention(emulator: EmulatorHandle) -> None:
    # Its own emulator: moving the clock would age every other test's secrets.
    with kv_client(emulator) as client:
        client.set_secret("retained", "v")
        client.begin_delete_secret("retained").result()
    emulator.admin("POST", "clock", {"advance": 91 * 86400})
    # A new client: the first one's token expired on the emulated clock.
    with kv_client(emulator) as later:
        with pytest.raises(ResourceNotFoundError):
            later.get_deleted_secret("retained")
        assert later.set_secret("retained", "again").value == "again"
