"""Which working-tree files the scanner reads.

Decision: inside a git work tree, scan what git would publish — tracked files plus untracked files
that are not ignored (``git ls-files --cached`` and ``--others --exclude-standard``). Ignored
files are where keys are *meant* to live (``keyops env`` writes a git-ignored ``.env``), so they
are skipped unless ``all_files`` is set. Outside git, every regular file below the path is
scanned, except in ``.git``/``.hg``/``.svn`` directories. In both cases symlinks are not
followed, nested repositories and submodules are not entered, files with a binary extension or
over the size limit are counted but not read, and a file named explicitly is always scanned.

Reported paths are repository-relative inside git (so working-tree and history findings of the
same file agree), else the given path joined with the file's relative path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from keyops.scan import gitcmd

#: Extensions whose content is never text worth scanning (compressed, media, compiled).
BINARY_EXTENSIONS = frozenset(
    """7z a avi bin bmp bz2 class dll dylib eot exe flac gif gz ico jar jpeg jpg mov mp3 mp4
    npy o ogg onnx otf parquet pdf pkl png pt pyc pyd pyo so sqlite tgz ttf war wav webm webp
    whl woff woff2 xz zip zst""".split()  # noqa: SIM905 (one word per line: 48 lines)
)
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults", "schema")


def is_env_file(name: str) -> bool:
    """True for ``.env``, ``.env.local``, ``prod.env``...; False for ``.env.example`` & co."""
    lowered = name.lower()
    if not (lowered == ".env" or lowered.startswith(".env.") or lowered.endswith(".env")):
        return False
    return not any(word in lowered for word in _ENV_TEMPLATES)


def has_binary_extension(path: str) -> bool:
    """True when the file name's extension marks binary content."""
    suffix = PurePosixPath(path).suffix
    return suffix[1:].lower() in BINARY_EXTENSIONS if suffix else False


@dataclass(frozen=True)
class FileTarget:
    """A file to read: where it is on disk, how it is reported, its size in bytes."""

    path: str
    display: str
    size: int


@dataclass(frozen=True)
class EnvFile:
    """A ``.env`` file git would publish (``tracked``: already committed)."""

    display: str
    tracked: bool


@dataclass
class WorkTree:
    """Everything the working-tree phase needs, collected up front."""

    files: list[FileTarget] = field(default_factory=list)
    env_files: list[EnvFile] = field(default_factory=list)
    #: git top-level -> pathspecs (repository-relative) that were asked for, for ``--history``.
    repos: dict[Path, list[str]] = field(default_factory=dict)
    #: Paths that are not inside a git work tree (walked as plain directories).
    plain_paths: list[Path] = field(default_factory=list)
    skipped_binary: int = 0
    skipped_large: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)
    _real_dirs: dict[Path, str] = field(default_factory=dict, repr=False)

    def _real_dir(self, directory: Path) -> str:
        # Only directories are resolved: resolving a file would follow a symlink to its target.
        real = self._real_dirs.get(directory)
        if real is None:
            real = self._real_dirs[directory] = os.path.realpath(directory)
        return real

    def add(self, path: Path, display: str, max_file_size: int) -> None:
        """Add one file unless already added, a symlink or special file, binary or too large."""
        key = os.path.join(self._real_dir(path.parent), path.name)
        if key in self._seen:
            return
        self._seen.add(key)
        try:
            info = os.lstat(path)
        except OSError:
            return  # deleted from the working tree, or unreadable
        if not stat.S_ISREG(info.st_mode):
            return
        if has_binary_extension(display):
            self.skipped_binary += 1
        elif info.st_size > max_file_size:
            self.skipped_large += 1
        else:
            self.files.append(FileTarget(str(path), display, info.st_size))


def _collect_git(tree: WorkTree, top: Path, target: Path, all_files: bool, limit: int) -> None:
    rel = target.resolve().relative_to(top.resolve()).as_posix()
    spec = "." if rel == "." else rel
    tree.repos.setdefault(top, []).append(spec)
    tracked = gitcmd.ls_files(top, [spec], "--cached")
    untracked = gitcmd.ls_files(top, [spec], "--others", "--exclude-standard")
    ignored = (
        gitcmd.ls_files(top, [spec], "--others", "--ignored", "--exclude-standard")
        if all_files
        else []
    )
    for names, is_tracked in ((tracked, True), (untracked, False)):
        for name in names:
            if is_env_file(PurePosixPath(name).name):
                tree.env_files.append(EnvFile(name, is_tracked))
    for name in _unique([*tracked, *untracked, *ignored]):
        if not name.endswith("/"):  # a nested repository: not ours to scan
            tree.add(top / name, name, limit)
    if target.is_file():  # named explicitly: scanned even when ignored
        tree.add(target, rel, limit)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _collect_plain(tree: WorkTree, target: Path, limit: int) -> None:
    if target.is_file():
        tree.add(target, target.as_posix(), limit)
        return
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = sorted(d for d in dirnames if d not in _VCS_DIRS)
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            tree.add(path, os.path.normpath(path).replace(os.sep, "/"), limit)


def collect_worktree(paths: Sequence[Path], *, all_files: bool, max_file_size: int) -> WorkTree:
    """List the files to scan under ``paths`` (see the module docstring for the rules)."""
    tree = WorkTree()
    for target in paths:
        directory = target if target.is_dir() else target.parent
        top = gitcmd.toplevel(directory)
        if top is None:
            tree.plain_paths.append(target)
            _collect_plain(tree, target, max_file_size)
        else:
            _collect_git(tree, top, target, all_files, max_file_size)
    return tree
