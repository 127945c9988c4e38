"""A ``.env`` file holding a key: written only where git ignores it, mode 0600 from birth.

Three guards, checked before any Azure call is made and before anything is written:

- git must ignore the path (``git check-ignore``; a tracked file is not ignored, and outside a
  git work tree nothing can prove the file stays out of version control), otherwise the
  command is refused (exit 6);
- the path must be a regular file or not exist yet (a symlink could redirect the write);
- the parent directory must exist.

The new content is written to a temporary file created with ``O_CREAT|O_EXCL`` and mode 0600 in
the same directory, then renamed over the target, so no reader ever sees a partial file or a
moment when the key sits in a file with wider permissions. An existing file is merged: every
line is kept as written (comments, ``export`` prefixes, other variables) except the assignments
of the variables keyops writes, which are replaced in place (python-dotenv's parser finds them).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keyops.errors import ConfigError, RefusedError
from keyops.handover.source import Variable

#: Mode of every file keyops writes that holds a secret.
SECRET_FILE_MODE = 0o600
_UNQUOTED = re.compile(r"^[A-Za-z0-9_./:@+,-]*$")


@dataclass(frozen=True)
class DotenvWrite:
    """What :func:`write_dotenv` did (no values)."""

    path: Path
    created: bool
    replaced: tuple[str, ...]
    added: tuple[str, ...]
    kept: int


def git_ignores(path: Path) -> bool | None:
    """Whether git ignores ``path``: True, False, or None outside a git work tree.

    Raises ConfigError when git itself cannot be run.
    """
    try:
        proc = subprocess.run(
            ["git", "check-ignore", "-q", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(
            "git is not installed: cannot check that the file is git-ignored"
        ) from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"git check-ignore failed: {exc}") from None
    if proc.returncode == 0:
        return True
    if proc.returncode == 1:
        return False
    return None


def check_writable(path: Path) -> Path:
    """Refuse (exit 6) unless ``path`` may receive a key; returns the absolute path."""
    path = Path(os.path.abspath(path))
    if not path.parent.is_dir():
        raise ConfigError(f"directory {path.parent} does not exist")
    with contextlib.suppress(FileNotFoundError):
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise RefusedError(
                f"refusing to write {path}: it exists and is not a regular file "
                "(a symlink or directory could send the key elsewhere)"
            )
    ignored = git_ignores(path)
    if ignored is None:
        raise RefusedError(
            f"refusing to write {path}: it is not inside a git work tree, so "
            "nothing shows it stays out of version control (use keyops run, or "
            "write inside a repository that ignores the file)"
        )
    if not ignored:
        raise RefusedError(
            f"refusing to write {path}: git does not ignore it (add "
            f"{path.name!r} to .gitignore; a tracked file is never ignored)"
        )
    return path


def _quote(value: str) -> str:
    if _UNQUOTED.match(value):
        return value
    # python-dotenv's single quotes take no escapes but \\ and \'.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _line(name: str, value: str, export: bool) -> str:
    return f"{'export ' if export else ''}{name}={_quote(value)}\n"


def merge_dotenv(text: str, variables: Sequence[Variable]) -> tuple[str, list[str], int]:
    """``text`` with each variable assigned once; returns (text, names replaced, lines kept)."""
    from dotenv.parser import parse_stream

    wanted = {v.name: v for v in variables}
    done: list[str] = []
    out: list[str] = []
    kept = 0
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.error or binding.key not in wanted:
            out.append(original)
            kept += bool(binding.key)
            continue
        body = original.lstrip()
        lead = original[: len(original) - len(body)]
        if binding.key in done:
            out.append(lead)  # a later duplicate would override the new value: drop it
            continue
        done.append(binding.key)
        out.append(
            lead + _line(binding.key, wanted[binding.key].text(), body.startswith("export "))
        )
    merged = "".join(out)
    if merged and not merged.endswith("\n"):
        merged += "\n"
    for variable in variables:
        if variable.name not in done:
            merged += _line(variable.name, variable.text(), False)
    return merged, done, kept


def _verify(text: str, variables: Sequence[Variable]) -> None:
    from dotenv import dotenv_values

    read = dotenv_values(stream=io.StringIO(text))
    for variable in variables:
        if read.get(variable.name) != variable.text():
            raise ConfigError(f"cannot write {variable.name} so that it reads back unchanged")


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a 0600 temporary file in the same directory."""
    temp = path.with_name(f".{path.name}.keyops-{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temp, flags, SECRET_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_dotenv(path: Path, variables: Sequence[Variable]) -> DotenvWrite:
    """Write (or merge) ``variables`` into the ``.env`` file at ``path`` (see module doc).

    Call :func:`check_writable` first (before fetching the key); it is checked again here.
    """
    path = check_writable(path)
    try:
        existing = path.read_text(encoding="utf-8")
        created = False
    except FileNotFoundError:
        existing, created = "", True
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    text, replaced, kept = merge_dotenv(existing, variables)
    _verify(text, variables)
    try:
        _write_private(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    added = tuple(v.name for v in variables if v.name not in replaced)
    return DotenvWrite(path, created, tuple(replaced), added, kept)
