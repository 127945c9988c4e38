"""Key Vault's rules: names, sizes, tags, validity dates, seeding, admin backdating, no leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from keyops.emulator.services.keyvault.models import MAX_VALUE_BYTES
from tests.emulator.keyvault_support import bearer, kv_call, kv_client, own_emulator, present
from tests.support.emulator import EmulatorHandle

DAY = 86400


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """One emulator for the module: each test works on secrets of its own names."""
    with own_emulator(tmp_path_factory.mktemp("kv-rules"), tls_dir) as handle:
        yield handle


def bad_parameter(r: requests.Response, fragment: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "BadParameter" and fragment in error["message"], error


def test_names_must_be_letters_digits_hyphens(kv: EmulatorHandle) -> None:
    for name in ["under_score", "dot.ted", "x" * 128]:
        r = kv_call(kv, "PUT", f"/secrets/{name}", body={"value": "v"})
        bad_parameter(r, f"The request URI contains an invalid name: {name}")
    assert kv_call(kv, "PUT", f"/secrets/{'x' * 127}", body={"value": "v"}).status_code == 200
    bad_parameter(kv_call(kv, "GET", "/secrets/under_score/"), "invalid name")


def test_value_content_type_and_tag_limits(kv: EmulatorHandle) -> None:
    big = "s3cr3t" + "x" * (MAX_VALUE_BYTES - 5)
    r = kv_call(kv, "PUT", "/secrets/big", body={"value": big})
    bad_parameter(r, "maximum permitted length")
    assert "s3cr3t" not in r.text
    assert kv_call(kv, "PUT", "/secrets/big", body={"value": big[1:]}).status_code == 200
    bad_parameter(
        kv_call(kv, "PUT", "/secrets/ct", body={"value": "v", "contentType": "c" * 256}),
        "content type",
    )
    many = {f"t{i}": "v" for i in range(16)}
    bad_parameter(kv_call(kv, "PUT", "/secrets/tags", body={"value": "v", "tags": many}), "tags")
    long_tag = {"t": "v" * 513}
    bad_parameter(kv_call(kv, "PUT", "/secrets/tags", body={"value": "v", "tags": long_tag}), "Tag")
    ok = {f"t{i}": "v" * 512 for i in range(15)}
    assert kv_call(kv, "PUT", "/secrets/tags", body={"value": "v", "tags": ok}).status_code == 200
    bad_parameter(kv_call(kv, "PATCH", "/secrets/tags/", body={"tags": many}), "tags")


def test_bodies_are_validated(kv: EmulatorHandle) -> None:
    bad_parameter(kv_call(kv, "PUT", "/secrets/b", body={}), "value")
    bad_parameter(kv_call(kv, "PUT", "/secrets/b", body={"value": 5}), "value")
    bad_parameter(
        kv_call(kv, "PUT", "/secrets/b", body={"value": "v", "attributes": {"enabled": "yes"}}),
        "enabled",
    )
    bad_parameter(
        kv_call(kv, "PUT", "/secrets/b", body={"value": "v", "attributes": {"exp": True}}), "exp"
    )
    bad_parameter(kv_call(kv, "PUT", "/secrets/b", body=["value"]), "JSON object")
    r = kv_call(kv, "PATCH", "/secrets/none/0123456789abcdef0123456789abcdef", body={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "SecretNotFound"


def test_paging_parameters_are_validated(kv: EmulatorHandle) -> None:
    for size in ["0", "26", "many"]:
        bad_parameter(kv_call(kv, "GET", "/secrets", params={"maxresults": size}), "maxresults")
    bad_parameter(kv_call(kv, "GET", "/secrets", params={"$skiptoken": "!!"}), "skiptoken")
    page = kv_call(kv, "GET", "/secrets", params={"maxresults": "2"}).json()
    seen = []
    while True:
        assert len(page["value"]) <= 2
        seen += [item["id"] for item in page["value"]]
        if page["nextLink"] is None:  # Key Vault writes null on the last page
            break
        assert "maxresults=2" in page["nextLink"]
        page = requests.get(
            page["nextLink"], headers={"Authorization": bearer(kv)}, verify=kv.ca_bundle, timeout=10
        ).json()
    everything = kv_call(kv, "GET", "/secrets").json()
    assert everything["nextLink"] is None
    assert sorted(seen) == sorted(item["id"] for item in everything["value"])


def test_expired_and_not_yet_valid_secrets_are_still_returned(kv: EmulatorHandle) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with kv_client(kv) as client:
        client.set_secret("expired", "old", expires_on=now - timedelta(days=1))
        client.set_secret("future", "soon", not_before=now + timedelta(days=1))
        expired = client.get_secret("expired")
        assert expired.value == "old" and expired.properties.expires_on is not None
        future = client.get_secret("future")
        assert future.value == "soon" and future.properties.not_before is not None


def test_admin_backdates_a_version(kv: EmulatorHandle) -> None:
    with kv_client(kv) as client:
        first = client.set_secret("aged", "v1")
        client.set_secret("aged", "v2")
        now = float(kv.admin("GET", "clock")["now"])
        answer = kv.admin(
            "POST",
            f"vaults/kv-keyops-prod/secrets/aged/versions/{first.properties.version}",
            {"created": "-40d", "updated": "-39d", "exp": "+5d"},
        )
        assert "value" not in answer
        assert abs(answer["attributes"]["created"] - (now - 40 * DAY)) < 60
        props = client.get_secret("aged", first.properties.version).properties
        assert abs(present(props.created_on).timestamp() - (now - 40 * DAY)) < 60
        assert abs(present(props.updated_on).timestamp() - (now - 39 * DAY)) < 60
        kv.admin(
            "POST",
            "vaults/kv-keyops-prod/secrets/aged/versions/latest",
            {"created": int(now) - 2 * DAY, "nbf": None},
        )
        latest = client.get_secret("aged")
        assert latest.value == "v2"
        assert abs(present(latest.properties.created_on).timestamp() - (now - 2 * DAY)) < 60


def test_seeded_secrets_follow_the_world(kv: EmulatorHandle) -> None:
    now = float(kv.admin("GET", "clock")["now"])
    with kv_client(kv) as client:
        weu = client.get_secret("contoso-aiservices-weu-api-key")
    assert weu.properties.content_type == "text/plain"
    assert weu.properties.tags == {"CredentialId": "Key1"}
    assert abs(present(weu.properties.created_on).timestamp() - (now - 12 * DAY)) < 120
    assert abs(present(weu.properties.expires_on).timestamp() - (now + 78 * DAY)) < 120
    try:
        from keyops.emulator.services.arm.models import current_key
    except ImportError:
        return
    emu = kv.server.emulator
    if emu.store.section("arm").get("accounts"):
        assert weu.value == current_key(emu, "contoso-aiservices-weu", "Key1")


def test_values_never_reach_the_request_log(kv: EmulatorHandle) -> None:
    marker = "leak-canary-7f3e9a"
    with kv_client(kv) as client:
        client.set_secret("canary", marker)
        client.get_secret("canary")
        client.update_secret_properties("canary", enabled=False)
        with pytest.raises(HttpResponseError) as caught:
            client.get_secret("canary")
    assert marker not in str(caught.value)
    assert marker not in json.dumps(kv.log_since(0))
    log_file = kv.server.state_dir / "requests.jsonl"
    assert log_file.exists() and marker not in log_file.read_text()
