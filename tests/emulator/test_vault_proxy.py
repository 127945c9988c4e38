"""The emulator's vault proxy: vaults by name under Key Vault's own host names, no resolver change.

The real SecretClient keeps its challenge check on (``verify_challenge_resource``): the
emulator's challenge names ``https://vault.azure.net``, which matches ``NAME.vault.azure.net``.
"""

from __future__ import annotations

import pytest
import requests

from keyops.azure.tls import new_session, sdk_transport
from keyops.emulator.proxy import VAULT_DNS_SUFFIX
from tests.support.emulator import EmulatorHandle
from tests.support.mitm_proxy import NETWORK_VARIABLES_UNSET

VAULT = "kv-keyops-prod"


@pytest.fixture
def via_proxy(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process's HTTPS goes through the emulator's proxy, trusting the emulator's bundle."""
    for name in NETWORK_VARIABLES_UNSET:
        monkeypatch.delenv(name, raising=False)
    proxy = emulator.conn["vault_proxy"]
    assert proxy["vault_dns_suffix"] == VAULT_DNS_SUFFIX
    monkeypatch.setenv("HTTPS_PROXY", proxy["url"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)
    return str(proxy["url"])


def test_a_vault_by_its_azure_host_name(emulator: EmulatorHandle, via_proxy: str) -> None:
    from azure.keyvault.secrets import SecretClient

    credential = emulator.credential(transport=sdk_transport(True))
    url = f"https://{VAULT}.{VAULT_DNS_SUFFIX}"
    with SecretClient(url, credential, transport=sdk_transport(True), retry_total=0) as client:
        stored = client.set_secret("proxy-check", "not-a-key-value")
        assert stored.id.startswith(f"{url}/secrets/proxy-check/")
        assert client.get_secret("proxy-check").value == "not-a-key-value"
        versions = list(client.list_properties_of_secret_versions("proxy-check"))
        assert [v.id for v in versions] == [stored.id]


def test_other_hosts_are_tunnelled_unchanged(emulator: EmulatorHandle, via_proxy: str) -> None:
    with new_session(True) as session:
        r = session.get(emulator.url + "/metadata/endpoints", timeout=10)
    assert r.status_code == 200  # the main port, reached through the tunnel as asked
    assert emulator.server.proxy.route("login.microsoftonline.com:443") == (
        "login.microsoftonline.com",
        443,
    )
    # an unknown vault name is not ours: it goes where it was asked to go
    assert emulator.server.proxy.route(f"other.{VAULT_DNS_SUFFIX}:443") == (
        f"other.{VAULT_DNS_SUFFIX}",
        443,
    )


def test_the_proxy_refuses_what_is_not_a_connect(emulator: EmulatorHandle) -> None:
    r = requests.get(
        "http://example.invalid/", proxies={"http": emulator.conn["vault_proxy"]["url"]}, timeout=5
    )
    assert r.status_code == 405
    assert emulator.server.proxy.route("no-port") is None
