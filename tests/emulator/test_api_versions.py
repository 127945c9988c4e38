"""Every pinned client's default api-version is accepted; unpublished versions keep Azure's refusal.

Each client sends whatever version its installed package defaults to (read off the wire with
azure-core's ``raw_request_hook``, not from our table), so a package upgrade that moves a default
shows up here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError

from keyops.emulator import apiversions
from tests.emulator.arm_support import authz, error_code, mgmt
from tests.emulator.monitor_support import NAMESPACE, metrics_client, monitor_client
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"
CLI_291 = apiversions.CLIENT_DEFAULTS[
    ("azure-mgmt-cognitiveservices 15.0.0b4 (Azure CLI 2.91)", "accounts")
]


class _Versions:
    """Collects the api-version of every request a client sends."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, pipeline_request: Any) -> None:
        query = parse_qs(urlsplit(pipeline_request.http_request.url).query)
        self.seen.update(query.get("api-version", []))


def test_cognitiveservices_default_and_the_azure_cli_version(
    shared_emulator: EmulatorHandle,
) -> None:
    rg = shared_emulator.account(EUS)["resource_group"]
    sent = _Versions()
    with mgmt(shared_emulator) as client:
        assert list(client.accounts.list(raw_request_hook=sent))
        assert client.accounts.list_keys(rg, EUS, raw_request_hook=sent).key1
        assert list(client.deployments.list(rg, EUS, raw_request_hook=sent))
    assert sent.seen == {"2025-09-01"}
    assert sent.seen <= set(apiversions.ACCOUNTS) & set(apiversions.DEPLOYMENTS)

    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    with shared_emulator.credential() as cred:
        cli = CognitiveServicesManagementClient(
            cred,
            shared_emulator.conn["subscription_id"],
            base_url=shared_emulator.url,
            connection_verify=shared_emulator.ca_bundle,
            api_version=CLI_291,
            retry_total=0,
        )
        with cli:
            assert cli.accounts.get(rg, EUS).name == EUS
            assert cli.accounts.list_keys(rg, EUS).key2
            assert list(cli.deployments.list(rg, EUS))
            cli._config.api_version = "2026-05-16-preview"  # never published
            with pytest.raises(HttpResponseError) as refused:
                cli.accounts.get(rg, EUS)
    assert refused.value.status_code == 400
    assert error_code(refused.value) == "NoRegisteredProviderFound"


def test_keyvault_secrets_default(shared_emulator: EmulatorHandle) -> None:
    sent = _Versions()
    with shared_emulator.secret_client() as client:
        assert client.get_secret("contoso-aiservices-weu-api-key", raw_request_hook=sent).value
    assert sent.seen == {"2026-04-01"} and sent.seen <= apiversions.KEYVAULT_SECRETS


def test_monitor_clients_defaults(shared_emulator: EmulatorHandle) -> None:
    now = datetime.fromtimestamp(shared_emulator.server.emulator.clock.now(), timezone.utc)
    account = shared_emulator.account(EUS)["id"]
    sent, batch = _Versions(), _Versions()
    with monitor_client(shared_emulator) as client:
        client.metrics.list(
            account,
            timespan=f"{now - timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}/{now:%Y-%m-%dT%H:%M:%SZ}",
            metricnames="AzureOpenAIRequests",
            raw_request_hook=sent,
        )
        assert list(client.metric_definitions.list(account, raw_request_hook=sent))
    with metrics_client(shared_emulator) as metrics:
        metrics.query_resources(
            resource_ids=[account],
            metric_namespace=NAMESPACE,
            metric_names=["AzureOpenAIRequests"],
            timespan=timedelta(hours=2),
            raw_request_hook=batch,
        )
    assert sent.seen == {"2024-02-01"} and batch.seen == {"2024-02-01"}
    assert sent.seen <= set(apiversions.METRICS) & set(apiversions.METRIC_DEFINITIONS)
    assert batch.seen <= set(apiversions.METRICS_BATCH)


def test_authorization_default(shared_emulator: EmulatorHandle) -> None:
    sub = f"/subscriptions/{shared_emulator.conn['subscription_id']}"
    sent = _Versions()
    with authz(shared_emulator) as client:
        assert list(client.role_assignments.list_for_scope(sub, raw_request_hook=sent))
        assert list(client.role_definitions.list(sub, raw_request_hook=sent))
    assert sent.seen == {"2022-04-01"}
    assert sent.seen <= set(apiversions.ROLE_ASSIGNMENTS) & set(apiversions.ROLE_DEFINITIONS)


def test_every_listed_client_default_is_in_its_types_list() -> None:
    lists: dict[str, Any] = {
        "accounts": apiversions.ACCOUNTS,
        "secrets": apiversions.KEYVAULT_SECRETS,
        "metrics": apiversions.METRICS,
        "metrics:getBatch": apiversions.METRICS_BATCH,
        "roleAssignments": apiversions.ROLE_ASSIGNMENTS,
        "roleDefinitions": apiversions.ROLE_DEFINITIONS,
    }
    for (client, operation), version in apiversions.CLIENT_DEFAULTS.items():
        assert version in lists[operation], client
