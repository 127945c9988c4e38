"""The .env writer: git must ignore the file, mode 0600 from creation, lossless merge."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values

from keyops.errors import RefusedError
from keyops.handover.dotenv_file import check_writable, git_ignores, merge_dotenv, write_dotenv
from keyops.handover.source import Variable
from keyops.secret import SecretValue
from tests.secure.support import git_repo

KEY = "0123456789abcdef0123456789abcdef"
VARS = [
    Variable("AZURE_OPENAI_API_KEY", SecretValue(KEY)),
    Variable("AZURE_OPENAI_ENDPOINT", "https://a.openai.azure.com/"),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", ignore=(".env", "*.local.env"))


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """umask 0: a file created with default permissions would be world-readable."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_new_file_is_0600_even_with_umask_0(repo: Path, wide_umask: None) -> None:
    result = write_dotenv(repo / ".env", VARS)
    assert result.created and result.added == ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT")
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600
    assert dotenv_values(repo / ".env") == {
        "AZURE_OPENAI_API_KEY": KEY,
        "AZURE_OPENAI_ENDPOINT": VARS[1].text(),
    }
    assert [p.name for p in repo.iterdir() if p.name.endswith(".tmp")] == []


def test_merge_keeps_every_other_line_and_tightens_the_mode(repo: Path) -> None:
    original = (
        "# app settings\nexport OTHER='a b'\nAZURE_OPENAI_API_KEY=old\n\n"
        "DEBUG=1 # comment\nexport AZURE_OPENAI_API_KEY=older\nbroken line\n"
    )
    path = repo / "app.local.env"
    path.write_text(original)
    path.chmod(0o644)
    result = write_dotenv(path, VARS)
    text = path.read_text()
    assert not result.created and result.replaced == ("AZURE_OPENAI_API_KEY",)
    assert result.added == ("AZURE_OPENAI_ENDPOINT",) and result.kept == 2
    assert text.startswith("# app settings\nexport OTHER='a b'\n")
    assert f"AZURE_OPENAI_API_KEY={KEY}\n\nDEBUG=1 # comment\n" in text
    assert "broken line" in text and "old" not in text
    assert dotenv_values(path)["OTHER"] == "a b"
    assert dotenv_values(path)["AZURE_OPENAI_API_KEY"] == KEY
    assert path.stat().st_mode & 0o777 == 0o600


def test_values_that_need_quotes_read_back_unchanged() -> None:
    odd = [Variable("V", SecretValue("a b'c\\d#e"))]
    text, _, _ = merge_dotenv("", odd)
    from io import StringIO

    assert dotenv_values(stream=StringIO(text)) == {"V": "a b'c\\d#e"}


@pytest.mark.parametrize("name", ["settings.env", "tracked.env"])
def test_refuses_files_git_does_not_ignore(repo: Path, name: str) -> None:
    if name == "tracked.env":
        (repo / ".gitignore").write_text("tracked.env\n")
        (repo / name).write_text("KEEP=1\n")
        subprocess.run(["git", "-C", str(repo), "add", "-f", name], check=True)
    with pytest.raises(RefusedError, match="git does not ignore it"):
        write_dotenv(repo / name, VARS)
    assert not (repo / name).exists() or (repo / name).read_text() == "KEEP=1\n"


def test_refuses_outside_a_git_work_tree(tmp_path: Path) -> None:
    assert git_ignores(tmp_path / ".env") is None
    with pytest.raises(RefusedError, match="not inside a git work tree"):
        check_writable(tmp_path / ".env")
    assert not (tmp_path / ".env").exists()


def test_refuses_a_symlink_even_to_an_ignored_file(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.write_text("")
    (repo / ".env").symlink_to(outside)
    with pytest.raises(RefusedError, match="not a regular file"):
        write_dotenv(repo / ".env", VARS)
    assert outside.read_text() == ""
