"""Headers and fields real Azure answers carry (public recordings of real traffic), each asserted:
etags that change only when the resource is written, ARM's token-bucket counters, the data
plane's region and request ids, and the account and role fields the specs we hold predate."""

from __future__ import annotations

import pytest

from keyops.emulator.core.armrouter import ArmBucket
from tests.emulator.arm_support import arm_call, arm_token, mgmt
from tests.emulator.monitor_support import metrics_call
from tests.emulator.openai_support import EUS, chat, key
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"
AUTHZ = "/providers/Microsoft.Authorization"


@pytest.fixture(scope="module")
def token(shared_emulator: EmulatorHandle) -> str:
    return arm_token(shared_emulator)


def _account(handle: EmulatorHandle, name: str = EUS) -> str:
    return str(handle.account(name)["id"])


def test_account_and_deployment_gets_carry_their_etag(
    shared_emulator: EmulatorHandle, token: str
) -> None:
    acct = arm_call(shared_emulator, "GET", _account(shared_emulator), token=token)
    assert acct.headers["etag"] == acct.json()["etag"] and acct.headers["etag"].startswith('"')
    dep = arm_call(
        shared_emulator, "GET", _account(shared_emulator) + "/deployments/gpt-4o-mini", token=token
    )
    assert dep.headers["etag"] == dep.json()["etag"] != acct.headers["etag"]


