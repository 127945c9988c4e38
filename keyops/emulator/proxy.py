"""An HTTP CONNECT proxy that puts the emulator's vaults under Key Vault's own host names.

Clients that build a vault's URL from its name (``az keyvault secret set --vault-name NAME``
makes ``https://NAME.vault.azure.net``) reach the emulator through this proxy without any
resolver or ``/etc/hosts`` change: ``HTTPS_PROXY=<proxy url>``. A ``CONNECT NAME.<suffix>:443``
for a vault of the world is tunnelled to that vault's own port (whose certificate also names
``*.<suffix>``, issued by the emulator's CA); every other ``CONNECT`` is tunnelled to the host
asked for, unchanged, so the rest of a client's traffic (login, ARM, the internet) still flows.
The proxy never sees plaintext: it only joins two TCP connections.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Callable

#: Key Vault's DNS suffix in Azure's public cloud: vault ``NAME`` is ``https://NAME.<suffix>``.
VAULT_DNS_SUFFIX = "vault.azure.net"
_HEAD_LIMIT = 16384


class VaultProxy:
    """A running CONNECT proxy on ``host`` (``url`` goes into ``HTTPS_PROXY``)."""

    def __init__(
        self,
        vault_ports: dict[str, int],
        host: str,
        *,
        port: int = 0,
        suffix: str = VAULT_DNS_SUFFIX,
    ) -> None:
        self._vaults = {name.lower(): p for name, p in vault_ports.items()}
        self._host = host
        self.suffix = suffix.lower().strip(".")
        self._listener = socket.create_server((host, port))
        self.url = f"http://{host}:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(
            target=accept_forever, args=(self._listener, self._serve), daemon=True
        )

    def start(self) -> VaultProxy:
        """Accept connections in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting; tunnels already open end with their connections."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def route(self, target: str) -> tuple[str, int] | None:
        """Where a ``CONNECT host:port`` goes (None: not a valid target)."""
        host, sep, port_text = target.rpartition(":")
        if not sep or not port_text.isdigit():
            return None
        host = host.strip("[]").lower()
        name, _, rest = host.partition(".")
        if rest == self.suffix and name in self._vaults:
            return self._host, self._vaults[name]
        return host, int(port_text)

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = read_head(client)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(parts) != 3 or parts[0] != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            where = self.route(parts[1])
            if where is None:
                client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection(where, timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                upstream.settimeout(None)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                early = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
                if early:
                    upstream.sendall(early)
                relay(client, upstream)


def accept_forever(listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    """Serve each connection ``listener`` accepts in a thread of its own, until it is closed."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(client,), daemon=True).start()


def read_head(sock: socket.socket) -> bytes:
    """The request head (up to the blank line, bounded), and any bytes that came with it."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes (plain or TLS sockets).

    Each readable side is drained until it would block: a TLS socket can hold whole records
    that ``select`` does not see.
    """
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select([a, b], [], [], 300)
        if not readable:
            return
        for sock in readable:
            data, still_open = _drain(sock)
            if data:
                peers[sock].sendall(data)
            if not still_open:
                return


def _drain(sock: socket.socket) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    sock.setblocking(False)
    try:
        while True:
            try:
                data = sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return b"".join(chunks), True
            except OSError:
                return b"".join(chunks), False
            if not data:
                return b"".join(chunks), False
            chunks.append(data)
    finally:
        sock.setblocking(True)
