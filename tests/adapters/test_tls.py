"""Trust and proxies like the Azure SDKs: the environment's CA bundle and proxy, for every session.

The proxy here intercepts TLS as corporate inspection gateways do (its own CA signs a certificate
for each host), so a call succeeds through it only when that CA is trusted from the environment
and the proxied connection really carries keyops' trust.
"""

from __future__ import annotations

import pytest

from keyops.azure.probe import KeyAuth, Outcome, probe
from keyops.azure.tls import (
    CA_BUNDLE_VARIABLES,
    NetworkSettings,
    new_session,
    sdk_transport,
    trust_context,
)
from keyops.emulator.services.arm.models import current_key
from keyops.errors import RefusedError
from keyops.secret import SecretValue
from tests.support.emulator import EmulatorHandle
from tests.support.mitm_proxy import NETWORK_VARIABLES_UNSET, InterceptingProxy

EUS = "contoso-openai-eus"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CA bundle or proxy variable from the machine running the tests."""
    for name, _ in NETWORK_VARIABLES_UNSET.items():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _probe(handle: EmulatorHandle, session: object | None = None) -> Outcome:
    account = handle.account(EUS)
    key = KeyAuth(SecretValue(current_key(handle.server.emulator, EUS, "Key1")))
    return probe(account["endpoint"], "gpt-4o-mini", key, session=session).outcome  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"REQUESTS_CA_BUNDLE": "r", "CURL_CA_BUNDLE": "c", "SSL_CERT_FILE": "s"}, "r"),
        ({"CURL_CA_BUNDLE": "c", "SSL_CERT_FILE": "s"}, "c"),
        ({"REQUESTS_CA_BUNDLE": "", "SSL_CERT_FILE": "s"}, "s"),
        ({}, None),
    ],
)
def test_the_first_bundle_variable_set_wins(environ: dict[str, str], expected: str | None) -> None:
    assert NetworkSettings.from_environ(environ).ca_bundle == expected


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "https://a.openai.azure.com/", True),
        ("openai.azure.com", "https://a.openai.azure.com/", False),
        (".openai.azure.com", "https://a.openai.azure.com/", False),
        ("azure.com", "https://notazure.com/", True),
        ("127.0.0.1", "https://127.0.0.1:8443/", False),
        ("127.0.0.0/8", "https://127.0.0.1:8443/", False),
        ("10.0.0.0/8", "https://127.0.0.1:8443/", True),
        ("127.0.0.1:9999", "https://127.0.0.1:8443/", True),
        ("127.0.0.1:8443", "https://127.0.0.1:8443/", False),
        ("*", "https://vault.azure.net/", False),
        (" x.example , A.OpenAI.Azure.com ", "https://a.openai.azure.com/", False),
    ],
)
def test_no_proxy_is_matched_as_requests_and_curl_match_it(
    no_proxy: str, url: str, proxied: bool
) -> None:
    settings = NetworkSettings.from_environ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": no_proxy})
    assert (settings.proxy_for(url) == "http://p:3128") is proxied


def test_lower_case_proxy_variables_win_and_http_urls_use_http_proxy() -> None:
    settings = NetworkSettings.from_environ(
        {
            "HTTPS_PROXY": "http://upper:1",
            "https_proxy": "http://lower:1",
            "HTTP_PROXY": "http://h:1",
        }
    )
    assert settings.proxy_for("https://x/") == "http://lower:1"
    assert settings.proxy_for("http://169.254.169.254/") == "http://h:1"


def test_the_bundle_in_the_environment_is_trusted_and_read_when_the_session_is_built(
    shared_emulator: EmulatorHandle, clean_env: pytest.MonkeyPatch
) -> None:
    ca_only = str(shared_emulator.server.tls.ca_cert)
    # certifi alone does not know the emulator's CA
    assert _probe(shared_emulator, new_session(True)) is Outcome.TLS_ERROR
    for name in CA_BUNDLE_VARIABLES:
        clean_env.setenv(name, ca_only)
        session = new_session(True)
        clean_env.delenv(name)
        assert _probe(shared_emulator, session) is Outcome.OK, name
    # a probe that builds its own session reads the variable too (the production bug)
    clean_env.setenv("REQUESTS_CA_BUNDLE", ca_only)
    assert _probe(shared_emulator) is Outcome.OK


def test_through_an_intercepting_proxy_with_its_ca_only_in_the_bundle(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(proxy.ca_cert))
    assert _probe(shared_emulator) is Outcome.OK
    port = shared_emulator.url.rsplit(":", 1)[1]
    assert proxy.connects == [f"127.0.0.1:{port}"]
    # the proxy's certificate is not the emulator's: trusting only the emulator fails
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(shared_emulator.server.tls.ca_cert))
    assert _probe(shared_emulator) is Outcome.TLS_ERROR


def test_emulator_mode_trusts_its_bundle_and_the_environments(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    clean_env.setenv("SSL_CERT_FILE", str(proxy.ca_cert))
    assert _probe(shared_emulator, new_session(shared_emulator.ca_bundle)) is Outcome.OK
    assert proxy.connects


def test_no_proxy_sends_the_host_direct(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", "localhost,127.0.0.1")
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(shared_emulator.server.tls.ca_cert))
    assert _probe(shared_emulator) is Outcome.OK
    assert proxy.connects == []


def test_sdk_clients_and_their_credential_go_through_the_proxy_with_its_trust(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    from azure.keyvault.secrets import SecretClient

    clean_env.setenv("HTTPS_PROXY", proxy.url)
    clean_env.setenv("CURL_CA_BUNDLE", str(proxy.ca_cert))
    credential = shared_emulator.credential(transport=sdk_transport(True))
    client = SecretClient(
        shared_emulator.vault_url(),
        credential,
        verify_challenge_resource=False,
        transport=sdk_transport(True),
        retry_total=0,
    )
    with client:
        assert client.get_secret("contoso-aiservices-weu-api-key").value
        # a closed client reopens with the same trust, not a default session
    with client:
        assert client.get_secret("contoso-aiservices-weu-api-key").value
    vault_port = shared_emulator.vault_url().rstrip("/").rsplit(":", 1)[1]
    token_port = shared_emulator.url.rsplit(":", 1)[1]
    assert {f"127.0.0.1:{vault_port}", f"127.0.0.1:{token_port}"} <= set(proxy.connects)


def test_verification_cannot_be_turned_off_on_any_session(shared_emulator: EmulatorHandle) -> None:
    session = new_session(shared_emulator.ca_bundle)
    with pytest.raises(RefusedError):
        session.get(shared_emulator.url, verify=False, timeout=5)
    with pytest.raises(RefusedError):
        new_session(False)


def test_the_shared_context_trusts_only_its_bundles_however_a_call_is_made(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    ca_only = str(shared_emulator.server.tls.ca_cert)
    context = trust_context((ca_only,))
    roots = context.cert_store_stats()["x509_ca"]
    clean_env.setenv("REQUESTS_CA_BUNDLE", ca_only)
    for proxied in (False, True):
        if proxied:
            clean_env.setenv("HTTPS_PROXY", proxy.url)
            clean_env.setenv("REQUESTS_CA_BUNDLE", str(proxy.ca_cert))
        with new_session(True) as session:
            # no verify argument, verify=True, the session default: all the same trust
            assert session.get(shared_emulator.url + "/metadata/endpoints", timeout=10).ok
            assert session.get(shared_emulator.url + "/metadata/endpoints", verify=True).ok
    assert context.cert_store_stats()["x509_ca"] == roots == 1
    assert proxy.connects
