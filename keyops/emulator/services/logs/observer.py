"""Log records of real requests: an ``AuditEvent`` for every vault operation and a
``RequestResponse`` for every data-plane call, plus the declared consumers' activity up to now.

Registered on the emulator as a request observer: before a request runs, the consumers catch up
with the clock (so what they read and hold is what the vault held at their time); after it
answered, its record is appended to the workspaces its resource's diagnostic settings name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from keyops.emulator.services.logs.consumers import advance
from keyops.emulator.services.logs.models import append

if TYPE_CHECKING:
    from keyops.emulator.core.context import Emulator
    from keyops.emulator.core.requestlog import LogEntry

#: Key Vault's audit operation names for the emulator's operation ids.
_VAULT_OPERATIONS = {
    "GetSecret": "SecretGet",
    "SetSecret": "SecretSet",
    "UpdateSecret": "SecretUpdate",
    "GetSecrets": "SecretList",
    "GetSecretVersions": "SecretListVersions",
    "DeleteSecret": "SecretDelete",
    "GetDeletedSecrets": "SecretListDeleted",
    "GetDeletedSecret": "SecretGetDeleted",
    "RecoverDeletedSecret": "SecretRecover",
    "PurgeDeletedSecret": "SecretPurge",
}


class LogsObserver:
    """Writes the records of each request (see the module docstring)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def started(self, request: Request) -> None:
        """Let the declared consumers act up to now."""
        if advance(self.emu, self.emu.clock.now()):
            self.emu.commit()

    def finished(self, request: Request, entry: LogEntry) -> None:
        """Append the request's record, if it is one Azure logs."""
        if entry.status >= 599:
            return
        if entry.surface == "keyvault" and entry.target:
            self._vault(request, entry)
        elif entry.surface == "openai":
            target = entry.target or self._refused_call_account(request)
            if target:
                self._data_plane(request, entry, target)

    def _refused_call_account(self, request: Request) -> str | None:
        """The account a refused call (a revoked key's 401) was for, where the endpoint tells
        (as Azure attributes it: by the custom subdomain, or a regional endpoint's key)."""
        from keyops.emulator.services.openai.models import identify_account
        from keyops.emulator.services.openai.responses import endpoint_of

        account = identify_account(self.emu, endpoint_of(request), request.headers.get("api-key"))
        return account.id if account is not None else None

    def _caller(self, oid: str) -> tuple[str, str]:
        for p in self.emu.world.principals:
            if p.object_id == oid:
                return oid, p.client_id
        return (oid, "") if oid not in ("anonymous", "api-key") else ("", "")

    def _vault(self, request: Request, entry: LogEntry) -> None:
        target = str(entry.target)
        vault_id, _, secret = target.partition("/secrets/")
        oid, appid = self._caller(entry.principal)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        obj = ""
        if secret and entry.detail and entry.status < 300:
            obj = f"{origin}/secrets/{secret}/{entry.detail}"
        event: dict[str, Any] = {
            "t": entry.time,
            "op": _VAULT_OPERATIONS.get(entry.operation, entry.operation),
            "status": entry.status,
            "ip": request.client.host if request.client else "",
            "oid": oid,
            "appid": appid,
            "object": obj,
            "uri": str(request.url),
            "api": request.query_params.get("api-version", ""),
            "ms": 10,
            "agent": request.headers.get("user-agent", ""),
        }
        if append(self.emu, vault_id, "audit", event):
            self.emu.commit()

    def _data_plane(self, request: Request, entry: LogEntry, target: str) -> None:
        oid, _ = self._caller(entry.principal)
        deployment = getattr(request.state, "deployment", "") or ""
        event: dict[str, Any] = {
            "t": entry.time,
            "op": entry.operation,
            "status": entry.status,
            "ip": request.client.host if request.client else "",
            "oid": oid or None,
            "api": request.query_params.get("api-version", "v1"),
            "deployment": deployment,
            "ms": 200,
        }
        if append(self.emu, target, "request", event):
            self.emu.commit()


def attach(emu: Emulator) -> None:
    """Register the observer on a new emulator."""
    emu.observers.append(LogsObserver(emu))
