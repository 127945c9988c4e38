"""The request log: what was called, by whom, with what result. Never a key, secret or token."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class LogEntry:
    """One request as the log keeps it."""

    seq: int
    time: float
    surface: str
    operation: str
    method: str
    path: str
    write: bool
    changed: bool = False
    status: int = 0
    principal: str = "anonymous"
    fault: str | None = None
    target: str | None = None
    #: What the operation acted on beyond its path, never a secret (the key slot regenerated).
    detail: str | None = None


class RequestLog:
    """Append-only request log, in memory and (when a state dir exists) as JSON lines."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[LogEntry] = []
        self._lock = threading.Lock()
        self._seq = 0
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._seq = max(self._seq, int(json.loads(line).get("seq", 0)))

    def begin(self, entry_fields: dict[str, Any]) -> LogEntry:
        """Start an entry; it is written out by :meth:`finish`."""
        with self._lock:
            self._seq += 1
            return LogEntry(seq=self._seq, **entry_fields)

    def finish(self, entry: LogEntry) -> None:
        """Record a finished entry."""
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(entry), separators=(",", ":")) + "\n")

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        """Entries with a sequence number above ``seq`` (this process's lifetime)."""
        with self._lock:
            return [asdict(e) for e in self.entries if e.seq > seq]

    @property
    def last_seq(self) -> int:
        """The highest sequence number handed out."""
        return self._seq
