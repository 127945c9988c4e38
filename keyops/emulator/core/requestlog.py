"""The request log: what was called, by whom, with what result. Never a key, secret or token."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO


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
    """Append-only request log, in memory and (when a state dir exists) as JSON lines.

    Each entry is one append to a file kept open (O(1) per request, never a rewrite); the line
    reaches the kernel before :meth:`finish` returns, so a killed emulator keeps it.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[LogEntry] = []
        self._lock = threading.Lock()
        self._seq = 0
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._seq = max(self._seq, int(json.loads(line).get("seq", 0)))
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def begin(self, entry_fields: dict[str, Any]) -> LogEntry:
        """Start an entry; it is written out by :meth:`finish`."""
        with self._lock:
            self._seq += 1
            return LogEntry(seq=self._seq, **entry_fields)

    def finish(self, entry: LogEntry) -> None:
        """Record a finished entry."""
        with self._lock:
            self.entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(asdict(entry), separators=(",", ":")) + "\n")
                self._file.flush()

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        """Entries with a sequence number above ``seq`` (this process's lifetime)."""
        with self._lock:
            return [asdict(e) for e in self.entries if e.seq > seq]

    def close(self) -> None:
        """Close the log file (entries stay readable in memory)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @property
    def last_seq(self) -> int:
        """The highest sequence number handed out."""
        return self._seq
