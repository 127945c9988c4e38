"""Shard records and their merge (keyops.rotate.shards), figure by figure: the record's shard,
the merged order, which shard is missing, and what makes a file no shard record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keyops.errors import ConfigError
from keyops.exitcodes import ExitStatus
from keyops.rotate.shards import MissingShardError, merge, shard_record, worst
from tests.rotate.test_shards import _doc


def test_a_shard_record_names_its_shard_of_the_run() -> None:
    doc = shard_record(
        records=[{"account": "x"}],
        shard=(2, 5),
        shard_by="account",
        config="sha256:c",
        status=ExitStatus.REFUSED,
        error="e",
    )
    assert doc == {
        "schema": "keyops.rotation-shard/v1",
        "config_hash": "sha256:c",
        "shard": {"index": 2, "total": 5},
        "shard_by": "account",
        "exit_status": 6,
        "error": "e",
        "records": [{"account": "x"}],
    }
    whole = shard_record([], shard=None, shard_by="account", config="sha256:c", status=0)
    assert whole["shard"] == {"index": 1, "total": 1} and whole["error"] is None


def test_the_merge_orders_records_by_shard_whatever_the_file_order() -> None:
    docs = [("s3", _doc(3, 3)), ("s1", _doc(1, 3)), ("s2", _doc(2, 3, status=6))]
    merged = merge(docs)
    assert [r["account"] for r in merged.records] == ["a1", "a2", "a3"]
    assert (merged.status, merged.shards) == (ExitStatus.REFUSED, 3)


def test_a_single_unsharded_record_merges_alone() -> None:
    merged = merge(
        [("only", shard_record([], shard=None, shard_by="account", config="h", status=0))]
    )
    assert (merged.records, merged.status, merged.shards) == ([], ExitStatus.OK, 1)


@pytest.mark.parametrize(
    ("present", "missing"),
    [((2, 3), "1/3"), ((1, 3), "2/3"), ((1, 2), "3/3"), ((2,), "1/3, 3/3")],
)
def test_the_merge_names_each_missing_shard(present: tuple[int, ...], missing: str) -> None:
    with pytest.raises(MissingShardError) as caught:
        merge([(f"s{i}", _doc(i, 3)) for i in present])
    assert str(caught.value) == f"no record for shard {missing}: that job did not finish; rerun it"


def test_a_record_of_a_run_split_otherwise_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        merge([("s1", _doc(1, 2)), ("t2", _doc(2, 3))])
    assert str(caught.value) == "t2: shard 2/3 of a run split 2 ways"
    with pytest.raises(ConfigError, match=r"^s1: shard 1/2 of a run split 3 ways$"):
        merge([("s1", _doc(1, 2)), ("s2", _doc(2, 2))], total=3)


def test_a_repeated_shard_names_both_files() -> None:
    with pytest.raises(MissingShardError) as caught:
        merge([("s1", _doc(1, 2)), ("s2", _doc(2, 2)), ("again", _doc(2, 2))])
    assert str(caught.value) == "again: shard 2/2 again (also s2)"


def test_records_read_back_from_their_files_merge() -> None:
    """As the merge job reads them: each record decoded from its own JSON file (equal strings,
    not the same objects)."""
    docs = [
        (f"s{i}", json.loads(json.dumps(_doc(i, 3, config="sha256:" + "c" * 64))))
        for i in (2, 3, 1)
    ]
    merged = merge(docs)
    assert [r["account"] for r in merged.records] == ["a1", "a2", "a3"]


@pytest.mark.parametrize("order", ["a-then-b", "b-then-a"])
def test_a_foreign_configuration_shows_both_hashes_to_19_characters(order: str) -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    if order == "b-then-a":
        a, b = b, a
    with pytest.raises(ConfigError) as caught:
        merge([("s1", _doc(1, 2, config=a)), ("s2", _doc(2, 2, config=b))])
    assert str(caught.value) == (
        f"s2: from another configuration than s1 ({b[:19]} vs {a[:19]}); rerun that shard"
    )


def test_no_record_is_a_missing_shard() -> None:
    with pytest.raises(MissingShardError, match="no shard record given"):
        merge([])


def _broken(**change: Any) -> dict[str, Any]:
    doc = _doc(1, 1)
    for key, value in change.items():
        if key in ("index", "total"):
            doc["shard"] = {**doc["shard"], key: value}
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        [],
        _broken(schema="keyops.rotation/v1"),
        _broken(config_hash=None),
        _broken(shard=[1, 1]),
        _broken(index="1"),
        _broken(total=1.0),
        _broken(exit_status="0"),
        _broken(records={}),
    ],
)
def test_anything_else_is_not_a_shard_record(doc: Any) -> None:
    assert merge([("good", _doc(1, 1))]).shards == 1  # each field alone breaks the record
    with pytest.raises(ConfigError) as caught:
        merge([("bad.json", doc)])
    assert str(caught.value) == (
        "bad.json: not a keyops shard record (keyops.rotation-shard/v1; written by --record)"
    )


@pytest.mark.parametrize(("statuses", "expected"), [([], 0), ([2], 1), ([0, 130], 1), ([6], 6)])
def test_an_unknown_status_counts_as_a_failure(statuses: list[int], expected: int) -> None:
    assert worst(statuses) == expected


def test_a_run_split_300_ways_merges() -> None:
    """Shard counts past CPython's small-int cache, each record read from its own file."""
    docs = [(f"s{i}", json.loads(json.dumps(_doc(i, 300)))) for i in range(1, 301)]
    merged = merge(docs)
    assert merged.shards == 300 and len(merged.records) == 300
