"""Microsoft.Authorization: seeded role assignments and built-in role definitions, read with
the real azure-mgmt-authorization client and raw HTTP."""

from __future__ import annotations

import dataclasses

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from keyops.emulator.app import build_app
from keyops.emulator.core.rbac import Assignment
from keyops.emulator.world import WorldError, load_world
from tests.emulator.arm_support import arm_call, arm_token, authz, error_code, error_message
from tests.support.emulator import EmulatorHandle

PROVIDER = "/providers/Microsoft.Authorization"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CS_CONTRIBUTOR = "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"


def _sub(handle: EmulatorHandle) -> str:
    return f"/subscriptions/{handle.conn['subscription_id']}"


def _account_scope(handle: EmulatorHandle) -> str:
    return str(handle.account("contoso-openai-eus")["id"])


def test_seeded_records_have_exactly_the_assignment_fields() -> None:
    _app, emu = build_app(load_world(), None, "https://127.0.0.1:9")
    records = emu.store.section("authorization")["assignments"]
    assert len(records) == len(emu.world.role_assignments)
    fields = {f.name for f in dataclasses.fields(Assignment)}
    for record in records:
        assert set(record) == fields
        assert record["principal_type"] == "ServicePrincipal"
        assert record["id"] == f"{record['scope']}{PROVIDER}/roleAssignments/{record['name']}"
        assert record["role_definition"] == record["role_definition"].lower()
        assert record["created"] <= emu.clock.now()


def test_assignment_names_are_deterministic() -> None:
    world = load_world()
    first = build_app(world, None, "https://127.0.0.1:9")[1]
    second = build_app(world, None, "https://127.0.0.1:9")[1]
    names = [a["name"] for a in first.store.section("authorization")["assignments"]]
    assert names == [a["name"] for a in second.store.section("authorization")["assignments"]]
    assert len(set(names)) == len(names)
    other = build_app(dataclasses.replace(world, seed=99), None, "https://127.0.0.1:9")[1]
    assert names[0] != other.store.section("authorization")["assignments"][0]["name"]


def test_unknown_role_name_fails_at_start() -> None:
    world = load_world()
    bad = dataclasses.replace(world.role_assignments[2], role="Cognitive Services Wizard")
    assignments = (*world.role_assignments[:2], bad, *world.role_assignments[3:])
    with pytest.raises(WorldError, match=r"^role_assignments\[2\]\.role: .*Wizard"):
        build_app(
            dataclasses.replace(world, role_assignments=assignments), None, "https://127.0.0.1:9"
        )


def test_sdk_lists_assignments_at_the_account_scope(shared_emulator: EmulatorHandle) -> None:
    scope = _account_scope(shared_emulator)
    with authz(shared_emulator) as client:
        found = list(client.role_assignments.list_for_scope(scope, filter="atScope()"))
    sub = _sub(shared_emulator)
    rotator = shared_emulator.principal("keyops-rotator")["object_id"]
    consumer = shared_emulator.principal("app-consumer")["object_id"]
    pairs = {(a.principal_id, a.role_definition_id.rsplit("/", 1)[1], a.scope) for a in found}
    assert (rotator, CS_CONTRIBUTOR, sub) in pairs
    assert (consumer, "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd", scope) in pairs
    assert all(scope.lower().startswith(a.scope.lower()) for a in found)
    assert len(found) == 7  # five at the subscription, one on rg-ai-prod, one on the account
    one = next(a for a in found if a.principal_id == rotator)
    assert one.role_definition_id.startswith(f"{sub}{PROVIDER}/roleDefinitions/")
    assert one.principal_type == "ServicePrincipal"
    assert one.type == "Microsoft.Authorization/roleAssignments"


def test_filters(shared_emulator: EmulatorHandle) -> None:
    sub = _sub(shared_emulator)
    rotator = shared_emulator.principal("keyops-rotator")["object_id"]
    with authz(shared_emulator) as client:
        everything = list(client.role_assignments.list_for_scope(sub))
        at_sub = list(client.role_assignments.list_for_scope(sub, filter="atScope()"))
        mine = list(
            client.role_assignments.list_for_scope(sub, filter=f"principalId eq '{rotator}'")
        )
        assigned = list(
            client.role_assignments.list_for_scope(
                sub, filter=f"atScope() and assignedTo('{rotator}')"
            )
        )
        for_sub = list(client.role_assignments.list_for_subscription())
    assert len(everything) == len(shared_emulator.server.emulator.world.role_assignments)
    assert {a.scope for a in at_sub} == {sub}
    assert len(mine) == 3 and {a.principal_id for a in mine} == {rotator}
    assert len(assigned) == 2 and {a.scope for a in assigned} == {sub}
    assert len(for_sub) == len(everything)


