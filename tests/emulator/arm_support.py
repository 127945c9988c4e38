"""Helpers for the ARM and Authorization tests: real SDK clients (closed before the emulator
stops), bearer tokens, raw wire calls, and a spec walker for conformance checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import requests
from azure.core.exceptions import HttpResponseError

from tests.support.emulator import EmulatorHandle
from tests.support.specs import SPECS

ARM_SCOPE = "https://management.azure.com/.default"


@contextmanager
def mgmt(handle: EmulatorHandle, principal: str = "keyops-rotator") -> Iterator[Any]:
    """A real CognitiveServicesManagementClient for a principal, closed afterwards."""
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    with (
        handle.credential(principal) as cred,
        CognitiveServicesManagementClient(
            cred,
            handle.conn["subscription_id"],
            base_url=handle.url,
            connection_verify=handle.ca_bundle,
            retry_total=0,
        ) as client,
    ):
        yield client


@contextmanager
def authz(handle: EmulatorHandle, principal: str = "keyops-rotator") -> Iterator[Any]:
    """A real AuthorizationManagementClient for a principal, closed afterwards."""
    from azure.mgmt.authorization import AuthorizationManagementClient

    with (
        handle.credential(principal) as cred,
        AuthorizationManagementClient(
            cred,
            handle.conn["subscription_id"],
            base_url=handle.url,
            connection_verify=handle.ca_bundle,
            retry_total=0,
        ) as client,
    ):
        yield client


def error_code(exc: HttpResponseError) -> str:
    """The ARM error code an SDK exception carries."""
    assert exc.error is not None
    return str(exc.error.code)


def error_message(exc: HttpResponseError) -> str:
    """The ARM error message an SDK exception carries."""
    assert exc.error is not None
    return str(exc.error.message)


def arm_token(handle: EmulatorHandle, principal: str = "keyops-rotator") -> str:
    """An ARM access token obtained the real way (ClientSecretCredential)."""
    with handle.credential(principal) as cred:
        return str(cred.get_token(ARM_SCOPE).token)


def arm_call(
    handle: EmulatorHandle,
    method: str,
    path: str,
    *,
    version: str | None = "2024-10-01",
    token: str | None = None,
    body: Any = None,
    auth: str | None = None,
) -> requests.Response:
    """One raw ARM request (``auth`` overrides the whole Authorization header)."""
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    params = {"api-version": version} if version else {}
    return requests.request(
        method,
        f"{handle.url}{path}",
        params=params,
        json=body,
        headers=headers,
        verify=handle.ca_bundle,
        timeout=10,
    )


CS = SPECS / "cognitiveservices-arm/2024-10-01"
AUTHZ = SPECS / "authorization"
_COMMON = {
    "common-types/resource-management/v2/types.json": SPECS
    / "common-types/resource-management/v2/types.json",
    "common-types/resource-management/v2/privatelinks.json": SPECS
    / "common-types/resource-management/v2/privatelinks.json",
}


@cache
def load_json(path: Path) -> dict[str, Any]:
    """A JSON file of the spec snapshot (cached)."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


class SpecWalker:
    """Resolves ``$ref``s of one spec file (and the common-types it references)."""

    def __init__(self, spec: Path) -> None:
        self.spec = spec

    def _file(self, base: Path, ref_file: str) -> Path:
        for suffix, local in _COMMON.items():
            if ref_file.endswith(suffix):
                return local
        return (base.parent / ref_file).resolve()

    def resolve(self, schema: dict[str, Any], base: Path) -> tuple[dict[str, Any], Path]:
        """Follow ``$ref`` chains; return the schema and the file it lives in."""
        while "$ref" in schema:
            ref_file, _, pointer = schema["$ref"].partition("#")
            if ref_file:
                base = self._file(base, ref_file)
            node: Any = load_json(base)
            for part in pointer.strip("/").split("/"):
                node = node[part]
            schema = node
        return schema, base

    def properties(
        self, schema: dict[str, Any], base: Path
    ) -> dict[str, tuple[dict[str, Any], Path]]:
        """All properties of an object schema, its ``allOf`` parents included."""
        schema, base = self.resolve(schema, base)
        props = {k: (v, base) for k, v in schema.get("properties", {}).items()}
        for parent in schema.get("allOf", []):
            props.update(self.properties(parent, base))
        return props

    def operation_schema(
        self, operation_id: str, status: str = "200"
    ) -> tuple[dict[str, Any], Path]:
        """The response schema of an operation of this spec."""
        spec = load_json(self.spec)
        paths = {**spec.get("paths", {}), **spec.get("x-ms-paths", {})}
        for ops in paths.values():
            for op in ops.values():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return self.resolve(op["responses"][status]["schema"], self.spec)
        raise KeyError(operation_id)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(value)]


