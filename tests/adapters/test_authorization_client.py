"""keyops.azure.authorization: the adapter over azure-mgmt-authorization against the emulator, and
the small parsers it relies on (role definition keys, the token's object id)."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from keyops.azure.authorization import (
    AuthorizationClient,
    Permission,
    RoleAssignment,
    RoleDefinition,
    role_definition_key,
    token_object_id,
)
from keyops.azure.pacing import RetryAfterGate
from keyops.cloud import resolve_environment
from tests.support.emulator import EmulatorHandle

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
DEFINITIONS = "/providers/Microsoft.Authorization/roleDefinitions"


@pytest.fixture
def authorization(shared_emulator: EmulatorHandle) -> Iterator[AuthorizationClient]:
    env = resolve_environment(str(shared_emulator.connection_path), None)
    sub = shared_emulator.conn["subscription_id"]
    client = AuthorizationClient(env, shared_emulator.credential(), sub)
    yield client
    client.close()


def test_assignments_carry_the_principal_type_azure_sent(
    authorization: AuthorizationClient, shared_emulator: EmulatorHandle
) -> None:
    scope = str(shared_emulator.account("contoso-openai-eus")["id"])
    found = authorization.list_role_assignments(scope)
    assert len(found) == 7
    # Every seeded principal is an app registration's service principal.
    assert {a.principal_type for a in found} == {"ServicePrincipal"}


def test_a_role_definition_keeps_its_name_and_type(
    authorization: AuthorizationClient, shared_emulator: EmulatorHandle
) -> None:
    sub = shared_emulator.conn["subscription_id"]
    reader = authorization.get_role_definition(f"/subscriptions/{sub}{DEFINITIONS}/{READER}")
    assert (reader.role_name, reader.role_type) == ("Reader", "BuiltInRole")
    assert reader.grants("Microsoft.CognitiveServices/accounts/read")
    assert not reader.grants("Microsoft.CognitiveServices/accounts/listKeys/action")  # */read only


@pytest.mark.parametrize(
    "definition_id",
    [
        f"/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590{DEFINITIONS}/{READER.upper()}",
        f"{DEFINITIONS}/{READER}/",
        READER.upper(),
    ],
)
def test_a_role_definition_key_is_its_guid_whatever_the_prefix(definition_id: str) -> None:
    assert role_definition_key(definition_id) == READER


def _token(claims: Any) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.signature"


@pytest.mark.parametrize("length", range(1, 9))
def test_the_object_id_is_read_whatever_the_payload_padding(length: int) -> None:
    """JWT segments drop base64 padding: payloads of every length modulo 4 decode."""
    oid = "ABCDEF12"[:length]
    assert token_object_id(_token({"oid": oid})) == oid.lower()


@pytest.mark.parametrize("token", ["no-dots", _token(["oid"]), _token({"sub": "x"}), "a.%%%.b"])
def test_a_token_without_an_object_id_gives_none(token: str) -> None:
    assert token_object_id(token) is None


def test_the_data_flag_and_client_settings_are_named_not_positional() -> None:
    """``grants(action, True)`` would read as granting; the flag must be spelled ``data=``."""
    block = Permission(data_actions=("*",))
    role = RoleDefinition("id", "name", "CustomRole", (block,))
    with pytest.raises(TypeError):
        block.grants("x", True)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        role.grants("x", True)  # type: ignore[call-arg]
    assert block.grants("x", data=True) and role.grants("x", data=True)
    env = resolve_environment(None, None)
    with pytest.raises(TypeError):
        AuthorizationClient(env, object(), "sub", RetryAfterGate())  # type: ignore[arg-type,call-arg]


def test_the_values_are_immutable_and_hashable() -> None:
    """Role definitions are cached per client and shared by parallel workers."""
    block = Permission(actions=("*/read",))
    values: list[Any] = [
        block,
        RoleDefinition("id", "Reader", "BuiltInRole", (block,)),
        RoleAssignment("id", "/", "oid", "User", "def"),
    ]
    for value in values:
        assert hash(value) == hash(dataclasses.replace(value))
        first = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, first, ())