def test_get_assignment_by_scope_and_by_id(shared_emulator: EmulatorHandle) -> None:
    sub = _sub(shared_emulator)
    with authz(shared_emulator) as client:
        first = next(iter(client.role_assignments.list_for_scope(sub, filter="atScope()")))
        by_name = client.role_assignments.get(sub, first.name)
        by_id = client.role_assignments.get_by_id(first.id)
        with pytest.raises(ResourceNotFoundError) as info:
            client.role_assignments.get(sub, "00000000-0000-0000-0000-000000000000")
    assert by_name.id == by_id.id == first.id
    assert error_code(info.value) == "RoleAssignmentNotFound"


def test_role_definitions(shared_emulator: EmulatorHandle) -> None:
    sub = _sub(shared_emulator)
    with authz(shared_emulator) as client:
        roles = list(client.role_definitions.list(sub))
        readers = list(client.role_definitions.list(sub, filter="roleName eq 'Reader'"))
        reader = client.role_definitions.get(sub, READER)
        same = client.role_definitions.get_by_id(f"{sub}{PROVIDER}/roleDefinitions/{READER}")
        with pytest.raises(ResourceNotFoundError) as info:
            client.role_definitions.get(sub, "00000000-0000-0000-0000-000000000000")
    assert len(roles) == 10
    assert [r.role_name for r in readers] == ["Reader"]
    assert reader.id == f"{sub}{PROVIDER}/roleDefinitions/{READER}" == same.id
    assert reader.role_type == "BuiltInRole"
    assert reader.permissions[0].actions == ["*/read"]
    assert error_code(info.value) == "RoleDefinitionDoesNotExist"


def test_reading_assignments_needs_the_permission(shared_emulator: EmulatorHandle) -> None:
    sub = _sub(shared_emulator)
    with authz(shared_emulator, "app-consumer") as client:
        with pytest.raises(HttpResponseError) as info:
            list(client.role_assignments.list_for_scope(sub))
        # Cognitive Services OpenAI User grants roleAssignments/read on its one account.
        mine = list(
            client.role_assignments.list_for_scope(
                _account_scope(shared_emulator), filter="atScope()"
            )
        )
    assert info.value.status_code == 403
    assert error_code(info.value) == "AuthorizationFailed"
    assert "'Microsoft.Authorization/roleAssignments/read'" in error_message(info.value)
    assert mine


def test_reading_definitions_needs_the_permission_below_the_root(
    shared_emulator: EmulatorHandle,
) -> None:
    with authz(shared_emulator, "app-consumer") as client:
        with pytest.raises(HttpResponseError) as info:
            list(client.role_definitions.list(_sub(shared_emulator)))
        at_account = list(client.role_definitions.list(_account_scope(shared_emulator)))
    assert info.value.status_code == 403
    assert "'Microsoft.Authorization/roleDefinitions/read'" in error_message(info.value)
    assert len(at_account) == 10


def test_wire_errors(shared_emulator: EmulatorHandle) -> None:
    token = arm_token(shared_emulator)
    path = f"{_sub(shared_emulator)}{PROVIDER}/roleAssignments"
    assert arm_call(shared_emulator, "GET", path, version="2022-04-01", token=token).ok
    r = arm_call(
        shared_emulator, "GET", path + "?$filter=roleName eq 'x'", version="2022-04-01", token=token
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "UnsupportedQuery"
    r = arm_call(shared_emulator, "GET", path, version="2021-01-01", token=token)
    assert r.status_code == 400 and r.json()["error"]["code"] == "NoRegisteredProviderFound"
    # Role definitions are readable by any signed-in principal, even at the root.
    r = arm_call(
        shared_emulator,
        "GET",
        f"{PROVIDER}/roleDefinitions",
        version="2022-04-01",
        token=arm_token(shared_emulator, "ops-reader"),
    )
    assert r.status_code == 200 and len(r.json()["value"]) == 10
    assert r.json()["value"][0]["id"].startswith(f"{PROVIDER}/roleDefinitions/")
    r = arm_call(shared_emulator, "GET", path, version="2022-04-01")
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"


def test_filtered_lists_page(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "arm/settings", {"page_size": 2})
    rotator = emulator.principal("keyops-rotator")["object_id"]
    sub = _sub(emulator)
    seq = emulator.last_seq
    with authz(emulator) as client:
        mine = list(
            client.role_assignments.list_for_scope(sub, filter=f"principalId eq '{rotator}'")
        )
    pages = [e for e in emulator.log_since(seq) if e["operation"] == "RoleAssignments_ListForScope"]
    assert len(mine) == 3 and {a.principal_id for a in mine} == {rotator}
    assert len(pages) == 2
