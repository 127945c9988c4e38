"""The few git plumbing commands the scanner runs, as subprocesses with NUL-separated output.

Every command runs with ``--literal-pathspecs`` (a path is never a glob) and without a pager.
git's own messages are passed on in :class:`GitError`; they name paths and refs, never contents.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from keyops.errors import ConfigError

#: The git command line prefix every call uses.
GIT_COMMAND = ("git", "--no-pager", "--literal-pathspecs", "-c", "core.quotePath=false")
#: Environment for git: no prompts, no locale-dependent messages we might parse.
_ENV_OVERRIDES = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


class GitError(ConfigError):
    """git is missing, or refused a command (not a repository, unsafe directory, ...)."""


def git_env() -> dict[str, str]:
    """The environment git runs with."""
    return {**os.environ, **_ENV_OVERRIDES}


def run_git(repo: Path, args: Sequence[str]) -> bytes:
    """Run ``git args`` in ``repo`` and return stdout; raise GitError on failure."""
    try:
        done = subprocess.run(
            [*GIT_COMMAND, *args], cwd=repo, env=git_env(), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to scan a repository)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = message[-1] if message else f"exit status {done.returncode}"
        raise GitError(f"git {args[0]} failed in {repo}: {reason}")
    return done.stdout


def toplevel(directory: Path) -> Path | None:
    """The root of the git work tree containing ``directory``, or None (no repo, no git)."""
    try:
        out = run_git(directory, ["rev-parse", "--show-toplevel"])
    except GitError:
        return None
    text = out.decode("utf-8", errors="surrogateescape").strip()
    return Path(text) if text else None


def split_nul(data: bytes) -> list[str]:
    """Decode NUL-separated git output (paths keep undecodable bytes as surrogates)."""
    return [item.decode("utf-8", errors="surrogateescape") for item in data.split(b"\0") if item]


def ls_files(repo: Path, pathspecs: Sequence[str], *options: str) -> list[str]:
    """``git ls-files -z OPTIONS -- PATHSPECS``: repository-relative paths."""
    return split_nul(run_git(repo, ["ls-files", "-z", *options, "--", *pathspecs]))


def _feed(stdin: IO[bytes], oids: Iterable[str]) -> None:
    """Write object ids to a cat-file stdin from a thread, so that its stdout never blocks us."""
    try:
        for oid in oids:
            stdin.write(f"{oid}\n".encode("ascii"))
    except BrokenPipeError:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()


def _cat_file(repo: Path, mode: str, oids: Sequence[str]) -> subprocess.Popen[bytes]:
    try:
        proc = subprocess.Popen(
            [*GIT_COMMAND, "cat-file", mode],
            cwd=repo,
            env=git_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to scan history)") from None
    assert proc.stdin is not None
    threading.Thread(target=_feed, args=(proc.stdin, oids), daemon=True).start()
    return proc


def blob_sizes(repo: Path, oids: Sequence[str]) -> dict[str, int]:
    """Sizes of the given blobs (``git cat-file --batch-check``); missing objects are left out."""
    proc = _cat_file(repo, "--batch-check", oids)
    assert proc.stdout is not None
    sizes: dict[str, int] = {}
    for line in proc.stdout:
        parts = line.split()
        if len(parts) == 3 and parts[1] == b"blob":
            sizes[parts[0].decode("ascii")] = int(parts[2])
    proc.wait()
    return sizes


def read_blobs(repo: Path, oids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """Stream ``(oid, content)`` for the given blobs (``git cat-file --batch``), in order."""
    proc = _cat_file(repo, "--batch", oids)
    out = proc.stdout
    assert out is not None
    try:
        while True:
            header = out.readline()
            if not header:
                break
            parts = header.split()
            if len(parts) != 3:  # "<oid> missing"
                continue
            size = int(parts[2])
            content = out.read(size)
            out.read(1)  # the newline after each object
            if parts[1] == b"blob":
                yield parts[0].decode("ascii"), content
    finally:
        out.close()
        proc.wait()
