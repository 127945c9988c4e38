"""Persistent emulator state: one JSON document, written atomically after each change.

A change is saved (written to a temporary file, fsynced, renamed over the old one) before the
response that acknowledges it is sent, so a killed emulator loses nothing it acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any


def atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically with the given file mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Store:
    """The state document. Services keep their data in ``data[<service>]`` as plain JSON."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: dict[str, Any] = {}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text(encoding="utf-8"))

    @property
    def exists(self) -> bool:
        """Whether state was loaded from disk (a restart) rather than made new."""
        return bool(self.data)

    def section(self, name: str) -> dict[str, Any]:
        """The (mutable) state of one service, created empty on first use."""
        with self.lock:
            sec = self.data.setdefault(name, {})
            assert isinstance(sec, dict)
            return sec

    def commit(self) -> None:
        """Persist the whole document atomically (no-op for an in-memory store)."""
        if self.path is None:
            return
        with self.lock:
            text = json.dumps(self.data, separators=(",", ":"), sort_keys=True)
            atomic_write(self.path, text)
