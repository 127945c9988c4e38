"""Role assignments at management groups: Azure's ``atScope()`` lists them at every resource of
a subscription under the group, and they grant there. ``keyops audit`` names a principal who
reaches the keys from a management group (AUD012), and not one whose group holds another
subscription; the emulator grants and lists by the same hierarchy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from azure.core.exceptions import HttpResponseError

from keyops.azure.authorization import AuthorizationClient
from keyops.cloud import resolve_environment
from keyops.emulator.world import WorldError, default_world_text, parse_world
from keyops.exitcodes import ExitStatus
from tests.smoke.clihelp import run
from tests.support.emulator import EmulatorHandle, start_emulator

OTHER_SUBSCRIPTION = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
PLATFORM_OWNER = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"  # Contributor at the root group
OTHER_ADMIN = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"  # Contributor at a sibling group
TENANT_OWNER = "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b"  # Contributor at the tenant root group
GROUPS = "/providers/Microsoft.Management/managementGroups/"
_EXTRA = """
[[principals]]
name = "platform-owner"
client_id = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
object_id = "PLATFORM_OWNER"
secret = "platform-owner-emulator-secret-31f9"

[[principals]]
name = "other-admin"
client_id = "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e"
object_id = "OTHER_ADMIN"
secret = "other-admin-emulator-secret-a4c2"

[[principals]]
name = "tenant-owner"
client_id = "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
object_id = "TENANT_OWNER"
secret = "tenant-owner-emulator-secret-5d07"

[[role_assignments]]
principal = "tenant-owner"
role = "Cognitive Services Contributor"
scope = "/providers/Microsoft.Management/managementGroups/TENANT_ID"

[[role_assignments]]
principal = "platform-owner"
role = "Cognitive Services Contributor"
scope = "/providers/Microsoft.Management/managementGroups/contoso-root"

[[role_assignments]]
principal = "other-admin"
role = "Cognitive Services Contributor"
scope = "/providers/Microsoft.Management/managementGroups/Contoso-Sandbox"
"""


def _document() -> dict[str, Any]:
    """The default world under a hierarchy: the tenant root group (named by the tenant id) >
    contoso-root > ai-production (the default subscription) and contoso-root >
    contoso-sandbox (another subscription)."""
    text = default_world_text()
    tenant = tomllib.loads(text)["tenant_id"]
    extra = _EXTRA
    for name, value in [
        ("PLATFORM_OWNER", PLATFORM_OWNER),
        ("OTHER_ADMIN", OTHER_ADMIN),
        ("TENANT_OWNER", TENANT_OWNER),
        ("TENANT_ID", tenant),
    ]:
        extra = extra.replace(name, value)
    doc = tomllib.loads(text + extra)
    production = doc["subscriptions"][0]["id"]
    doc["subscriptions"].append({"id": OTHER_SUBSCRIPTION, "name": "Sandbox"})
    doc["management_groups"] = [
        {"name": "contoso-root"},
        {"name": "ai-production", "parent": "contoso-root", "subscriptions": [production]},
        {
            "name": "contoso-sandbox",
            "parent": "contoso-root",
            "subscriptions": [OTHER_SUBSCRIPTION],
        },
    ]
    return doc


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    world = parse_world(_document(), "<default world under management groups>")
    handle = start_emulator(tmp_path_factory.mktemp("groups"), tls_dir, world=world)
    yield handle
    handle.stop()


def test_the_audit_names_who_reaches_the_keys_from_a_management_group(
    groups: EmulatorHandle,
) -> None:
    r = run(groups, ["audit", "--vault-url", groups.vault_url(), "-o", "json"])
    assert r.exit_code == ExitStatus.OK, r.stderr
    report = json.loads(r.stdout)
    broad = {f["account"]: f["message"] for f in report["findings"] if f["rule_id"] == "AUD012"}
    assert len(broad) == len(report["accounts"]) == 4
    for message in broad.values():
        assert PLATFORM_OWNER in message and TENANT_OWNER in message
        assert OTHER_ADMIN not in message


def test_a_management_group_assignment_is_listed_as_azure_lists_it(groups: EmulatorHandle) -> None:
    env = resolve_environment(str(groups.connection_path), None)
    client = AuthorizationClient(env, groups.credential(), groups.conn["subscription_id"])
    try:
        found = client.list_role_assignments(str(groups.account("contoso-openai-eus")["id"]))
    finally:
        client.close()
    inherited = {a.principal_id: a for a in found if a.scope.startswith(GROUPS)}
    tenant = groups.conn["tenant_id"]
    assert {p: a.scope for p, a in inherited.items()} == {
        PLATFORM_OWNER: GROUPS + "contoso-root",
        TENANT_OWNER: GROUPS + tenant,
    }
    # Listed in a subscription, as ARM does: the role definition's id names the subscription.
    sub = groups.conn["subscription_id"]
    for a in inherited.values():
        assert a.role_definition_id.startswith(f"/subscriptions/{sub}/providers/Microsoft.Auth")
    assert OTHER_ADMIN not in {a.principal_id for a in found}


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [("platform-owner", True), ("tenant-owner", True), ("other-admin", False)],
)
def test_a_management_group_grants_below_it_and_nowhere_else(
    groups: EmulatorHandle, principal: str, allowed: bool
) -> None:
    account = groups.account("contoso-openai-eus")
    client = groups.mgmt_client(principal)
    try:
        if allowed:
            keys = client.accounts.list_keys(account["resource_group"], account["name"])
            assert keys.key1 and keys.key2
        else:
            with pytest.raises(HttpResponseError) as refused:
                client.accounts.list_keys(account["resource_group"], account["name"])
            assert refused.value.status_code == 403
    finally:
        client.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["management_groups"][1].update(parent="nowhere"),
            "management_groups[1].parent: no management group 'nowhere'",
        ),
        (
            lambda d: d["management_groups"][0].update(parent="ai-production"),
            "management_groups[0].parent: 'contoso-root' is its own ancestor",
        ),
        (
            lambda d: d["management_groups"][2]["subscriptions"].append(
                d["subscriptions"][0]["id"]
            ),
            "management_groups[2].subscriptions: subscription .* is already in 'ai-production'",
        ),
        (
            lambda d: d["management_groups"][0].update(
                subscriptions=["00000000-0000-0000-0000-000000000009"]
            ),
            "management_groups[0].subscriptions: unknown subscription",
        ),
        (
            lambda d: d["management_groups"].append({"name": "AI-Production"}),
            "management_groups[3].name: a management group 'AI-Production' is declared already",
        ),
        (
            lambda d: d["management_groups"].append({"name": "ai/production"}),
            "management_groups[3].name: 'ai/production' is not a management group name",
        ),
        (
            lambda d: d["management_groups"].append({"name": d["tenant_id"]}),
            "management_groups[3].name: .* is the tenant root group",
        ),
        (
            lambda d: d["role_assignments"][-1].update(scope=GROUPS + "contoso-sandbox2"),
            "role_assignments[%d].scope: no management group 'contoso-sandbox2'",
        ),
        (
            lambda d: d["role_assignments"][-1].update(scope=GROUPS + "contoso-root/x"),
            "role_assignments[%d].scope: .* is not a management group's scope",
        ),
    ],
)
def test_a_world_with_a_bad_hierarchy_is_refused_by_name(change: Any, message: str) -> None:
    doc = _document()
    change(doc)
    if "%d" in message:  # the last assignment, changed
        message = message % (len(doc["role_assignments"]) - 1)
    with pytest.raises(WorldError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_world(doc)
