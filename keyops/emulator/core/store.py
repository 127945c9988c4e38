"""Persistent emulator state: a JSON tree in memory, saved one changed node at a time.

Services keep their state as plain JSON values under ``data[<service>]``. The containers are
:class:`TrackedDict` / :class:`TrackedList`, which note the path of every change they see
(``accounts[3]["keys"]["Key1"] = ...`` notes ``arm/accounts/3/keys/Key1``). :meth:`Store.commit`
serialises just those nodes and hands them to a writer thread that upserts them into SQLite in
WAL mode, so a write costs O(what changed), never O(world), and the event loop never waits on
the disk. The request that made a change is answered only once its rows are written (see
:meth:`Store.durable`): rows handed to the kernel survive a SIGKILL of the emulator; surviving a
power loss is not a goal, so the WAL is not fsynced per commit (``synchronous=NORMAL``).

A value put into the store is copied into tracked containers: keep using the stored one (the
return value of ``setdefault``, or read it back) rather than the object you put in.

On disk (``state.db``) each row is one node: its path, its depth and its JSON value (NULL for a
deleted dict key). Writing a node deletes the rows below it; loading applies rows by depth, then
in the order they were first written, which keeps dict and list order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import queue
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from keyops.emulator.core.tracked import SEP, NodePath, Owner, TrackedDict, adopt

_MISSING = object()
_DELETED = object()  # a deleted dict key: SQL NULL, as opposed to a JSON null ("null")


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


def _row_key(path: NodePath) -> str:
    # A type tag per part keeps ``3`` (list index) apart from ``"3"`` (dict key); the separator
    # after every part makes "all rows below X" one key range.
    return "".join(f"i{p}{SEP}" if isinstance(p, int) else f"s{p}{SEP}" for p in path)


class _Writer:
    """The thread that owns the SQLite connection and applies committed rows in order."""

    def __init__(self, db: Path) -> None:
        self._db = db
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="keyops-emulator-store", daemon=True)
        self._thread.start()

    def submit(self, rows: list[tuple[NodePath, str | None]]) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put((rows, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = _connect(self._db)
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]
                # Group commit: every batch already waiting goes into the same transaction.
                while not self._queue.empty():
                    nxt = self._queue.get()
                    if nxt is None:
                        self._write(conn, batch)
                        return
                    batch.append(nxt)
                self._write(conn, batch)
        finally:
            conn.close()

    @staticmethod
    def _write(conn: sqlite3.Connection, batch: list[Any]) -> None:
        try:
            with conn:
                for rows, _ in batch:
                    for path, value in rows:
                        _put_row(conn, path, value)
        except Exception as err:  # the answer waiting on this write must fail, not hang
            for _, future in batch:
                future.set_exception(err)
            return
        for _, future in batch:
            future.set_result(None)


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS node (key TEXT PRIMARY KEY, depth INTEGER NOT NULL,"
        " path TEXT NOT NULL, value TEXT)"
    )
    conn.isolation_level = "DEFERRED"
    return conn


def _put_row(conn: sqlite3.Connection, path: NodePath, value: str | None) -> None:
    key = _row_key(path)
    conn.execute("DELETE FROM node WHERE key > ? AND key < ?", (key, key[:-1] + chr(0x20)))
    conn.execute(
        "INSERT INTO node (key, depth, path, value) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, len(path), json.dumps(path), value),
    )


def read_state(db: Path) -> dict[str, Any]:
    """The state document saved in ``db`` (plain JSON values), e.g. to inspect a stopped one."""
    data: dict[str, Any] = {}
    if not db.exists():
        return data
    conn = _connect(db)
    try:
        rows = conn.execute("SELECT path, value FROM node ORDER BY depth, rowid").fetchall()
    finally:
        conn.close()
    for path_text, value in rows:
        _apply(data, json.loads(path_text), value)
    return data


def _apply(data: dict[str, Any], path: list[str | int], value: str | None) -> None:
    parent: Any = data
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return  # below a node deleted later: that deletion is the newer row
    last = path[-1]
    if value is None:
        if isinstance(parent, dict):
            parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and last == len(parent):
        parent.append(json.loads(value))
    elif isinstance(parent, dict) or (isinstance(parent, list) and isinstance(last, int)):
        with contextlib.suppress(IndexError):
            parent[last] = json.loads(value)  # type: ignore[index]


class Store(Owner):
    """The state tree. Services keep their data in ``data[<service>]`` as JSON values."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.RLock()
        #: Changed nodes in the order first touched (a dict, not a set: rows are written, and
        #: so reloaded, in that order, which keeps new dict keys in insertion order).
        self._dirty: dict[NodePath, None] = {}
        self._pending: concurrent.futures.Future[None] | None = None
        loaded = read_state(path) if path is not None else {}
        self.data: TrackedDict = adopt(loaded, self, ())
        self._writer = _Writer(path) if path is not None else None

    def touched(self, path: NodePath) -> None:
        """Note that the node at ``path`` changed (called by the tracked containers)."""
        with self.lock:
            self._dirty.setdefault(path, None)

    def section(self, name: str) -> dict[str, Any]:
        """The (mutable) state of one service, created empty on first use."""
        with self.lock:
            sec = self.data.setdefault(name, {})
            assert isinstance(sec, dict)
            return sec

    def commit(self) -> int:
        """Hand the nodes changed since the last commit to the writer; return how many.

        Await :meth:`durable` (or call :meth:`flush`) before acknowledging the change. An
        in-memory store counts the nodes but writes nothing.
        """
        with self.lock:
            rows = self._changed_rows()
            if self._writer is not None and rows:
                self._pending = self._writer.submit(rows)
            return len(rows)

    def _changed_rows(self) -> list[tuple[NodePath, str | None]]:
        dirty, self._dirty = self._dirty, {}
        chosen: set[NodePath] = set()
        rows: list[tuple[NodePath, str | None]] = []
        for path in sorted(dirty, key=len):  # stable: first-touched first within a depth
            if any(path[:i] in chosen for i in range(len(path))):
                continue  # an ancestor is written whole
            chosen.add(path)
            value = self._resolve(path)
            if value is not _MISSING:
                rows.append((path, None if value is _DELETED else json.dumps(value)))
        return rows

    def _resolve(self, path: NodePath) -> Any:
        """The value at ``path``; _DELETED: its parent lacks it; _MISSING: the parent is gone."""
        node: Any = self.data
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return _MISSING
        try:
            value = node[path[-1]]
        except (KeyError, IndexError):
            return _DELETED if isinstance(node, dict) else _MISSING
        return value

    async def durable(self) -> None:
        """Wait (without blocking the event loop) until every commit so far is written."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.wrap_future(pending)
        elif pending is not None:
            pending.result()

    def flush(self) -> None:
        """Block until every commit so far is written (start-up, shutdown, tests)."""
        pending = self._pending
        if pending is not None:
            pending.result(timeout=30)

    def close(self) -> None:
        """Write what is pending and stop the writer thread."""
        self.commit()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
