"""Units of work for the worker pool: a batch of files, or of blobs, scanned in one worker.

Workers get paths or blob ids (never contents, so nothing big is pickled) and send back hits
(never keys). Processes are the default for big scans: the rules are regex and bytes work that
holds the GIL, so threads do not run them in parallel (``scripts/bench_scan.py --executors``
measures it). Small scans run in-process, where a pool's start-up would cost more than it saves.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keyops.scan import gitcmd
from keyops.scan.detectors import Hit, scan_bytes

#: The executors ``execute`` knows; "auto" picks serial or process by the amount of data.
EXECUTORS = ("auto", "serial", "thread", "process")
#: Below this many bytes in total, "auto" scans in-process.
AUTO_SERIAL_BYTES = 8 << 20
#: A batch closes at this many bytes or items, whichever comes first.
BATCH_BYTES = 2 << 20
BATCH_ITEMS = 256
#: git's own test for binary content: a NUL byte in the first 8000 bytes.
_BINARY_PROBE = 8000


@dataclass(frozen=True)
class Task:
    """A batch: file paths (``repo`` empty) or blob ids of the repository at ``repo``."""

    items: tuple[str, ...]
    displays: tuple[str, ...]
    repo: str
    max_size: int
    live_digests: frozenset[str]


@dataclass(frozen=True)
class TaskResult:
    """Hits per reported path (files) or per blob id (blobs), with counters."""

    hits: dict[str, list[Hit]]
    scanned: int
    scanned_bytes: int
    binary: int
    large: int


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:_BINARY_PROBE]


def _read_file(path: str, max_size: int) -> bytes | None:
    """The file's bytes, or None when it grew over the limit since it was listed."""
    with open(path, "rb") as handle:
        data = handle.read(max_size + 1)
    return None if len(data) > max_size else data


def _contents(task: Task) -> Iterator[tuple[str, bytes | None]]:
    if task.repo:
        yield from gitcmd.read_blobs(Path(task.repo), task.items)
        return
    for path, display in zip(task.items, task.displays, strict=True):
        try:
            yield display, _read_file(path, task.max_size)
        except OSError:
            continue  # vanished or unreadable since it was listed: nothing to report


def run_task(task: Task) -> TaskResult:
    """Scan one batch (runs in a worker)."""
    hits: dict[str, list[Hit]] = {}
    scanned = scanned_bytes = binary = large = 0
    for name, data in _contents(task):
        if data is None:
            large += 1
        elif _is_binary(data):
            binary += 1
        else:
            scanned += 1
            scanned_bytes += len(data)
            found = scan_bytes(data, task.live_digests)
            if found:
                hits[name] = found
    return TaskResult(hits, scanned, scanned_bytes, binary, large)


def make_batches(
    sized: Iterable[tuple[str, str, int]], repo: str, max_size: int, live: frozenset[str]
) -> list[Task]:
    """Group ``(item, display, size)`` into tasks of about BATCH_BYTES / BATCH_ITEMS."""
    tasks: list[Task] = []
    items: list[str] = []
    displays: list[str] = []
    total = 0
    for item, display, size in sized:
        items.append(item)
        displays.append(display)
        total += size
        if total >= BATCH_BYTES or len(items) >= BATCH_ITEMS:
            tasks.append(Task(tuple(items), tuple(displays), repo, max_size, live))
            items, displays, total = [], [], 0
    if items:
        tasks.append(Task(tuple(items), tuple(displays), repo, max_size, live))
    return tasks


def resolve_executor(
    executor: str, total_bytes: int, jobs: int, tasks: Sequence[Task]
) -> tuple[str, int]:
    """The executor and worker count to use for ``tasks`` holding ``total_bytes``."""
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    if executor == "auto":
        executor = "serial" if total_bytes < AUTO_SERIAL_BYTES or workers == 1 else "process"
    if len(tasks) <= 1:
        executor = "serial"  # nothing to spread
    return executor, workers


def execute(tasks: Sequence[Task], executor: str, workers: int) -> Iterator[TaskResult]:
    """Run tasks with the given executor; results come back in task order."""
    if executor == "serial":
        yield from map(run_task, tasks)
        return
    pool: concurrent.futures.Executor
    if executor == "thread":
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers)
    with pool:
        yield from pool.map(run_task, tasks)
