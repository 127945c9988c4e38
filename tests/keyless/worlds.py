"""A world for keyless plans: every account sends its logs to a workspace, and each has the
callers one verdict is about. ``contoso-openai-eus``: only a token caller that holds the
inference role (ready). ``contoso-aiservices-weu``: a key caller that calls once a week, last
five days ago. ``contoso-openai-legacy``: a key caller whose only call is inside the ingestion
delay. ``contoso-openai-entra``: keyless already."""

from __future__ import annotations

from typing import Any

from tests.consumers.worlds import RG, consumers_document

EUS, WEU, LEGACY = "contoso-openai-eus", "contoso-aiservices-weu", "contoso-openai-legacy"
EUS_ID = f"{RG}/rg-ai-prod/providers/Microsoft.CognitiveServices/accounts/{EUS}"


def keyless_world(*extra: dict[str, Any]) -> Any:
    """The parsed world (Key Vault and Azure OpenAI records queryable 2 minutes late), with
    ``extra`` consumers declared after the others."""
    from keyops.emulator.world import parse_world

    doc = consumers_document(ingestion_delay="2m")
    doc["role_assignments"].append(
        {"principal": "chat-frontend", "role": "Cognitive Services OpenAI User", "scope": EUS_ID}
    )
    doc["diagnostic_settings"] = [
        {
            "resource": "vault:kv-keyops-prod",
            "categories": ["AuditEvent"],
            "workspace": "ops-logs",
            "destination_type": "Dedicated",
        },
        *(
            {"resource": f"account:{name}", "categories": ["allLogs"], "workspace": "ops-logs"}
            for name in (EUS, WEU, LEGACY)
        ),
    ]
    doc["consumers"] = [
        {
            "name": "chat-frontend",
            "principal": "chat-frontend",
            "ip": "10.30.0.7",
            "account": EUS,
            "auth": "token",
            "calls_every": "1h",
            "start": "-2d",
        },
        {
            "name": "weekly-batch",
            "ip": "10.60.0.3",
            "account": WEU,
            "auth": "key",
            "key_slot": "Key1",
            "calls_every": "7d",
            "start": "-122h",  # 5d2h: clear of whole-second Date headers at the 5d edge
        },
        {
            "name": "just-started",
            "ip": "10.70.0.8",
            "account": LEGACY,
            "auth": "key",
            "key_slot": "Key1",
            "calls_every": "1h",
            "start": "-4m",
        },
        *extra,
    ]
    return parse_world(doc, "<keyless world>")
