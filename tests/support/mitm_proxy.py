"""A TLS-intercepting HTTP CONNECT proxy, as a corporate inspection gateway behaves.

It answers ``CONNECT host:port``, then completes the client's TLS handshake itself with a
certificate for ``host`` issued by its own CA (which clients trust only if that CA is in their
bundle), opens its own TLS connection to the real host (trusting ``upstream_ca``) and relays the
decrypted bytes between the two. Every CONNECT target is recorded, so a test can tell which
requests went through it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import trustme

from keyops.azure.tls import CA_BUNDLE_VARIABLES
from keyops.emulator.proxy import accept_forever, read_head, relay

#: Every variable that names a CA bundle or a proxy, unset (a CliRunner ``env`` mapping).
NETWORK_VARIABLES_UNSET: dict[str, str | None] = {
    name: None
    for base in (*CA_BUNDLE_VARIABLES, "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (base, base.lower())
}


class InterceptingProxy:
    """A running intercepting proxy on 127.0.0.1; ``url`` goes into ``HTTPS_PROXY``."""

    def __init__(self, directory: Path, upstream_ca: str) -> None:
        self._ca = trustme.CA(organization_name="Contoso TLS inspection")
        self.ca_cert = directory / "inspection-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_cert))
        self._upstream = ssl.create_default_context(cafile=upstream_ca)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connects: list[str] = []
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        threading.Thread(
            target=accept_forever, args=(self._listener, self._serve), daemon=True
        ).start()

    def close(self) -> None:
        """Stop accepting connections."""
        self._listener.close()

    def _context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            if host not in self._contexts:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self._ca.issue_cert(host).configure_cert(context)
                self._contexts[host] = context
            return self._contexts[host]

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = read_head(client)
            if b"\r\n\r\n" not in head:
                return
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            with self._lock:
                self.connects.append(target)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                inner = self._context_for(host).wrap_socket(client, server_side=True)
                raw = socket.create_connection((host, int(port)), timeout=10)
                upstream = self._upstream.wrap_socket(raw, server_hostname=host)
            except (OSError, ssl.SSLError):
                return  # the client refused our certificate, or the host is unreachable
            with inner, upstream:
                relay(inner, upstream)
