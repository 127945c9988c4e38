"""Our Key Vault answers against the official spec examples and the spec's definitions.

For each example response: every field it shows is in ours with the same JSON type; and every
field we send is one the spec defines for that operation (walking ``$ref``s from the response
schema). Examples come from the newest api-version folder that has them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulator.keyvault_support import kv_call, own_emulator
from tests.support.emulator import EmulatorHandle
from tests.support.specs import SPECS as AZURE_SPECS
from tests.support.specs import needs

SPECS = AZURE_SPECS / "keyvault-secrets"
SPEC = SPECS / "2025-07-01" / "secrets.json"
EXAMPLE_FOLDERS = ("2025-07-01", "7.6", "7.5")

pytestmark = needs(SPEC)


@cache
def spec() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SPEC.read_text())
    return doc


def response_schema(operation_id: str, status: str) -> dict[str, Any] | None:
    for ops in spec()["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                schema: dict[str, Any] | None = op["responses"][status].get("schema")
                return schema
    raise KeyError(operation_id)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec()["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example(operation_id: str) -> dict[str, Any]:
    for folder in EXAMPLE_FOLDERS:
        path = SPECS / folder / "examples" / f"{operation_id}-example.json"
        if path.exists():
            doc: dict[str, Any] = json.loads(path.read_text())
            return doc
    raise FileNotFoundError(operation_id)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", dict: "object", list: "array", type(None): "null"}[
        type(value)
    ]


def assert_has_example_fields(ours: Any, theirs: Any, where: str = "$") -> None:
    """Every field of the example is in ours, with the same JSON type (recursively)."""
    assert json_type(ours) == json_type(theirs), f"{where}: {json_type(ours)} vs {theirs!r}"
    if isinstance(theirs, dict):
        for key, value in theirs.items():
            assert key in ours, f"{where}.{key} missing"
            assert_has_example_fields(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list) and theirs:
        assert ours, f"{where}: empty list, the example has items"
        assert_has_example_fields(ours[0], theirs[0], f"{where}[0]")


def assert_within_schema(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """Every field we send is defined by the spec, with the declared type."""
    schema = resolve(schema)
    if value is None:
        # Key Vault writes "nextLink": null on a list's last page.
        assert where.endswith(".nextLink"), f"{where}: null"
        return
    declared = schema.get("type", "object")
    assert json_type(value) == declared, f"{where}: {json_type(value)} is not {declared}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in enum"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                assert_within_schema(item, props[key], f"{where}.{key}")
            else:
                assert isinstance(extra, dict), f"{where}.{key} is not in the spec"
                assert_within_schema(item, extra, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_within_schema(item, schema["items"], f"{where}[{i}]")


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """One emulator for the module; every test works on secrets of its own."""
    with own_emulator(tmp_path_factory.mktemp("kv-conformance"), tls_dir) as handle:
        # Sorted first in GetSecrets, with a content type as the example's item has.
        kv_call(
            handle,
            "PUT",
            "/secrets/a-conformance-first",
            body={"value": "v", "contentType": "plainText"},
        )
        yield handle


def made(kv: EmulatorHandle, name: str, times: int = 1) -> str:
    """Set ``name`` ``times`` times; the latest version."""
    version = ""
    for i in range(times):
        r = kv_call(kv, "PUT", f"/secrets/{name}", body={"value": f"value-{i}"})
        version = r.json()["id"].rsplit("/", 1)[1]
    return version


def deleted(kv: EmulatorHandle, name: str) -> str:
    """Set then delete ``name``; the name."""
    made(kv, name)
    assert kv_call(kv, "DELETE", f"/secrets/{name}").status_code == 200
    return name


def call(kv: EmulatorHandle, operation_id: str, params: dict[str, Any]) -> requests.Response:
    """Perform ``operation_id`` as its example does, on state made for it."""
    name = f"conf-{operation_id.lower()}"
    body = params.get("parameters")
    maxresults = {"maxresults": params["maxresults"]} if "maxresults" in params else None
    actions: dict[str, Callable[[], requests.Response]] = {
        "SetSecret": lambda: kv_call(kv, "PUT", f"/secrets/{name}", body=body),
        "GetSecret": lambda: kv_call(kv, "GET", f"/secrets/{name}/{made(kv, name)}"),
        "GetSecrets": lambda: kv_call(kv, "GET", "/secrets", params=maxresults),
        "GetSecretVersions": lambda: (
            made(kv, name, 3),
            kv_call(kv, "GET", f"/secrets/{name}/versions", params=maxresults),
        )[1],
        "UpdateSecret": lambda: kv_call(
            kv, "PATCH", f"/secrets/{name}/{made(kv, name)}", body=body
        ),
        "DeleteSecret": lambda: (made(kv, name), kv_call(kv, "DELETE", f"/secrets/{name}"))[1],
        "GetDeletedSecret": lambda: kv_call(kv, "GET", f"/deletedsecrets/{deleted(kv, name)}"),
        "RecoverDeletedSecret": lambda: kv_call(
            kv, "POST", f"/deletedsecrets/{deleted(kv, name)}/recover"
        ),
        "PurgeDeletedSecret": lambda: kv_call(kv, "DELETE", f"/deletedsecrets/{deleted(kv, name)}"),
    }
    return actions[operation_id]()


@pytest.mark.parametrize(
    "operation_id",
    [
        "SetSecret",
        "GetSecret",
        "GetSecrets",
        "GetSecretVersions",
        "UpdateSecret",
        "DeleteSecret",
        "GetDeletedSecret",
        "RecoverDeletedSecret",
        "PurgeDeletedSecret",
    ],
)
def test_answer_matches_example_and_spec(kv: EmulatorHandle, operation_id: str) -> None:
    doc = example(operation_id)
    ((status, expected),) = doc["responses"].items()
    r = call(kv, operation_id, doc["parameters"])
    assert r.status_code == int(status), r.text
    schema = response_schema(operation_id, status)
    if schema is None:
        assert r.content == b""
        return
    ours = r.json()
    assert_has_example_fields(ours, expected["body"])
    assert_within_schema(ours, schema)


def test_deleted_secrets_list_is_within_spec(kv: EmulatorHandle) -> None:
    deleted(kv, "conf-listed-deleted")
    page = kv_call(kv, "GET", "/deletedsecrets").json()
    assert any(item["id"].endswith("/secrets/conf-listed-deleted") for item in page["value"])
    schema = response_schema("GetDeletedSecrets", "200")
    assert schema is not None
    assert_within_schema(page, schema)


def test_errors_use_the_key_vault_error_shape(kv: EmulatorHandle) -> None:
    schema = response_schema("GetSecret", "default")
    assert schema is not None
    for r in (
        kv_call(kv, "GET", "/secrets/absent/"),
        kv_call(kv, "GET", "/secrets", auth=None),
        kv_call(kv, "PUT", "/secrets/bad_name", body={"value": "v"}),
    ):
        assert r.status_code >= 400
        assert_within_schema(r.json(), schema)
