"""The demo's chapters on evidence: who still holds the previous key decides when it is revoked,
and one account is planned, its last key caller moved to a token (its key callers drop to zero),
switched to keyless, and watched. They run on a second emulator
whose world (the default one plus the parts below) sends logs to a workspace and declares the
apps that read the secret and call the accounts on their own schedules."""

from __future__ import annotations

from typing import Any

from keyops.cli.context import AppContext
from keyops.cli.demo import _keyops, _say

REVOKED = "contoso-aiservices-weu"  # its daily reader lags, then catches up
KEYLESS = "contoso-openai-eus"  # a key caller moves to a token, then it is switched
SECRET = f"kv-keyops-prod/{REVOKED}-api-key"
MOVER = "inventory-sync"  # reads the KEYLESS key and calls with it, until its owner moves it
MOVER_IP = "10.40.0.9"
#: Past the lookback ``keyless plan`` and ``apply`` read by default (8d), so no key call is left.
PAST_LOOKBACK = 8 * 86400 + 3600


def add_evidence(doc: dict[str, Any]) -> dict[str, Any]:
    """The default world document with a workspace, diagnostic settings and three apps: a daily
    reader of the secret that calls by key, a front end that calls by token, and an app that
    reads the keyless account's key and calls with it until its owner moves it to a token."""
    doc["settings"]["ingestion_delay"] = "2m"
    doc["settings"]["local_auth_delay"] = 120.0
    doc["workspaces"] = [{"name": "ops-logs", "resource_group": "rg-keyops"}]
    sub = doc["subscriptions"][0]["id"]  # keyops reads diagnostic settings and workspaces
    doc["role_assignments"].append(
        {"principal": "keyops-rotator", "role": "Reader", "scope": f"/subscriptions/{sub}"}
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
            for name in (REVOKED, KEYLESS)
        ),
    ]
    _add_mover(doc, sub)
    doc["consumers"] = [
        {
            "name": "billing-api",
            "principal": "app-consumer",
            "ip": "10.20.0.4",
            "account": REVOKED,
            "auth": "key",
            "secret": SECRET,
            "refresh": "24h",
            "calls_every": "30m",
            "start": "-3d",
        },
        {
            "name": "chat-frontend",
            "principal": "keyops-managed-identity",
            "ip": "10.30.0.7",
            "account": KEYLESS,
            "auth": "token",
            "calls_every": "1h",
            "start": "-2d",
        },
        {
            "name": MOVER,
            "principal": "inventory-app",
            "ip": MOVER_IP,
            "account": KEYLESS,
            "auth": "key",
            "secret": f"kv-keyops-prod/{KEYLESS}-api-key",
            "refresh": "24h",
            "calls_every": "1h",
            "start": "-3d",
        },
    ]
    return doc


def _add_mover(doc: dict[str, Any], sub: str) -> None:
    """The keyless account's key in the vault, and the identity of the app that reads it: it
    may read the secret and (granted ahead of the move, as the plan asks) call inference."""
    vault = doc["vaults"][0]
    vault["secrets"].append(
        {
            "name": f"{KEYLESS}-api-key",
            "value_from": f"account:{KEYLESS}:Key1",
            "created": "-30d",
            "tags": {"CredentialId": "Key1"},
        }
    )
    doc["principals"].append(
        {
            "name": "inventory-app",
            "client_id": "5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d",
            "object_id": "8a7b6c5d-4e3f-4210-9fed-cba987654321",
        }
    )
    rg = f"/subscriptions/{sub}/resourceGroups"
    doc["role_assignments"] += [
        {
            "principal": "inventory-app",
            "role": "Key Vault Secrets User",
            "scope": f"{rg}/{vault['resource_group']}/providers/Microsoft.KeyVault/vaults/"
            + vault["name"],
        },
        {
            "principal": "inventory-app",
            "role": "Cognitive Services OpenAI User",
            "scope": f"{rg}/rg-ai-prod/providers/Microsoft.CognitiveServices/accounts/{KEYLESS}",
        },
    ]


def _admin(conn: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    """POST to the emulator's admin API (what time or a human does in the story)."""
    from keyops.azure.tls import new_session

    with new_session(conn["ca_bundle"]) as session:
        session.post(
            f"{conn['url']}/_emulator/{path}",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {conn['admin_token']}"},
        ).raise_for_status()


def _advance(conn: dict[str, Any], seconds: float) -> None:
    """Move the emulator's clock (the demo stands in for hours passing; nothing sleeps)."""
    _admin(conn, "clock", {"advance": seconds})


def walk_evidence(app: AppContext, conn: dict[str, Any], vault_url: str) -> None:
    """Chapters 10 and 11."""
    del app  # the commands run in-process on the environment the demo pointed at
    rotate = ("rotate", "--vault-url", vault_url, "--account", REVOKED)
    _say(
        "10. Revoke when consumers moved",
        f"""
A second emulator, whose vault and accounts send their logs to a workspace. An app
(billing-api, 10.20.0.4) reads the {REVOKED} secret once a day and calls with that key.
Rotating with --revoke-previous when-moved stores the new key and leaves the previous one
alive; each rerun reads Key Vault's AuditEvent and Azure OpenAI's RequestResponse logs and
revokes only once every reader of the previous version has read the new one.""",
    )
    _keyops(*rotate, "--force", "--revoke-previous", "when-moved")
    _keyops(*rotate, "--revoke-previous", "when-moved")
    _say(
        "10b. A day later",
        """
The app's daily refresh read the new version (the demo moves the emulator's clock 25 hours).
The rerun sees it and revokes the previous key; the app's calls keep working.""",
    )
    _advance(conn, 25 * 3600)
    _keyops(*rotate, "--revoke-previous", "when-moved")
    _walk_keyless(conn, vault_url)


def _walk_keyless(conn: dict[str, Any], vault_url: str) -> None:
    """Chapter 11: the key caller moves to a token, its key calls drop to zero, the switch."""
    plan = ("keyless", "plan", "--vault-url", vault_url)
    apply = ("keyless", "apply", "--vault-url", vault_url, "--account", KEYLESS)
    _say(
        "11. Keyless",
        f"""
Which accounts can leave keys behind: who still calls with a key, and whether each consumer
already holds a role with the inference dataAction. {KEYLESS} is blocked: an app
({MOVER}, {MOVER_IP}) reads its key from the vault every day and calls with it.""",
    )
    _keyops(*plan)
    _say(
        "11b. The app moves to Entra ID",
        f"""
Its owner changes {MOVER}'s config to call with its own identity's Entra token (the role it
needs was granted ahead). Eight days later (the demo moves the emulator's clock past the 8d
lookback) the logs hold no key call: its key callers dropped to zero and it is ready. The
switch: a last check of the logs, a PATCH of disableLocalAuth with If-Match, then (minutes
later, when Azure has applied it) a watch for 403s from callers still using a key.""",
    )
    _admin(conn, f"consumers/{MOVER}", {"auth": "token"})
    _advance(conn, PAST_LOOKBACK)
    _keyops(*plan, "--account", KEYLESS)
    _keyops(*apply, "--confirm")
    _say(
        "11c. Three hours later",
        f"""
The rerun watches Azure Monitor: no 403 since the switch, so no caller was left on a key:
{KEYLESS}'s key callers are zero and stay zero, both apps calling with their tokens.
The plan now lists it as keyless.""",
    )
    _advance(conn, 3 * 3600)
    _keyops(*apply, "--watch", "30m")
    _keyops(*plan, "--account", KEYLESS)
