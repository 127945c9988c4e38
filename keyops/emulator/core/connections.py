"""New connections per emulated host, as a benchmark of a client's connection reuse needs them.

Each Azure host keyops talks to is one emulated host here: ARM, Entra and Monitor on the main
port, each vault on its own port, and the data plane on the main port too. A connection is
identified by the client's address and port; one seen for the first time on a host counts as a
new connection (and so a new TLS handshake) there.
"""

from __future__ import annotations

import threading


class Connections:
    """Counts the distinct client connections each ``surface@host`` has served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, set[tuple[str, int]]] = {}

    def note(self, surface: str, host: str, client: tuple[str, int] | None) -> None:
        """Record that ``client`` sent a request to ``surface`` on ``host``."""
        if client is None:
            return
        with self._lock:
            self._seen.setdefault(f"{surface}@{host}", set()).add(client)

    def counts(self) -> dict[str, int]:
        """New connections per ``surface@host`` so far."""
        with self._lock:
            return {key: len(clients) for key, clients in sorted(self._seen.items())}

    def clear(self) -> None:
        """Start counting afresh (between benchmark runs)."""
        with self._lock:
            self._seen.clear()
