"""Run the emulator over HTTPS: TLS material, the port, ``connection.json``, uvicorn.

The CA is made once per state directory and reused, so trust set up once stays valid; a
restarted emulator binds the port it had, so endpoints stored elsewhere stay valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import certifi
import trustme
import uvicorn

from keyops.emulator.app import asgi_app, build_app
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.layout import (
    account_endpoint,
    issuer_url,
    managed_identity_endpoint,
    vault_url,
)
from keyops.emulator.core.store import atomic_write
from keyops.emulator.core.vaulthosts import VaultPortMiddleware
from keyops.emulator.proxy import VAULT_DNS_SUFFIX, VaultProxy
from keyops.emulator.world import World, load_world

CONNECTION_SCHEMA_VERSION = 1
HOST = "127.0.0.1"


def default_state_dir() -> Path:
    """``$KEYOPS_EMULATOR_HOME`` or ``~/.keyops/emulator``."""
    env = os.environ.get("KEYOPS_EMULATOR_HOME")
    return Path(env) if env else Path.home() / ".keyops" / "emulator"


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about responses never started: that is an injected drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without starting response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


class TLSMaterial:
    """The emulator's CA, server certificate and CA bundle (system roots + emulator CA)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self.ca_cert = directory / "ca.pem"
        self.ca_key = directory / "ca-key.pem"
        # v2: the certificate also names *.vault.azure.net (the vault proxy); an older one is
        # left unused rather than reused without that name.
        self.server_pem = directory / "server-v2.pem"
        self.ca_bundle = directory / "ca-bundle.pem"
        if not (self.ca_cert.exists() and self.ca_key.exists()):
            ca = trustme.CA(organization_name="keyops emulator")
            atomic_write(self.ca_cert, ca.cert_pem.bytes().decode(), 0o644)
            atomic_write(self.ca_key, ca.private_key_pem.bytes().decode(), 0o600)
        ca = trustme.CA.from_pem(self.ca_cert.read_bytes(), self.ca_key.read_bytes())
        if not self.server_pem.exists():
            cert = ca.issue_cert("127.0.0.1", "localhost", "::1", f"*.{VAULT_DNS_SUFFIX}")
            pem = b"".join(b.bytes() for b in cert.cert_chain_pems) + cert.private_key_pem.bytes()
            atomic_write(self.server_pem, pem.decode(), 0o600)
        roots = Path(certifi.where()).read_text(encoding="utf-8")
        atomic_write(self.ca_bundle, roots + "\n" + self.ca_cert.read_text(), 0o644)

    def server_context(self) -> ssl.SSLContext:
        """The TLS context the server listens with."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.server_pem))
        return ctx


def connection_document(
    emu: Emulator, tls: TLSMaterial, proxy: VaultProxy | None = None
) -> dict[str, Any]:
    """What a client needs to use this emulator (written as ``connection.json``)."""
    world = emu.world
    url = emu.base_url
    default = world.default_principal
    by_principal: dict[str, list[dict[str, str]]] = {}
    for a in world.role_assignments:
        by_principal.setdefault(a.principal, []).append({"role": a.role, "scope": a.scope})
    meta = emu.store.section("meta")
    return {
        "schema_version": CONNECTION_SCHEMA_VERSION,
        "url": url,
        "authority_host": url,
        "resource_manager": url,
        # The Logs query API (/v1/...); tokens for it carry Azure's audience.
        "logs_endpoint": url,
        "logs_audience": "https://api.loganalytics.io",
        "ca_cert": str(tls.ca_cert),
        "ca_bundle": str(tls.ca_bundle),
        "tenant_id": world.tenant_id,
        "subscription_id": world.default_subscription,
        "client_id": default.client_id,
        "client_secret": default.secret,
        "admin_token": emu.admin_token,
        "principals": [
            {
                "name": p.name,
                "client_id": p.client_id,
                "object_id": p.object_id,
                "client_secret": p.secret,
                "managed_identity": p.managed_identity,
                "federated_credentials": [
                    {
                        "issuer": issuer_url(url, f.issuer) if "://" not in f.issuer else f.issuer,
                        "subject": f.subject,
                        "audience": f.audience,
                    }
                    for f in p.federated_credentials
                ],
                "role_assignments": by_principal.get(p.name, []),
            }
            for p in world.principals
        ],
        "accounts": [
            {
                "id": a.id,
                "name": a.name,
                "resource_group": a.resource_group,
                "subscription_id": a.subscription_id,
                "kind": a.kind,
                "location": a.location,
                "endpoint": account_endpoint(url, a),
                "deployments": [d.name for d in a.deployments],
            }
            for a in world.accounts
        ],
        "vaults": [
            {
                "name": v.name,
                "url": emu.vault_urls.get(v.name, vault_url(url, v.name)),
                "path_url": vault_url(url, v.name),
                "id": v.id,
            }
            for v in world.vaults
        ],
        "issuers": {
            name: {
                "url": issuer_url(url, name),
                # GitHub's toolkit appends "&audience=..." to ACTIONS_ID_TOKEN_REQUEST_URL.
                "request_url": f"{issuer_url(url, name)}/token?api-version=2.0",
                "request_token": meta.get("issuer_request_token", ""),
            }
            for name in ("github", "azure-pipelines")
        },
        "managed_identity": {
            "endpoint": managed_identity_endpoint(url),
            "header": meta.get("msi_header", ""),
        },
        "vault_proxy": (
            {"url": proxy.url, "vault_dns_suffix": proxy.suffix} if proxy is not None else None
        ),
        "pid": os.getpid(),
    }


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose protocol is TCP,
    # and without it every answer waits ~40 ms for Nagle and delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class EmulatorServer:
    """One emulator on one HTTPS port, in the foreground or in a background thread."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        port: int | None = None,
        world: World | None = None,
        world_path: str | None = None,
        propagation_delay: float | None = None,
        log_level: str = "warning",
        tls_dir: Path | None = None,
        proxy_port: int | None = None,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        # Tests share one CA between many short-lived emulators (tls_dir); a served emulator
        # keeps its own beside its state.
        self.tls = TLSMaterial(tls_dir or self.state_dir / "tls")
        self.world = world if world is not None else load_world(world_path)
        port_file = self.state_dir / "port"
        if port is None:
            port = int(port_file.read_text()) if port_file.exists() else 0
        self.sock = _bind(port)
        self.port = int(self.sock.getsockname()[1])
        atomic_write(port_file, str(self.port), 0o600)
        self.url = f"https://{HOST}:{self.port}"
        self.vault_socks = self._bind_vaults(port_file.parent / "vault-ports.json")
        self.app, self.emulator = build_app(self.world, self.state_dir, self.url)
        self.emulator.vault_urls = {
            name: f"https://{HOST}:{s.getsockname()[1]}" for name, s in self.vault_socks.items()
        }
        if propagation_delay is not None:
            self.emulator.settings.propagation_delay = propagation_delay
        self.proxy = VaultProxy(
            {name: int(s.getsockname()[1]) for name, s in self.vault_socks.items()},
            HOST,
            port=proxy_port or 0,
        )
        ctx = self.tls
        ports = {int(s.getsockname()[1]): name for name, s in self.vault_socks.items()}
        config = uvicorn.Config(
            VaultPortMiddleware(asgi_app(self.app), ports, HOST, VAULT_DNS_SUFFIX),
            log_level=log_level,
            access_log=False,
            date_header=False,  # the app stamps Date from the emulated clock
            lifespan="off",
            ssl_certfile=str(ctx.server_pem),
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.connection_path = self.state_dir / "connection.json"

    def _bind_vaults(self, path: Path) -> dict[str, socket.socket]:
        """One port per vault (see ``core.vaulthosts``), kept across restarts like the main one."""
        known: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
        socks = {v.name: _bind(known.get(v.name, 0)) for v in self.world.vaults}
        ports = {name: int(s.getsockname()[1]) for name, s in socks.items()}
        atomic_write(path, json.dumps(ports), 0o600)
        return socks

    @property
    def sockets(self) -> list[socket.socket]:
        """Every listening socket: the main port, then one per vault."""
        return [self.sock, *self.vault_socks.values()]

    def write_connection(self) -> Path:
        """Write ``connection.json`` atomically (0600: it holds the default client secret)."""
        doc = connection_document(self.emulator, self.tls, self.proxy)
        atomic_write(self.connection_path, json.dumps(doc, indent=2) + "\n", 0o600)
        return self.connection_path

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted; connection.json appears when ready."""

        self.proxy.start()

        async def main() -> None:
            task = asyncio.create_task(self.server.serve(sockets=self.sockets))
            while not self.server.started and not task.done():
                await asyncio.sleep(0.01)
            if self.server.started:
                self.write_connection()
            await task

        try:
            asyncio.run(main())
        finally:
            self.proxy.stop()
            self.emulator.store.close()
            self.emulator.log.close()
            with contextlib.suppress(FileNotFoundError):
                self.connection_path.unlink()

    @property
    def _name(self) -> str:
        return f"keyops-emulator-{self.port}"

    def start(self) -> EmulatorServer:
        """Serve in a background thread; return once it accepts connections."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=self.sockets)),
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        self.proxy.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("emulator failed to start")
            threading.Event().wait(0.01)
        self.write_connection()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop a background server and release its port; with ``wait=False`` return at once
        and finish in a thread (uvicorn takes about 0.2 s to notice and wind down), for a caller
        that starts no other server on this state directory."""
        if not wait:
            threading.Thread(target=self.stop, name=f"{self._name}-stop", daemon=True).start()
            return
        self.server.should_exit = True
        # Idle keep-alive connections (an SDK client not closed) would hold shutdown for seconds.
        self.server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.proxy.stop()
        self.emulator.store.close()
        self.emulator.log.close()
        for sock in self.sockets:
            sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
