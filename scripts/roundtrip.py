"""A short round trip through the emulator with the real Azure SDKs, unchanged.

Run it in a shell pointed at a running emulator:
    keyops emulator serve &            # or in another terminal
    eval "$(keyops emulator env)"
    python scripts/roundtrip.py
It lists accounts, regenerates Key2, sets and reads a secret, and gets a chat completion with a
key and with an Entra token. It prints fingerprints, never a key.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import requests
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient


def fp(value: str) -> str:
    """A short fingerprint: never print a key."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:8]


def chat(endpoint: str, deployment: str, headers: dict[str, str]) -> requests.Response:
    url = f"{endpoint}openai/deployments/{deployment}/chat/completions?api-version=2024-10-21"
    body = {"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    return requests.post(url, json=body, headers=headers, timeout=30)


def main() -> None:
    with open(os.environ["KEYOPS_EMULATOR"]) as fh:
        conn = json.load(fh)
    url, sub = os.environ["KEYOPS_EMULATOR_URL"], os.environ["AZURE_SUBSCRIPTION_ID"]
    cred = DefaultAzureCredential(disable_instance_discovery=True)

    arm = CognitiveServicesManagementClient(cred, sub, base_url=url)
    accounts = list(arm.accounts.list())
    print("accounts:", ", ".join(a.name for a in accounts))
    account = next(a for a in accounts if a.name == "contoso-openai-eus")
    rg = account.id.split("/")[4]
    before = arm.accounts.list_keys(rg, account.name)
    after = arm.accounts.regenerate_key(rg, account.name, "Key2")
    print(
        f"Key2 regenerated: {fp(before.key2)} -> {fp(after.key2)}; "
        f"Key1 unchanged: {before.key1 == after.key1}"
    )

    vault = SecretClient(conn["vaults"][0]["url"], cred, verify_challenge_resource=False)
    stored = vault.set_secret("roundtrip-api-key", after.key2, content_type="text/plain")
    read = vault.get_secret("roundtrip-api-key")
    print(f"secret version {stored.properties.version}: read back {fp(read.value or '')}")

    endpoint = account.properties.endpoint
    deployment = next(iter(arm.deployments.list(rg, account.name))).name
    for _ in range(60):  # a regenerated key takes a moment to propagate
        by_key = chat(endpoint, deployment, {"api-key": read.value or ""})
        if by_key.status_code != 401:
            break
        time.sleep(1)
    print("chat with key:", by_key.status_code, by_key.json().get("usage"))
    token = cred.get_token("https://cognitiveservices.azure.com/.default").token
    by_token = chat(endpoint, deployment, {"Authorization": f"Bearer {token}"})
    print("chat with token:", by_token.status_code, by_token.json().get("usage"))
    if by_key.status_code != 200 or by_token.status_code != 200:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
