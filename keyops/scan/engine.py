"""The scan: list what to read, run the rules in parallel, turn hits into findings.

Working-tree findings carry ``commit=None``. History findings (``ScanOptions.history``) name the
first commit, in topological order, that put the key at that path; the same key at the same path
in later commits is not reported again, but the same key at another path is. A key that is both
in the working tree and in history is reported twice on purpose: deleting the file does not undo
the commit, the key must be rotated.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from keyops.errors import InputError
from keyops.scan import tasks as tasklib
from keyops.scan.detectors import ANNOTATED, Hit
from keyops.scan.findings import Finding, FindingKind, finding_fingerprint
from keyops.scan.gitcmd import blob_sizes
from keyops.scan.history import History, read_history
from keyops.scan.walker import WorkTree, collect_worktree, has_binary_extension

DEFAULT_MAX_FILE_SIZE = 10 << 20
#: Where a commit-message finding is reported.
COMMIT_MESSAGE_PATH = "(commit message)"
#: File extensions of source code: a key found there is reported as hard-coded.
SOURCE_EXTENSIONS = frozenset(
    """bash bat c cc cjs cpp cs cshtml dart fs go groovy h hpp ipynb java js jsx kt kts lua m mjs
    php pl ps1 psm1 py r rb rs scala sh sql swift ts tsx vb vue zsh""".split()  # noqa: SIM905 (one word per line: 40 lines)
)


@dataclass(frozen=True)
class ScanOptions:
    """How to scan. ``live_digests`` are SHA-256 hex digests of the live keys."""

    history: bool = False
    all_files: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    jobs: int = 0
    executor: str = "auto"
    live_digests: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScanStats:
    """Counters for the summary line and the benchmark."""

    files: int = 0
    blobs: int = 0
    commits: int = 0
    scanned_bytes: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    seconds: float = 0.0
    executor: str = "serial"


@dataclass(frozen=True)
class ScanReport:
    """The findings (sorted: most severe first) and what was scanned."""

    findings: tuple[Finding, ...]
    stats: ScanStats = field(default_factory=ScanStats)
    suppressed: int = 0


def _kind_for(hit: Hit, path: str) -> FindingKind:
    if hit.live:
        return FindingKind.LIVE_KEY
    suffix = PurePosixPath(path).suffix[1:].lower()
    if suffix in SOURCE_EXTENSIONS:
        return FindingKind.HARDCODED_KEY
    return FindingKind.ANNOTATED_KEY if hit.key_format == ANNOTATED else FindingKind.LEGACY_KEY


def finding_from_hit(hit: Hit, path: str, commit: str | None) -> Finding:
    """Classify a hit found at ``path`` (in ``commit``, or the working tree)."""
    kind = _kind_for(hit, path)
    return Finding(
        kind=kind,
        path=path,
        line=hit.line,
        commit=commit,
        severity=kind.default_severity,
        excerpt=hit.excerpt,
        key_fingerprint=hit.key_fingerprint,
        fingerprint=finding_fingerprint(kind, path, hit.key_digest),
        detail=hit.detail,
        form=hit.form,
    )


def _env_findings(tree: WorkTree) -> list[Finding]:
    kind = FindingKind.ENV_FILE
    return [
        Finding(
            kind=kind,
            path=env.display,
            line=None,
            commit=None,
            severity=kind.default_severity,
            excerpt="",
            key_fingerprint=None,
            fingerprint=finding_fingerprint(kind, env.display, None),
            detail="tracked by git" if env.tracked else "not ignored by git (git add would add it)",
        )
        for env in tree.env_files
    ]


@dataclass
class _HistoryPlan:
    history: History
    tasks: list[tasklib.Task]
    skipped_binary: int
    skipped_large: int
    total_bytes: int


def _plan_history(repo: Path, specs: Sequence[str], options: ScanOptions) -> _HistoryPlan:
    history = read_history(repo, specs, options.live_digests)
    text_blobs = {
        oid: paths
        for oid, paths in history.blobs.items()
        if not all(has_binary_extension(path) for path in paths)
    }
    sizes = blob_sizes(repo, list(text_blobs))
    small = [(oid, oid, size) for oid, size in sizes.items() if size <= options.max_file_size]
    tasks = tasklib.make_batches(small, str(repo), options.max_file_size, options.live_digests)
    return _HistoryPlan(
        history=history,
        tasks=tasks,
        skipped_binary=len(history.blobs) - len(text_blobs),
        skipped_large=len(sizes) - len(small),
        total_bytes=sum(size for _, _, size in small),
    )


def _history_findings(history: History, hits: dict[str, list[Hit]]) -> list[Finding]:
    """Findings for blob hits and message hits, first commit per (path, kind, key) only."""
    candidates: list[tuple[int, Finding]] = []
    for oid, blob_hits in hits.items():
        for path, index in history.blobs[oid].items():
            commit = history.commits[index]
            candidates.extend((index, finding_from_hit(h, path, commit)) for h in blob_hits)
    for index, message_hits in history.message_hits:
        commit = history.commits[index]
        candidates.extend(
            (index, finding_from_hit(h, COMMIT_MESSAGE_PATH, commit)) for h in message_hits
        )
    candidates.sort(key=lambda item: (item[0], item[1].line or 0))
    first: dict[str, Finding] = {}
    for _, finding in candidates:
        first.setdefault(finding.fingerprint, finding)
    return list(first.values())


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first, then working tree before history, then path and line."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (-f.severity, f.commit is not None, f.path, f.line or 0, f.kind.value),
        )
    )


def _stats(
    tree: WorkTree,
    plans: Sequence[_HistoryPlan],
    results: tuple[list[tasklib.TaskResult], list[tasklib.TaskResult]],
    executor: str,
    started: float,
) -> ScanStats:
    file_results, blob_results = results
    every = [*file_results, *blob_results]
    return ScanStats(
        files=sum(r.scanned for r in file_results),
        blobs=sum(r.scanned for r in blob_results),
        commits=sum(len(plan.history.commits) for plan in plans),
        scanned_bytes=sum(r.scanned_bytes for r in every),
        skipped_binary=tree.skipped_binary
        + sum(r.binary for r in every)
        + sum(plan.skipped_binary for plan in plans),
        skipped_large=tree.skipped_large
        + sum(r.large for r in every)
        + sum(plan.skipped_large for plan in plans),
        seconds=time.perf_counter() - started,
        executor=executor,
    )


def scan_paths(paths: Sequence[Path], options: ScanOptions) -> ScanReport:
    """Scan the working tree under ``paths`` (and, with ``options.history``, their history)."""
    started = time.perf_counter()
    tree = collect_worktree(paths, all_files=options.all_files, max_file_size=options.max_file_size)
    if options.history and tree.plain_paths:
        raise InputError(
            f"history scan needs a git repository: {tree.plain_paths[0]} is not in one"
        )
    sized = ((f.path, f.display, f.size) for f in tree.files)
    file_tasks = tasklib.make_batches(sized, "", options.max_file_size, options.live_digests)
    plans = (
        [_plan_history(repo, specs, options) for repo, specs in tree.repos.items()]
        if options.history
        else []
    )
    all_tasks = file_tasks + [task for plan in plans for task in plan.tasks]
    total = sum(f.size for f in tree.files) + sum(plan.total_bytes for plan in plans)
    executor, workers = tasklib.resolve_executor(options.executor, total, options.jobs, all_tasks)
    results = tasklib.execute(all_tasks, executor, workers)
    file_results = list(itertools.islice(results, len(file_tasks)))
    plan_results = [list(itertools.islice(results, len(plan.tasks))) for plan in plans]

    findings = _env_findings(tree)
    for result in file_results:
        for display, hits in result.hits.items():
            findings.extend(finding_from_hit(hit, display, None) for hit in hits)
    for plan, done in zip(plans, plan_results, strict=True):
        blob_hits = {oid: hits for result in done for oid, hits in result.hits.items()}
        findings.extend(_history_findings(plan.history, blob_hits))
    blob_results = [result for done in plan_results for result in done]
    stats = _stats(tree, plans, (file_results, blob_results), executor, started)
    return ScanReport(findings=sort_findings(findings), stats=stats)


def without_fingerprints(report: ScanReport, fingerprints: frozenset[str]) -> ScanReport:
    """The report minus findings whose fingerprint is in ``fingerprints`` (a baseline)."""
    kept = tuple(f for f in report.findings if f.fingerprint not in fingerprints)
    return replace(
        report, findings=kept, suppressed=report.suppressed + len(report.findings) - len(kept)
    )
