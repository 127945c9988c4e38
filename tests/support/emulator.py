"""Test helpers: an in-process emulator and real SDK clients pointed at it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from keyops.emulator.server import EmulatorServer


@dataclass
class EmulatorHandle:
    """A running in-process emulator and what a test needs to talk to it."""

    server: EmulatorServer

    @property
    def conn(self) -> dict[str, Any]:
        """The parsed connection.json."""
        conn: dict[str, Any] = json.loads(Path(self.server.connection_path).read_text())
        return conn

    @property
    def connection_path(self) -> Path:
        """Path to connection.json (for KEYOPS_EMULATOR)."""
        return self.server.connection_path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ca_bundle(self) -> str:
        return str(self.server.tls.ca_bundle)

    def principal(self, name: str) -> dict[str, Any]:
        """A principal's entry in connection.json."""
        return next(p for p in self.conn["principals"] if p["name"] == name)

    def account(self, name: str) -> dict[str, Any]:
        """An account's entry in connection.json."""
        return next(a for a in self.conn["accounts"] if a["name"] == name)

    def vault_url(self, name: str = "kv-keyops-prod") -> str:
        return str(next(v["url"] for v in self.conn["vaults"] if v["name"] == name))

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the admin API; returns parsed JSON (None for 204)."""
        r = requests.request(
            method,
            f"{self.url}/_emulator/{path.lstrip('/')}",
            json=body,
            headers={"Authorization": f"Bearer {self.server.emulator.admin_token}"},
            verify=self.ca_bundle,
            timeout=10,
        )
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None

    def fault(self, rule: dict[str, Any]) -> Any:
        """Add a fault rule (the admin API's ``POST /_emulator/faults``; kinds in
        keyops.emulator.core.faults); returns the rule as the emulator holds it."""
        return self.admin("POST", "faults", rule)

    def fired(self, rule: dict[str, Any]) -> int:
        """How many requests a fault rule has caught so far (0 once the rules are cleared)."""
        faults = self.admin("GET", "faults")["faults"]
        return int(next((r["fired"] for r in faults if r["id"] == rule["id"]), 0))

    def held(self, rule: dict[str, Any]) -> bool:
        """Whether a ``hold`` rule has caught a request (it waits in the emulator now)."""
        return self.fired(rule) > 0

    def release(self, rule: dict[str, Any]) -> Any:
        """Let the requests a ``hold`` rule holds go on; returns the rule as the emulator has it."""
        return self.admin("POST", f"faults/{rule['id']}/release")

    def secret_gone(self, name: str, times: int) -> None:
        """The next ``times`` reads (GetSecret) of secret ``name`` answer 404 SecretNotFound in
        Key Vault's words, as if it were deleted between a listing and the read."""
        self.fault(
            {
                "operation": "GetSecret",
                "kind": "status",
                "status": 404,
                "code": "SecretNotFound",
                "message": f"A secret with (name/id) {name} was not found in this key vault.",
                "match": name,
                "times": times,
            },
        )

    def log_since(self, seq: int = 0) -> list[dict[str, Any]]:
        """Request-log entries after ``seq``."""
        return list(self.admin("GET", f"requests?since={seq}")["entries"])

    def operations_since(self, seq: int) -> list[str]:
        """The operation names of the non-admin requests after ``seq``."""
        return [e["operation"] for e in self.log_since(seq) if e["surface"] != "admin"]

    @property
    def last_seq(self) -> int:
        return int(self.admin("GET", "requests")["last_seq"])

    def credential(self, principal: str = "keyops-rotator", **kwargs: Any) -> Any:
        """A real azure-identity ClientSecretCredential for a principal of the world."""
        from azure.identity import ClientSecretCredential

        p = self.principal(principal)
        return ClientSecretCredential(
            self.conn["tenant_id"],
            p["client_id"],
            p["client_secret"],
            authority=self.url,
            disable_instance_discovery=True,
            connection_verify=self.ca_bundle,
            **kwargs,
        )

    def mgmt_client(self, principal: str = "keyops-rotator") -> Any:
        """A real CognitiveServicesManagementClient."""
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        return CognitiveServicesManagementClient(
            self.credential(principal),
            self.conn["subscription_id"],
            base_url=self.url,
            connection_verify=self.ca_bundle,
            retry_total=0,
        )

    def secret_client(
        self, vault: str = "kv-keyops-prod", principal: str = "keyops-rotator", **kwargs: Any
    ) -> Any:
        """A real SecretClient."""
        from azure.keyvault.secrets import SecretClient

        kwargs.setdefault("retry_total", 0)
        return SecretClient(
            self.vault_url(vault),
            self.credential(principal),
            verify_challenge_resource=False,
            connection_verify=self.ca_bundle,
            **kwargs,
        )

    def stop(self, *, wait: bool = True) -> None:
        self.server.stop(wait=wait)


def start_emulator(state_dir: Path, tls_dir: Path, **kwargs: Any) -> EmulatorHandle:
    """Start an emulator in-process on a free port (propagation delay 0 unless given)."""
    # azure-keyvault caches each vault URL's challenge (its tenant) for the process. A new
    # emulator may reuse an old one's port with another world's tenant, and the SDK would then
    # ask for a token in the wrong tenant; real vault names never change tenant like that.
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()
    kwargs.setdefault("propagation_delay", 0.0)
    server = EmulatorServer(state_dir, port=kwargs.pop("port", 0), tls_dir=tls_dir, **kwargs)
    return EmulatorHandle(server.start())
