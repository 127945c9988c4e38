"""The demo's chapters on evidence: who still holds the previous key decides when it is revoked,
and one account is planned, switched to keyless, and watched. They run on a second emulator
whose world (the default one plus the parts below) sends logs to a workspace and declares the
apps that read the secret and call the accounts on their own schedules."""

from __future__ import annotations

from typing import Any

from keyops.cli.context import AppContext
from keyops.cli.demo import _keyops, _say

REVOKED = "contoso-aiservices-weu"  # its daily reader lags, then catches up
KEYLESS = "contoso-openai-eus"  # only a token caller: ready for keyless
SECRET = f"kv-keyops-prod/{REVOKED}-api-key"


def add_evidence(doc: dict[str, Any]) -> dict[str, Any]:
    """The default world document with a workspace, diagnostic settings and two apps: a daily
    reader of the secret that calls by key, and a front end that calls by token."""
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
    ]
    return doc


def _advance(conn: dict[str, Any], seconds: float) -> None:
    """Move the emulator's clock (the demo stands in for hours passing; nothing sleeps)."""
    from keyops.azure.tls import new_session

    with new_session(conn["ca_bundle"]) as session:
        session.post(
            f"{conn['url']}/_emulator/clock",
            json={"advance": seconds},
            timeout=10,
            headers={"Authorization": f"Bearer {conn['admin_token']}"},
        ).raise_for_status()


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
    _say(
        "11. Keyless",
        f"""
Which accounts can leave keys behind: who still calls with a key, and whether each consumer
already holds a role with the inference dataAction. {KEYLESS} is called only by a front end
with an Entra token, so it is switched: a last check of the logs, a PATCH of
disableLocalAuth with If-Match, then (minutes later, when Azure has applied it) a watch for
403s from callers still using a key.""",
    )
    _keyops("keyless", "plan", "--vault-url", vault_url)
    _keyops("keyless", "apply", "--vault-url", vault_url, "--account", KEYLESS, "--confirm")
    _say(
        "11b. Three hours later",
        f"""
The rerun watches Azure Monitor: no 403 since the switch, so no caller was left on a key:
{KEYLESS}'s key callers are zero and stay zero, the front end still calling with its token.
The plan now lists it as keyless.""",
    )
    _advance(conn, 3 * 3600)
    _keyops("keyless", "apply", "--vault-url", vault_url, "--account", KEYLESS, "--watch", "30m")
    _keyops("keyless", "plan", "--vault-url", vault_url, "--account", KEYLESS)