_SCALARS = ("string", "integer", "number", "boolean")
_SPEC_TYPES = {
    "integer": "number",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
}


def undefined_fields(
    walker: SpecWalker, value: Any, schema: dict[str, Any], base: Path, path: str = "$"
) -> list[str]:
    """Fields of ``value`` the schema does not define (or defines with another type)."""
    schema, base = walker.resolve(schema, base)
    if value is None:
        return []  # ARM sends null for unset optional fields
    props = walker.properties(schema, base)
    extra = schema.get("additionalProperties")
    declared = schema.get("type") or ("object" if props or extra else None)
    if declared and _SPEC_TYPES[declared] != _json_type(value):
        return [f"{path}: {_json_type(value)} where the spec says {declared}"]
    problems: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in props:
                problems += undefined_fields(
                    walker, item, props[key][0], props[key][1], f"{path}.{key}"
                )
            elif isinstance(extra, dict):
                problems += undefined_fields(walker, item, extra, base, f"{path}.{key}")
            else:
                problems.append(f"{path}.{key}: not defined by the spec")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += undefined_fields(walker, item, schema["items"], base, f"{path}[{i}]")
    return problems


def missing_fields(
    walker: SpecWalker, example: Any, ours: Any, schema: dict[str, Any], base: Path, path: str = "$"
) -> list[str]:
    """Example fields absent from ours or of another JSON type (maps' keys are data, skipped)."""
    schema, base = walker.resolve(schema, base)
    if _json_type(example) != _json_type(ours):
        return [f"{path}: {_json_type(ours)} where the example has {_json_type(example)}"]
    problems: list[str] = []
    if isinstance(example, dict):
        props = walker.properties(schema, base)
        if not props and isinstance(schema.get("additionalProperties"), dict):
            return []
        for key, item in example.items():
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            elif key in props:
                problems += missing_fields(
                    walker, item, ours[key], props[key][0], props[key][1], f"{path}.{key}"
                )
    elif isinstance(example, list) and example and "items" in schema:
        if not ours:
            # An empty list of strings (dataActions: []) is data; a list of objects must
            # hold one to compare.
            items, _ = walker.resolve(schema["items"], base)
            return (
                []
                if items.get("type") in _SCALARS
                else [f"{path}: empty where the example has items"]
            )
        problems += missing_fields(walker, example[0], ours[0], schema["items"], base, f"{path}[0]")
    return problems


#: Fields real Azure answers carry (public recordings of real traffic) that the spec snapshots
#: in azure-specs/ predate, by the path where they appear (list indices dropped).
NEWER_THAN_SNAPSHOT = {
    # Microsoft.CognitiveServices 2025-04-01-preview and later (AI Services accounts)
    "$.properties.allowProjectManagement",
    "$.value.properties.allowProjectManagement",
    # Microsoft.Authorization role definitions, 2022-05-01-preview and later
    *(
        f"{prefix}.properties.{f}"
        for prefix in ("$", "$.value")
        for f in ("createdOn", "updatedOn", "createdBy", "updatedBy")
    ),
}


def _newer(problem: str) -> bool:
    path, _, why = problem.partition(": ")
    return why == "not defined by the spec" and re.sub(r"\[\d+\]", "", path) in NEWER_THAN_SNAPSHOT


def assert_conforms(
    walker: SpecWalker, operation_id: str, example_file: Path, response: requests.Response
) -> None:
    """Both directions of the check, for one example and our answer to the same request."""
    assert response.status_code == 200, response.text
    ours = response.json()
    example = load_json(example_file)["responses"]["200"]["body"]
    schema, base = walker.operation_schema(operation_id)
    missing = missing_fields(walker, example, ours, schema, base)
    assert not missing, missing
    undefined = [p for p in undefined_fields(walker, ours, schema, base) if not _newer(p)]
    assert not undefined, undefined
