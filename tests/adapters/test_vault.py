"""The Key Vault adapter against the emulator, with the real SDK over HTTPS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from keyops.azure.pacing import RetrySettings
from keyops.azure.vault import VaultClient, vault_name
from keyops.cloud import resolve_environment
from keyops.errors import AuthError, ConfigError
from keyops.secret import SecretValue
from tests.support.emulator import EmulatorHandle

RETRY = RetrySettings(total=2, connect=0, backoff_factor=0.1, backoff_max=0.5)


def vault(emu: EmulatorHandle, principal: str = "keyops-rotator") -> VaultClient:
    env = resolve_environment(str(emu.connection_path), None)
    return VaultClient(env, emu.credential(principal), emu.vault_url(), retry=RETRY)


def test_latest_of_a_seeded_secret(shared_emulator: EmulatorHandle) -> None:
    client = vault(shared_emulator)
    latest = client.get_latest("contoso-aiservices-weu-api-key")
    assert latest is not None and latest.value is not None
    assert latest.tags["CredentialId"] == "Key1" and latest.content_type == "text/plain"
    assert latest.created is not None and latest.created.tzinfo is not None
    age = datetime.now(timezone.utc) - latest.created
    assert timedelta(days=11) < age < timedelta(days=13)
    assert latest.expires_on is not None and latest.is_live(datetime.now(timezone.utc))
    assert client.get_latest("no-such-secret") is None
    assert client.list_versions("no-such-secret") == []
    client.close()


def test_set_list_update_and_read_back(emulator: EmulatorHandle) -> None:
    client = vault(emulator)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=90)
    first = client.set_secret(
        "k",
        SecretValue("one"),
        content_type="text/plain",
        tags={"CredentialId": "Key1"},
        expires_on=expires,
    )
    second = client.set_secret("k", SecretValue("two"))
    assert first.value is None and first.expires_on == expires
    versions = client.list_versions("k")
    assert [v.version for v in versions] == [first.version, second.version]
    assert all(v.value is None for v in versions)
    latest = client.get_latest("k")
    assert latest is not None and latest.value == SecretValue("two")
    assert client.get_version("k", first.version).value == SecretValue("one")
    updated = client.update_tags("k", first.version, {"CredentialId": "Key2", "x": "y"})
    assert dict(updated.tags) == {"CredentialId": "Key2", "x": "y"}
    disabled = client.set_enabled("k", first.version, False)
    assert disabled.enabled is False and not disabled.is_live(datetime.now(timezone.utc))
    assert dict(disabled.tags) == {"CredentialId": "Key2", "x": "y"}
    client.close()


def test_denied_reads_and_writes_are_auth_errors(shared_emulator: EmulatorHandle) -> None:
    reader = vault(shared_emulator, "ops-reader")  # Reader: no Key Vault data access
    with pytest.raises(AuthError) as err:
        reader.get_latest("contoso-aiservices-weu-api-key")
    assert "get secret on secret contoso-aiservices-weu-api-key in vault " in str(err.value)
    assert "access denied" in str(err.value)
    assert "\n" not in str(err.value)
    reader.close()
    consumer = vault(shared_emulator, "app-consumer")  # Secrets User: read, no write
    with pytest.raises(AuthError, match="set secret"):
        consumer.set_secret("anything", SecretValue("x"))
    consumer.close()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://kv-prod.vault.azure.net/", "kv-prod"),
        ("https://kv-prod.vault.azure.net:443", "kv-prod"),
        ("https://kv-cn.vault.azure.cn", "kv-cn"),
        ("https://127.0.0.1:8443/vaults/kv1", "kv1"),
        ("https://127.0.0.1:8443/vaults/kv1/", "kv1"),
        ("https://127.0.0.1:8443", "127.0.0.1:8443"),
        ("https://127.0.0.1:8443/", "127.0.0.1:8443"),
        ("https://[::1]:8443", "[::1]:8443"),
        ("https://localhost:8443", "localhost:8443"),
    ],
)
def test_vault_names_for_messages(url: str, name: str) -> None:
    assert vault_name(url) == name


def test_an_emulator_vault_on_its_own_port_is_named_by_host_and_port(
    shared_emulator: EmulatorHandle,
) -> None:
    url = shared_emulator.vault_url()
    assert vault(shared_emulator).name == urlsplit(url).netloc != urlsplit(url).hostname


def test_vault_urls() -> None:
    env = resolve_environment(None, "AzureCloud")
    with pytest.raises(ConfigError, match="https"):
        VaultClient(env, object(), "http://kv.vault.azure.net")  # type: ignore[arg-type]


def test_every_answer_feeds_key_vaults_clock(emulator: EmulatorHandle) -> None:
    """The lease measures time on Key Vault's clock: a read with its own response hook (for
    ``read_at``) must feed that clock too, or a claim is written without its end."""
    emulator.admin("POST", "clock", {"advance": 7200})
    client = vault(emulator)
    assert client.clock.now() is None
    latest = client.get_latest("contoso-aiservices-weu-api-key")
    assert latest is not None and latest.read_at is not None
    now = client.clock.now()
    assert now is not None and abs((now - latest.read_at).total_seconds()) < 5
    assert now - datetime.now(timezone.utc) > timedelta(minutes=100)  # the emulator's clock
