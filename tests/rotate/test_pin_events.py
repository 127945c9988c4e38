"""Key Vault secret events (keyops.rotate.events) read field by field: what an event yields, and
the one line naming what is wrong with one that is not a secret event keyops handles."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from keyops.cloud import CLOUDS
from keyops.errors import InputError
from keyops.rotate.events import SecretEvent, parse_events, vault_url_for

NEAR = "Microsoft.KeyVault.SecretNearExpiry"
ID = "https://sample-kv.vault.azure.net/secrets/newsecret/ee05"


def _raw(**data: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "eventType": NEAR,
        "subject": "newsecret",
        "data": {
            "Id": ID,
            "VaultName": "sample-kv",
            "ObjectType": "Secret",
            "ObjectName": "newsecret",
            "Version": "ee05",
            "EXP": "1559082102",
            **data,
        },
    }


def test_an_event_yields_its_secret_version_and_expiry() -> None:
    (event,) = parse_events(json.dumps(_raw()))
    assert event == SecretEvent(
        id="evt-1",
        event_type=NEAR,
        vault_name="sample-kv",
        secret_name="newsecret",
        secret_id=ID,
        version="ee05",
        expires=datetime(2019, 5, 28, 22, 21, 42, tzinfo=timezone.utc),
    )


def test_field_names_are_read_in_any_case_and_an_expired_event_is_handled() -> None:
    raw = _raw()
    raw["eventType"] = "Microsoft.KeyVault.SecretExpired"
    raw["data"] = {"vaultname": "kv", "OBJECTNAME": "s", "objecttype": "SECRET", "exp": 0}
    (event,) = parse_events(json.dumps(raw))
    assert (event.vault_name, event.secret_name, event.secret_id, event.version) == (
        "kv",
        "s",
        None,
        None,
    )
    assert event.expires == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert event.event_type == "Microsoft.KeyVault.SecretExpired"


def test_a_cloud_event_without_an_object_name_takes_its_subject() -> None:
    raw = {"type": NEAR, "subject": "from-subject", "data": {"VaultName": "kv"}}
    (event,) = parse_events(json.dumps(raw))
    assert (event.secret_name, event.id, event.expires) == ("from-subject", "", None)


@pytest.mark.parametrize("exp", [None, "soon", "nan", "1e400", 1e20, [1]])
def test_an_unreadable_expiry_is_no_expiry(exp: Any) -> None:
    (event,) = parse_events(json.dumps(_raw(EXP=exp)))
    assert event.expires is None and event.secret_name == "newsecret"


def test_an_array_is_numbered_from_one_in_its_errors() -> None:
    two = [_raw(), {**_raw(), "eventType": "Microsoft.KeyVault.SecretNewVersionCreated"}]
    with pytest.raises(InputError) as caught:
        parse_events(json.dumps(two))
    assert str(caught.value) == (
        "event 2: type 'Microsoft.KeyVault.SecretNewVersionCreated' is not handled (expected "
        "Microsoft.KeyVault.SecretNearExpiry or Microsoft.KeyVault.SecretExpired)"
    )
    assert [e.secret_name for e in parse_events(json.dumps([_raw(), _raw(ObjectName="b")]))] == [
        "newsecret",
        "b",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1], "event 1: expected a JSON object"),
        ({"eventType": NEAR, "data": []}, "event 1: no data object"),
        ({"eventType": NEAR}, "event 1: no data object"),
        ({**_raw(), "data": {"ObjectName": "s"}}, "event 1: data needs VaultName and ObjectName"),
        (
            {**_raw(), "data": {"VaultName": "", "ObjectName": "s"}},
            "event 1: data needs VaultName and ObjectName",
        ),
        (
            {**_raw(), "data": {"VaultName": 7, "ObjectName": "s"}},
            "event 1: data needs VaultName and ObjectName",
        ),
        (
            {**_raw(), "subject": None, "data": {"VaultName": "kv"}},
            "event 1: data needs VaultName and ObjectName",
        ),
        (
            {**_raw(), "data": {"VaultName": "kv", "ObjectName": ""}, "subject": ""},
            "event 1: data needs VaultName and ObjectName",
        ),
        (
            {**_raw(), "data": {"VaultName": "kv", "ObjectName": ["s"]}},
            "event 1: data needs VaultName and ObjectName",
        ),
        (_raw(ObjectType="Key"), "event 1: object type 'Key' is not a secret"),
        (_raw(ObjectType="Vault"), "event 1: object type 'Vault' is not a secret"),  # sorts after
        ([], "no event in the input"),
    ],
)
def test_each_malformed_event_names_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_events(json.dumps(raw))
    assert str(caught.value) == message


def test_a_vault_url_is_taken_only_from_an_https_id_of_the_cloud() -> None:
    cloud = CLOUDS["AzureCloud"]
    (event,) = parse_events(
        json.dumps(_raw(Id="https://sample-kv.vault.azure.net/secrets/a/secrets/b"))
    )
    assert vault_url_for(event, cloud) == "https://sample-kv.vault.azure.net"
    (plain,) = parse_events(
        json.dumps(_raw(Id="http://sample-kv.vault.azure.net/secrets/newsecret/1"))
    )
    with pytest.raises(InputError) as caught:
        vault_url_for(plain, cloud)
    assert str(caught.value) == (
        "event evt-1: 'http://sample-kv.vault.azure.net' is not a vault of AzureCloud"
    )
    (other,) = parse_events(json.dumps(_raw(Id="wss://sample-kv.vault.azure.net/secrets/s/1")))
    with pytest.raises(InputError) as caught:
        vault_url_for(other, cloud)  # a scheme sorting after https is not https either
    assert str(caught.value) == (
        "event evt-1: 'wss://sample-kv.vault.azure.net' is not a vault of AzureCloud"
    )
    (no_path,) = parse_events(json.dumps(_raw(Id="https://sample-kv.vault.azure.net/keys/k/1")))
    assert vault_url_for(no_path, cloud) == "https://sample-kv.vault.azure.net"
