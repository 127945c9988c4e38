"""Shard records: what one job of a pipeline matrix rotated, and merging them into one report.

When one runner is not enough, the CI system fans out: each job runs ``keyops rotate --shard
I/N --record FILE`` and a final job runs ``keyops merge FILE...``. A record carries the hash of
the configuration the shard ran with (the config file and every selection option, not the
shard index), so that a record from another configuration — a stale artifact, a job that ran
an older commit — is refused instead of being merged into a report it does not belong to.
The merged exit status is the worst of the shards' by precedence 1 > 4 > 5 > 3 > 6 > 0: a
failure outranks access denied, which outranks an unreachable service, a configuration error
and a refusal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keyops.errors import ConfigError, KeyopsError
from keyops.exitcodes import ExitStatus

SCHEMA = "keyops.rotation-shard/v1"
#: Worst first: the merged status is the first of these any shard reported.
PRECEDENCE = (
    ExitStatus.FAILED,
    ExitStatus.AUTH,
    ExitStatus.SERVICE,
    ExitStatus.CONFIG,
    ExitStatus.REFUSED,
    ExitStatus.OK,
)


class MissingShardError(KeyopsError):
    """A shard's record is missing or repeated: the run is incomplete (exit status 1)."""


def config_hash(config_text: str | None, selection: Mapping[str, Any]) -> str:
    """The hash of a rotation's configuration: the config file's text and every selection
    option (pass the shard *count*, never the index: all shards of a run share the hash)."""
    doc = json.dumps({"config": config_text, "selection": selection}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(doc.encode("utf-8")).hexdigest()


def shard_record(
    records: Sequence[Mapping[str, Any]],
    *,
    shard: tuple[int, int] | None,
    shard_by: str,
    config: str,
    status: int,
    error: str | None = None,
) -> dict[str, Any]:
    """One shard's record (``keyops.rotation-shard/v1``): its accounts' records and status."""
    return {
        "schema": SCHEMA,
        "config_hash": config,
        "shard": {"index": shard[0], "total": shard[1]} if shard else {"index": 1, "total": 1},
        "shard_by": shard_by,
        "exit_status": int(status),
        "error": error,
        "records": list(records),
    }


@dataclass(frozen=True)
class Merged:
    """The merged run: every account's record (shard order) and the one exit status."""

    records: list[dict[str, Any]]
    status: ExitStatus
    shards: int


def worst(statuses: Sequence[int]) -> ExitStatus:
    """The worst status by :data:`PRECEDENCE` (an unknown status counts as a failure)."""
    ranked = {int(p) for p in PRECEDENCE}
    known = [ExitStatus(s) if s in ranked else ExitStatus.FAILED for s in statuses]
    return next((p for p in PRECEDENCE if p in known), ExitStatus.OK)


def merge(documents: Sequence[tuple[str, Any]], total: int | None = None) -> Merged:
    """Merge ``(file name, decoded JSON)`` shard records; ``total``: the shard count expected.

    ConfigError when a record is not a shard record or comes from another configuration;
    MissingShardError when a shard of ``1..N`` has no record or two.
    """
    if not documents:
        raise MissingShardError("no shard record given")
    shards = [_checked(name, doc) for name, doc in documents]
    first_name, first = shards[0]
    for name, doc in shards[1:]:
        if doc["config_hash"] != first["config_hash"]:
            raise ConfigError(
                f"{name}: from another configuration than {first_name} "
                f"({doc['config_hash'][:19]} vs {first['config_hash'][:19]}); rerun that shard"
            )
    n = total or first["shard"]["total"]
    by_index: dict[int, str] = {}
    for name, doc in shards:
        index, of = doc["shard"]["index"], doc["shard"]["total"]
        if of != n:
            raise ConfigError(f"{name}: shard {index}/{of} of a run split {n} ways")
        if index in by_index:
            raise MissingShardError(f"{name}: shard {index}/{n} again (also {by_index[index]})")
        by_index[index] = name
    missing = [f"{i}/{n}" for i in range(1, n + 1) if i not in by_index]
    if missing:
        raise MissingShardError(
            f"no record for shard {', '.join(missing)}: that job did not finish; rerun it"
        )
    ordered = sorted(shards, key=lambda s: int(s[1]["shard"]["index"]))
    records = [r for _, doc in ordered for r in doc["records"]]
    return Merged(records, worst([doc["exit_status"] for _, doc in ordered]), n)


def _checked(name: str, doc: Any) -> tuple[str, dict[str, Any]]:
    ok = (
        isinstance(doc, dict)
        and doc.get("schema") == SCHEMA
        and isinstance(doc.get("config_hash"), str)
        and isinstance(doc.get("shard"), dict)
        and isinstance(doc["shard"].get("index"), int)
        and isinstance(doc["shard"].get("total"), int)
        and isinstance(doc.get("exit_status"), int)
        and isinstance(doc.get("records"), list)
    )
    if not ok:
        raise ConfigError(f"{name}: not a keyops shard record ({SCHEMA}; written by --record)")
    return name, doc
