"""Git history: every file version of every reachable commit, each distinct blob read once.

One ``git log --all --topo-order --reverse --raw --no-renames --diff-merges=first-parent -z``
lists, parents before children, each commit's message and the blobs it adds or changes, with
their paths. ``--all`` covers every ref (branches, tags, stash); a merge is diffed against its
first parent, so content that exists only in a merge resolution is seen too; ``--no-renames``
reports a moved file under its new path. For each blob we keep the first commit that put it at
each path: that is the commit a finding names. Blob contents are read later with
``git cat-file --batch`` (see :mod:`keyops.scan.tasks`); commit messages are scanned here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyops.scan import gitcmd
from keyops.scan.detectors import Hit, scan_bytes

_LOG_FORMAT = "%x01%H%x02%B%x03"
_FILE_MODES = (b"100644", b"100755")
_CHUNK = 1 << 20


@dataclass
class History:
    """What ``git log`` told us about one repository's history."""

    repo: Path
    #: Commit ids in topological order (parents first).
    commits: list[str] = field(default_factory=list)
    #: blob id -> {path: index in ``commits`` of the first commit putting it there}.
    blobs: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Hits in commit messages: (commit index, hits).
    message_hits: list[tuple[int, list[Hit]]] = field(default_factory=list)


def _tokens(stream: subprocess.Popen[bytes]) -> Iterator[bytes]:
    """NUL-separated tokens of a process's stdout, read in chunks."""
    assert stream.stdout is not None
    pending = b""
    while chunk := stream.stdout.read(_CHUNK):
        parts = (pending + chunk).split(b"\0")
        pending = parts.pop()
        yield from parts
    if pending:
        yield pending


def _header(history: History, token: bytes, live_digests: frozenset[str]) -> None:
    commit, _, rest = token[1:].partition(b"\x02")
    history.commits.append(commit.decode("ascii"))
    message = rest.rpartition(b"\x03")[0]
    hits = scan_bytes(message, live_digests)
    if hits:
        history.message_hits.append((len(history.commits) - 1, hits))


def _record(history: History, meta: bytes, path: bytes) -> None:
    # ":<old mode> <new mode> <old oid> <new oid> <status>"
    fields = meta[1:].split(b" ")
    if len(fields) != 5 or fields[1] not in _FILE_MODES or fields[4].startswith(b"D"):
        return
    oid = fields[3].decode("ascii")
    paths = history.blobs.setdefault(oid, {})
    paths.setdefault(path.decode("utf-8", errors="surrogateescape"), len(history.commits) - 1)


def read_history(
    repo: Path, pathspecs: Sequence[str], live_digests: frozenset[str] = frozenset()
) -> History:
    """Walk all reachable commits of ``repo`` touching ``pathspecs``."""
    args = [
        *gitcmd.GIT_COMMAND,
        "log",
        "--all",
        "--topo-order",
        "--reverse",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--diff-merges=first-parent",
        "-z",
        f"--format={_LOG_FORMAT}",
        "--",
        *pathspecs,
    ]
    history = History(repo)
    try:
        proc = subprocess.Popen(
            args,
            cwd=repo,
            env=gitcmd.git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise gitcmd.GitError("git is not installed (needed to scan history)") from None
    meta: bytes | None = None
    for raw in _tokens(proc):
        token = raw.lstrip(b"\n")
        if meta is not None:
            _record(history, meta, raw)
            meta = None
        elif token.startswith(b"\x01"):
            _header(history, token, live_digests)
        elif token.startswith(b":"):
            meta = token
    assert proc.stderr is not None
    error = proc.stderr.read().decode("utf-8", errors="replace").strip()
    if proc.wait() != 0:
        reason = error.splitlines()[-1] if error else f"exit status {proc.returncode}"
        raise gitcmd.GitError(f"git log failed in {repo}: {reason}")
    return history
