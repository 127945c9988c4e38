"""The default world plus a Log Analytics workspace, diagnostic settings and declared consumers.

Five consumers of ``contoso-aiservices-weu`` (whose key ``kv-keyops-prod`` holds): an app that
reads the secret daily and calls by key; a weekly report that only reads; a front end that calls
by token; an app that started reading four minutes ago (inside Key Vault's ingestion delay); and
an app with Key2 pasted by hand. The other accounts each lack evidence in their own way.
"""

from __future__ import annotations

from typing import Any

import tomllib

from keyops.emulator.world import default_world_text

SUB = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
RG = f"/subscriptions/{SUB}/resourceGroups"
KV = f"{RG}/rg-keyops/providers/Microsoft.KeyVault/vaults/kv-keyops-prod"
WEU = "contoso-aiservices-weu"
SECRET = f"kv-keyops-prod/{WEU}-api-key"

#: name: (client id, object id)
PRINCIPALS = {
    "billing-api": (
        "1b7e6a52-3c1f-4d0e-9a8b-2f4c6d8e0a11",
        "2c8f7b63-4d2a-4e1f-8b9c-3a5d7e9f1b22",
    ),
    "weekly-report": (
        "3d9a8c74-5e3b-4f2a-9cad-4b6e8fa02c33",
        "4eab9d85-6f4c-4a3b-8dbe-5c7f9a0b3d44",
    ),
    "chat-frontend": (
        "5fbcae96-7a5d-4b4c-9ecf-6d8a0b1c4e55",
        "6acdbfa7-8b6e-4c5d-8fd0-7e9b1c2d5f66",
    ),
    "late-app": (
        "7bdec0b8-9c7f-4d6e-9ae1-8fac2d3e6a77",
        "8cefd1c9-ad80-4e7f-8bf2-9abd3e4f7b88",
    ),
}

CONSUMERS: list[dict[str, Any]] = [
    {
        "name": "billing-api",
        "principal": "billing-api",
        "ip": "10.20.0.4",
        "account": WEU,
        "auth": "key",
        "secret": SECRET,
        "refresh": "24h",
        "calls_every": "30m",
        "start": "-3d",
    },
    {
        "name": "weekly-report",
        "principal": "weekly-report",
        "ip": "10.21.0.5",
        "secret": SECRET,
        "refresh": "7d",
        "start": "-6d",
    },
    {
        "name": "chat-frontend",
        "principal": "chat-frontend",
        "ip": "10.30.0.7",
        "account": WEU,
        "auth": "token",
        "calls_every": "1h",
        "start": "-2d",
    },
    {
        "name": "late-app",
        "principal": "late-app",
        "ip": "10.40.0.9",
        "secret": SECRET,
        "refresh": "24h",
        "start": "-4m",
    },
    {
        "name": "hand-pasted",
        "ip": "10.50.0.2",
        "account": WEU,
        "auth": "key",
        "key_slot": "Key2",
        "calls_every": "1h",
        "start": "-1d",
    },
]


def _account_id(name: str, group: str = "rg-ai-prod") -> str:
    return f"{RG}/{group}/providers/Microsoft.CognitiveServices/accounts/{name}"


def consumers_document(vault_table: str = "Dedicated", ingestion_delay: str = "2m") -> Any:
    """The world document (a dict, to vary before parsing)."""
    text = default_world_text()
    doc = tomllib.loads(text)
    doc["settings"]["ingestion_delay"] = ingestion_delay
    for name, (client, oid) in PRINCIPALS.items():
        doc["principals"].append({"name": name, "client_id": client, "object_id": oid})
        doc["role_assignments"].append(
            {"principal": name, "role": "Key Vault Secrets User", "scope": KV}
        )
    doc["role_assignments"].append(
        {"principal": "keyops-rotator", "role": "Reader", "scope": f"/subscriptions/{SUB}"}
    )
    # chat-frontend signs in too: it may list accounts and call them, not read their settings.
    front = next(p for p in doc["principals"] if p["name"] == "chat-frontend")
    front["secret"] = "chat-frontend-emulator-secret-41d7"
    doc["role_assignments"].append(
        {
            "principal": "chat-frontend",
            "role": "Cognitive Services OpenAI User",
            "scope": f"/subscriptions/{SUB}",
        }
    )
    doc["workspaces"] = [
        {"name": "ops-logs", "resource_group": "rg-keyops", "retention_days": 30},
        {"name": "sec-logs", "resource_group": "rg-keyops", "readers": ["ops-reader"]},
    ]
    doc["diagnostic_settings"] = [
        {
            "resource": "vault:kv-keyops-prod",
            "categories": ["AuditEvent"],
            "workspace": "ops-logs",
            "destination_type": vault_table,
        },
        {"resource": f"account:{WEU}", "categories": ["allLogs"], "workspace": "ops-logs"},
        # Only the Audit category: RequestResponse is not enabled.
        {
            "resource": "account:contoso-openai-eus",
            "categories": ["Audit"],
            "workspace": "ops-logs",
        },
        # Archived to storage only.
        {
            "resource": "account:contoso-openai-legacy",
            "categories": ["RequestResponse"],
            "storage_account": f"{RG}/rg-keyops/providers/Microsoft.Storage/storageAccounts/logs",
        },
        # A workspace keyops may not read.
        {
            "resource": "account:contoso-openai-entra",
            "categories": ["allLogs"],
            "workspace": "sec-logs",
        },
    ]
    doc["consumers"] = [dict(c) for c in CONSUMERS]
    return doc


def consumers_world(vault_table: str = "Dedicated", ingestion_delay: str = "2m") -> Any:
    """The parsed world."""
    from keyops.emulator.world import parse_world

    return parse_world(consumers_document(vault_table, ingestion_delay), "<consumers world>")


WEU_ID = _account_id(WEU, "rg-ai-shared")
