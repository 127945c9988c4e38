"""End to end over generated repositories: every planted key, no false positive."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from keyops.errors import InputError
from keyops.scan import FindingKind, ScanOptions, scan_paths
from keyops.scan.engine import COMMIT_MESSAGE_PATH
from keyops_bench.scan.corpus import Corpus, generate_tree, git
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key


def _occurrences(corpus: Corpus) -> set[tuple[str, int, str | None, str, FindingKind]]:
    return {(p.path, p.line, p.commit, p.key.fingerprint, p.kind) for p in corpus.planted}


def _found(findings: object) -> set[tuple[str, int, str | None, str, FindingKind]]:
    assert isinstance(findings, tuple)
    return {
        (f.path, f.line, f.commit, f.key_fingerprint, f.kind)
        for f in findings
        if f.kind is not FindingKind.ENV_FILE
    }


def test_every_planted_key_is_found_in_tree_and_history(planted_repo: Corpus) -> None:
    report = scan_paths([planted_repo.root], ScanOptions(history=True))
    expected = _occurrences(planted_repo)
    assert {p.commit is None for p in planted_repo.planted} == {True, False}
    assert len(expected) >= 30
    assert _found(report.findings) == expected
    env = [f for f in report.findings if f.kind is FindingKind.ENV_FILE]
    assert [(f.path, f.detail) for f in env] == [
        (".env", "not ignored by git (git add would add it)")
    ]
    assert report.stats.commits == 6 and report.stats.blobs > report.stats.files


def test_a_clean_repository_of_the_same_size_has_no_findings(
    planted_repo: Corpus, clean_repo: Corpus
) -> None:
    assert abs(clean_repo.size_bytes - planted_repo.size_bytes) < planted_repo.size_bytes * 0.05
    report = scan_paths([clean_repo.root], ScanOptions(history=True))
    assert report.findings == ()
    assert report.stats.scanned_bytes > 2 * 1_000_000


def test_history_reports_keys_removed_from_the_tree(planted_repo: Corpus) -> None:
    in_tree = {p.key.digest for p in planted_repo.planted if p.commit is None}
    gone = [p for p in planted_repo.planted if p.key.digest not in in_tree]
    assert any(p.path == "config/legacy.json" for p in gone)  # file deleted later
    assert any(p.path == "app/experiment.py" for p in gone)  # unmerged branch
    worktree_only = scan_paths([planted_repo.root], ScanOptions())
    assert all(f.commit is None for f in worktree_only.findings)
    assert not {p.key.fingerprint for p in gone} & {
        f.key_fingerprint for f in worktree_only.findings
    }


def test_ignored_files_are_skipped_unless_all_files(planted_repo: Corpus) -> None:
    ignored = {p.key.fingerprint for p in planted_repo.ignored}
    assert ignored
    default = scan_paths([planted_repo.root], ScanOptions())
    assert not ignored & {f.key_fingerprint for f in default.findings}
    everything = scan_paths([planted_repo.root], ScanOptions(all_files=True))
    assert ignored <= {f.key_fingerprint for f in everything.findings}


def test_an_explicit_file_is_scanned_even_when_ignored(planted_repo: Corpus) -> None:
    report = scan_paths([planted_repo.root / "secrets/prod.env"], ScanOptions())
    assert [f.path for f in report.findings] == ["secrets/prod.env"]


def test_process_pool_finds_the_same_as_serial(planted_repo: Corpus) -> None:
    serial = scan_paths([planted_repo.root], ScanOptions(history=True, executor="serial"))
    pooled = scan_paths([planted_repo.root], ScanOptions(history=True, executor="process", jobs=2))
    assert pooled.findings == serial.findings
    assert pooled.stats.executor == "process"


def test_plain_directory_tree(tmp_path: Path) -> None:
    corpus = generate_tree(tmp_path / "tree", size_bytes=400_000, seed=3)
    report = scan_paths([tmp_path / "tree"], ScanOptions())
    prefix = (tmp_path / "tree").as_posix() + "/"
    expected = {(prefix + p.path, p.line, p.key.fingerprint) for p in corpus.planted}
    assert {(f.path, f.line, f.key_fingerprint) for f in report.findings} == expected
    with pytest.raises(InputError, match="needs a git repository"):
        scan_paths([tmp_path / "tree"], ScanOptions(history=True))


def test_commit_messages_and_binaries_in_history(tmp_path: Path) -> None:
    key = make_annotated_key(random.Random(11))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "image.png").write_bytes(b"\x89PNG\0" + key.encode())
    (repo / "data.bin.txt").write_bytes(b"\0\1\2" + key.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"temporary: use key {key}")
    report = scan_paths([repo], ScanOptions(history=True))
    assert [(f.path, f.line, f.kind) for f in report.findings] == [
        (COMMIT_MESSAGE_PATH, 1, FindingKind.ANNOTATED_KEY)
    ]
    assert report.stats.skipped_binary >= 3  # png by name (tree and history), the NUL file


def test_large_files_are_counted_not_read(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("api_key=" + make_legacy_key(random.Random(1)) + "\n" * 999)
    assert len(scan_paths([tmp_path], ScanOptions()).findings) == 1
    report = scan_paths([tmp_path], ScanOptions(max_file_size=1000))
    assert report.findings == () and report.stats.skipped_large == 1
