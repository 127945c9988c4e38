"""A session's per-host pool hands its open connections out in turn (oldest idle first).

urllib3's default is last-in-first-out: after a burst, the connections at the bottom of the
stack idle until the server's keep-alive timeout closes them, and the next burst opens (and
TLS-handshakes) them again. A fleet run measured that as more new connections per host than
its pool holds; in turn, every connection carries traffic and stays open.
"""

from __future__ import annotations

from typing import Any

from keyops.azure.tls import new_session
from tests.support.emulator import EmulatorHandle


def _url(handle: EmulatorHandle) -> str:
    return f"{handle.url}/metadata/endpoints?api-version=2022-09-01"


def _local_port(response: Any) -> int:
    """The client port of the connection that carried ``response`` (read before its body)."""
    return int(response.raw.connection.sock.getsockname()[1])


def _get(session: Any, url: str) -> int:
    """One GET; the port it went out on. Reading the body hands the connection back."""
    response = session.get(url, stream=True, timeout=30)
    port = _local_port(response)
    body = response.text
    assert response.status_code == 200, body
    return port


def test_after_a_burst_every_open_connection_is_used_in_turn(emulator: EmulatorHandle) -> None:
    url = _url(emulator)
    emulator.admin("DELETE", "connections")
    with new_session(emulator.ca_bundle, pool_size=3) as session:
        # Three requests in flight at once: three connections.
        held = [session.get(url, stream=True, timeout=30) for _ in range(3)]
        burst = [_local_port(r) for r in held]
        for response in held:
            assert response.content  # read to the end: the connection goes back to the pool
        assert len(set(burst)) == 3
        after = [_get(session, url) for _ in range(6)]
    # Oldest idle first: each connection's turn comes every third request, none left idle.
    assert after == burst + burst
    counts = emulator.admin("GET", "connections")["connections"]
    # ... and the server saw no other connection (the admin call's own is apart).
    assert {k.split("@")[0]: n for k, n in counts.items()} == {"arm": 3, "admin": 1}, counts


def test_one_request_at_a_time_keeps_to_one_connection(emulator: EmulatorHandle) -> None:
    """A free slot is used only when no open connection is idle (a plain FIFO queue would
    open the whole pool, one new connection per request, before reusing any)."""
    url = _url(emulator)
    with new_session(emulator.ca_bundle, pool_size=4) as session:
        ports = {_get(session, url) for _ in range(5)}
    assert len(ports) == 1
