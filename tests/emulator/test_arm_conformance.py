"""Conformance with the official Cognitive Services spec: for each example response, every field
is present in ours with the same JSON type, and every field we emit is defined by the spec
(walking $refs within the spec file and into common-types)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.arm_support import (
    CS,
    SpecWalker,
    arm_call,
    arm_token,
    assert_conforms,
    load_json,
    missing_fields,
    undefined_fields,
)
from tests.support.emulator import EmulatorHandle
from tests.support.specs import needs

pytestmark = needs(CS)


CASES = [
    ("GetAccount.json", "Accounts_Get", "GET", "{account}", None),
    (
        "ListAccountsBySubscription.json",
        "Accounts_List",
        "GET",
        "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/accounts",
        None,
    ),
    (
        "ListAccountsByResourceGroup.json",
        "Accounts_ListByResourceGroup",
        "GET",
        "/subscriptions/{sub}/resourceGroups/rg-ai-prod/providers/Microsoft.CognitiveServices/"
        "accounts",
        None,
    ),
    ("ListKeys.json", "Accounts_ListKeys", "POST", "{account}/listKeys", None),
    (
        "RegenerateKey.json",
        "Accounts_RegenerateKey",
        "POST",
        "{account}/regenerateKey",
        {"keyName": "Key2"},
    ),
    ("ListDeployments.json", "Deployments_List", "GET", "{account}/deployments", None),
    ("GetDeployment.json", "Deployments_Get", "GET", "{account}/deployments/gpt-4o-mini", None),
]


@pytest.fixture(scope="module")
def rotator_token(shared_emulator: EmulatorHandle) -> str:
    return arm_token(shared_emulator)


@pytest.mark.parametrize(
    ("example", "operation_id", "method", "path", "body"), CASES, ids=[c[0] for c in CASES]
)
def test_cognitiveservices_examples(
    request: pytest.FixtureRequest,
    shared_emulator: EmulatorHandle,
    rotator_token: str,
    example: str,
    operation_id: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    # Regenerating a key changes state: that case gets an emulator of its own.
    handle = request.getfixturevalue("emulator") if body else shared_emulator
    token = arm_token(handle) if body else rotator_token
    example_file = CS / "examples" / example
    version = load_json(example_file)["parameters"]["api-version"]
    url = path.format(
        account=handle.account("contoso-openai-eus")["id"], sub=handle.conn["subscription_id"]
    )
    response = arm_call(handle, method, url, version=version, token=token, body=body)
    assert_conforms(SpecWalker(CS / "cognitiveservices.json"), operation_id, example_file, response)


def test_the_checker_catches_differences() -> None:
    walker = SpecWalker(CS / "cognitiveservices.json")
    schema, base = walker.operation_schema("Accounts_Get")
    example = load_json(CS / "examples/GetAccount.json")["responses"]["200"]["body"]
    broken = dict(example, sku="F0", bogus=1)
    del broken["etag"]
    assert sorted(missing_fields(walker, example, broken, schema, base)) == [
        "$.etag: missing",
        "$.sku: string where the example has object",
    ]
    assert sorted(undefined_fields(walker, broken, schema, base)) == [
        "$.bogus: not defined by the spec",
        "$.sku: string where the spec says object",
    ]