def test_etag_changes_on_patch_only(emulator: EmulatorHandle) -> None:
    from azure.mgmt.cognitiveservices.models import Account, AccountProperties

    token = arm_token(emulator)
    rid = _account(emulator)
    before = arm_call(emulator, "GET", rid, token=token).headers["etag"]
    assert arm_call(emulator, "POST", rid + "/listKeys", token=token).status_code == 200
    regen = arm_call(
        emulator, "POST", rid + "/regenerateKey", token=token, body={"keyName": "Key2"}
    )
    assert regen.status_code == 200
    assert arm_call(emulator, "GET", rid, token=token).headers["etag"] == before
    rg = emulator.account(EUS)["resource_group"]
    with mgmt(emulator) as client:
        patch = Account(tags={"owner": "team-ai"}, properties=AccountProperties())
        updated = client.accounts.begin_update(rg, EUS, patch).result()
        assert updated.tags["owner"] == "team-ai"
        assert updated.etag != before
        again = client.accounts.get(rg, EUS)
    assert again.etag == updated.etag
    rotator = emulator.principal("keyops-rotator")["client_id"]
    assert again.system_data.last_modified_by == rotator != again.system_data.created_by
    # a principal without accounts/write is refused and changes nothing
    consumer = arm_token(emulator, "app-consumer")
    denied = arm_call(emulator, "PATCH", rid, token=consumer, body={"tags": {"x": "y"}})
    assert denied.status_code == 403, denied.text
    assert arm_call(emulator, "GET", rid, token=token).headers["etag"] == updated.etag
    # a body that is not an account is refused and changes nothing
    bad = arm_call(emulator, "PATCH", rid, token=token, body={"tags": ["x"]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidRequestContent"
    assert arm_call(emulator, "GET", rid, token=token).headers["etag"] == updated.etag


def test_arm_bucket_drains_per_call_and_refills_with_time() -> None:
    bucket = ArmBucket(250, 25.0, now=1000.0)
    assert [bucket.take(1000.0) for _ in range(3)] == [249, 248, 247]
    assert bucket.take(1000.08) == 248  # two tokens back in 80 ms, one taken
    assert bucket.take(999.0) == 247  # a clock moved back refills nothing
    assert bucket.take(2000.0) == 249  # never above the bucket size
    for _ in range(300):
        last = bucket.take(2000.0)
    assert last == 0  # empty stays at zero (reported; the emulator does not throttle on it)


def test_arm_rate_limit_headers_come_from_the_buckets(emulator: EmulatorHandle) -> None:
    token = arm_token(emulator)
    rid = _account(emulator)
    reads = "x-ms-ratelimit-remaining-subscription-reads"
    global_reads = "x-ms-ratelimit-remaining-subscription-global-reads"
    first = arm_call(emulator, "GET", rid, token=token).headers
    assert (int(first[reads]), int(first[global_reads])) == (249, 3749)
    for _ in range(5):
        later = arm_call(emulator, "GET", rid, token=token).headers
        assert 0 <= int(later[reads]) <= 249 and int(later[global_reads]) <= 3749
    key1 = {"keyName": "Key1"}
    write = arm_call(emulator, "POST", rid + "/regenerateKey", token=token, body=key1)
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-writes"]) == 199
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-global-writes"]) == 2999
    emulator.admin("POST", "clock", {"advance": 60})
    refilled = arm_call(emulator, "GET", rid, token=token).headers
    assert int(refilled[reads]) == 249 and int(refilled[global_reads]) == 3749
    tenant = arm_call(emulator, "GET", "/tenants", token=token, version="2022-12-01").headers
    assert "x-ms-ratelimit-remaining-tenant-reads" in tenant and global_reads not in tenant


def test_account_fields_real_answers_carry(shared_emulator: EmulatorHandle, token: str) -> None:
    openai = arm_call(shared_emulator, "GET", _account(shared_emulator), token=token).json()
    services = arm_call(shared_emulator, "GET", _account(shared_emulator, WEU), token=token).json()
    for body in (openai, services):
        rules = body["properties"]["callRateLimit"]["rules"]
        assert {"openai", "default"} <= {r["key"] for r in rules}
        assert all(r["matchPatterns"] and r["renewalPeriod"] == 1 for r in rules)
        assert body["properties"]["apiProperties"] == {}
        system = body["systemData"]
        assert system["createdBy"] and system["lastModifiedBy"] == system["createdBy"]
    assert services["properties"]["allowProjectManagement"] is False
    assert "allowProjectManagement" not in openai["properties"]


def test_role_definition_and_assignment_provenance(
    shared_emulator: EmulatorHandle, token: str
) -> None:
    sub = f"/subscriptions/{shared_emulator.conn['subscription_id']}"
    defs = arm_call(
        shared_emulator, "GET", sub + AUTHZ + "/roleDefinitions", token=token, version="2022-04-01"
    ).json()["value"]
    for d in defs:
        props = d["properties"]
        assert props["createdOn"].endswith("Z") and props["updatedOn"] >= props["createdOn"]
        assert props["createdBy"] is None and props["updatedBy"] is None  # built-in roles
    assignments = arm_call(
        shared_emulator,
        "GET",
        sub + AUTHZ + "/roleAssignments?$filter=atScope()",
        token=token,
        version="2022-04-01",
    ).json()["value"]
    assert assignments and all(
        a["properties"]["updatedBy"] == a["properties"]["createdBy"] is not None
        for a in assignments
    )


def test_metric_definitions_report_the_providers_budget(shared_emulator: EmulatorHandle) -> None:
    r = metrics_call(shared_emulator, _account(shared_emulator), {}, what="metricDefinitions")
    assert r.status_code == 200
    assert int(r.headers["x-ms-ratelimit-remaining-subscription-resource-requests"]) >= 0


def test_data_plane_region_and_request_ids(shared_emulator: EmulatorHandle) -> None:
    ok = chat(
        shared_emulator,
        EUS,
        api_key=key(shared_emulator, EUS),
    )
    assert ok.headers["x-ms-region"] == "East US"
    assert ok.headers["apim-request-id"] != ok.headers["x-request-id"]
    assert ok.headers["x-ms-client-request-id"] == "Not-Set"
    weu = chat(
        shared_emulator,
        WEU,
        "gpt-4o",
        api_key=key(shared_emulator, WEU),
        headers={"x-ms-client-request-id": "trace-42"},
    )
    assert weu.headers["x-ms-region"] == "West Europe"
    assert weu.headers["x-ms-client-request-id"] == "trace-42"
    denied = chat(shared_emulator, EUS, api_key="0" * 32)
    assert denied.status_code == 401
    assert denied.headers["apim-request-id"] != denied.headers["x-request-id"]
