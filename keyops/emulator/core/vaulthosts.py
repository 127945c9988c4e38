"""Each vault also answers on a port of its own, so that its object ids are Azure's exactly.

Key Vault clients parse every id they get back (``https://<vault host>/secrets/<name>/<version>``)
and accept no path before ``/secrets``: an id under ``<emulator>/vaults/<name>/`` breaks
``SecretClient.get_secret``. So besides the path-prefix form on the main port, every vault gets a
dedicated HTTPS port whose root *is* the vault; requests arriving there are routed to the
``/vaults/<name>`` handlers, and ids and nextLinks are built on that port's origin.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

_origin: ContextVar[str | None] = ContextVar("keyops_vault_origin", default=None)


def current_vault_origin() -> str | None:
    """The origin of the vault port the current request came in on (None on the main port)."""
    return _origin.get()


class VaultPortMiddleware:
    """Routes requests that arrive on a vault's own port to that vault's handlers."""

    def __init__(
        self, app: ASGIApp, ports: dict[int, str], host: str, vault_dns_suffix: str = ""
    ) -> None:
        self.app = app
        self.ports = ports
        self.host = host
        self.suffix = vault_dns_suffix.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") if scope["type"] == "http" else None
        port = int(server[1]) if server else 0
        name = self.ports.get(port)
        if name is None:
            await self.app(scope, receive, send)
            return
        prefix = f"/vaults/{name}"
        routed = dict(scope)
        routed["path"] = prefix + scope["path"]
        routed["raw_path"] = prefix.encode() + scope.get("raw_path", scope["path"].encode())
        token = _origin.set(self._origin(scope, name, port))
        try:
            await self.app(routed, receive, send)
        finally:
            _origin.reset(token)

    def _origin(self, scope: Scope, name: str, port: int) -> str:
        """The vault's origin as the client named it: ``https://NAME.<suffix>`` when it came
        through the vault proxy under Key Vault's own host name, else this port's."""
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self.suffix and host.partition(":")[0] == f"{name.lower()}.{self.suffix}":
            return f"https://{host}"
        return f"https://{self.host}:{port}"
