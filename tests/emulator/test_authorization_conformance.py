"""Conformance with the Microsoft.Authorization 2022-04-01 spec and its examples (both
directions, as for Cognitive Services). The write examples (create/delete) are not served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator.arm_support import (
    AUTHZ,
    SpecWalker,
    arm_call,
    arm_token,
    assert_conforms,
    load_json,
)
from tests.support.emulator import EmulatorHandle
from tests.support.specs import needs

pytestmark = needs(AUTHZ)

ASSIGNMENTS = AUTHZ / "2022-04-01/authorization-RoleAssignmentsCalls.json"
DEFINITIONS = AUTHZ / "2022-04-01/authorization-RoleDefinitionsCalls.json"
PROVIDER = "/providers/Microsoft.Authorization"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

CASES = [
    (
        "2022-04-01/examples/RoleAssignments_ListForScope.json",
        ASSIGNMENTS,
        "RoleAssignments_ListForScope",
        "{sub}" + PROVIDER + "/roleAssignments",
    ),
    (
        "2022-04-01/examples/RoleAssignments_ListForResourceGroup.json",
        ASSIGNMENTS,
        "RoleAssignments_ListForResourceGroup",
        "{sub}/resourceGroups/rg-ai-prod" + PROVIDER + "/roleAssignments",
    ),
    (
        "2022-04-01/examples/RoleAssignments_Get.json",
        ASSIGNMENTS,
        "RoleAssignments_Get",
        "{assignment}",
    ),
    (
        "2022-04-01/examples/GetRoleDefinitionByName.json",
        DEFINITIONS,
        "RoleDefinitions_Get",
        "{sub}" + PROVIDER + "/roleDefinitions/" + READER,
    ),
    (
        "2022-04-01/examples/GetRoleDefinitionById.json",
        DEFINITIONS,
        "RoleDefinitions_GetById",
        "{sub}" + PROVIDER + "/roleDefinitions/" + READER,
    ),
    # The 2022-04-01 folder lacks this list example; the 2018-01-01-preview one has its shape.
    (
        "2018-01-01-preview/examples/GetRoleDefinitionAtScope.json",
        DEFINITIONS,
        "RoleDefinitions_List",
        "{sub}" + PROVIDER + "/roleDefinitions",
    ),
]


@pytest.fixture(scope="module")
def rotator_token(shared_emulator: EmulatorHandle) -> str:
    return arm_token(shared_emulator)


@pytest.mark.parametrize(
    ("example", "spec", "operation_id", "path"), CASES, ids=[Path(c[0]).name for c in CASES]
)
def test_authorization_examples(
    shared_emulator: EmulatorHandle,
    rotator_token: str,
    example: str,
    spec: Path,
    operation_id: str,
    path: str,
) -> None:
    example_file = AUTHZ / example
    version = load_json(example_file)["parameters"]["api-version"]
    token = rotator_token
    sub = f"/subscriptions/{shared_emulator.conn['subscription_id']}"
    listed = arm_call(
        shared_emulator,
        "GET",
        sub + PROVIDER + "/roleAssignments?$filter=atScope()",
        version="2022-04-01",
        token=token,
    ).json()["value"]
    url = path.format(sub=sub, assignment=listed[0]["id"])
    response = arm_call(shared_emulator, "GET", url, version=version, token=token)
    assert_conforms(SpecWalker(spec), operation_id, example_file, response)
