"""Sharded runs: each shard a separate process with its record; one merge, one exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from keyops.errors import ConfigError
from keyops.exitcodes import ExitStatus
from keyops.rotate.shards import MissingShardError, config_hash, merge, shard_record, worst
from tests.rotate.conftest import Rig, run_cli
from tests.rotate.test_fleet_emulator import add_fleet


def _doc(index: int, total: int, status: int = 0, config: str = "sha256:a") -> dict[str, Any]:
    return shard_record(
        [{"account": f"a{index}"}],
        shard=(index, total),
        shard_by="account",
        config=config,
        status=status,
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [([0, 6, 3], 3), ([3, 5], 5), ([5, 4, 6], 4), ([4, 1, 0], 1), ([0, 0], 0), ([6, 0], 6)],
)
def test_the_worst_status_wins_by_precedence(statuses: list[int], expected: int) -> None:
    assert worst(statuses) == expected
    docs = [(f"s{i}", _doc(i, len(statuses), s)) for i, s in enumerate(statuses, 1)]
    assert merge(docs).status == expected


def test_a_missing_repeated_or_foreign_shard_fails_the_merge() -> None:
    with pytest.raises(MissingShardError, match="no record for shard 2/3"):
        merge([("s1", _doc(1, 3)), ("s3", _doc(3, 3))])
    with pytest.raises(MissingShardError, match="again"):
        merge([("s1", _doc(1, 2)), ("s1b", _doc(1, 2)), ("s2", _doc(2, 2))])
    with pytest.raises(ConfigError, match="another configuration"):
        merge([("s1", _doc(1, 2)), ("s2", _doc(2, 2, config="sha256:b"))])
    with pytest.raises(ConfigError, match="not a keyops shard record"):
        merge([("s1", {"records": []})])
    with pytest.raises(MissingShardError, match="no record for shard 3/3"):
        merge([("s1", _doc(1, 3)), ("s2", _doc(2, 3))], total=3)
    with pytest.raises(ConfigError, match="split 3 ways"):
        merge([("s1", _doc(1, 2)), ("s2", _doc(2, 2))], total=3)


def test_the_hash_covers_the_configuration_not_the_shard_index() -> None:
    a = config_hash("[defaults]\n", {"resource_group": "rg", "shards": 3})
    assert a == config_hash("[defaults]\n", {"shards": 3, "resource_group": "rg"})
    assert a != config_hash("[defaults]\nforce = true\n", {"resource_group": "rg", "shards": 3})
    assert a != config_hash("[defaults]\n", {"resource_group": "rg", "shards": 4})


def test_shards_as_processes_merge_into_one_report(rig: Rig, tmp_path: Path) -> None:
    add_fleet(rig, 9, "rg-shards")
    common = ["rotate", "-g", "rg-shards", "--vault-url", rig.vault_url, "-o", "json"]
    paths = [tmp_path / f"shard-{i}.json" for i in (1, 2, 3)]
    for i, path in enumerate(paths, 1):
        done = run_cli(rig.emu, *common, "--shard", f"{i}/3", "--record", str(path))
        assert done.returncode == 0, done.stderr
    merged = run_cli(rig.emu, "merge", *map(str, paths), "-o", "json")
    assert merged.returncode == 0, merged.stderr
    doc = json.loads(merged.stdout)
    names = sorted(r["account"] for r in doc["records"])
    assert len(names) == len(set(names)) == 9 and doc["shards"] == 3

    missing = run_cli(rig.emu, "merge", str(paths[0]), str(paths[2]), "--shards", "3")
    assert missing.returncode == ExitStatus.FAILED
    assert missing.stderr.strip().splitlines() == [
        "keyops: error: no record for shard 2/3: that job did not finish; rerun it"
    ]
    foreign = tmp_path / "foreign.json"
    run_cli(rig.emu, *common, "--force", "--shard", "2/3", "--record", str(foreign))
    mixed = run_cli(rig.emu, "merge", str(paths[0]), str(foreign), str(paths[2]))
    assert mixed.returncode == ExitStatus.CONFIG
    assert "from another configuration" in mixed.stderr


def test_a_shard_that_failed_as_a_whole_still_leaves_its_record(rig: Rig, tmp_path: Path) -> None:
    path = tmp_path / "shard-1.json"
    done = run_cli(
        rig.emu,
        "rotate",
        "-g",
        "rg-none-such",
        "--vault-url",
        rig.vault_url,
        "--shard",
        "1/2",
        "--record",
        str(path),
    )
    assert done.returncode == ExitStatus.USAGE
    record = json.loads(path.read_text())
    assert record["exit_status"] == ExitStatus.USAGE and record["error"]


PIPELINES = Path(__file__).resolve().parents[2] / "scripts" / "pipelines"


def test_the_sharded_github_workflow_fans_out_and_merges() -> None:
    doc = yaml.safe_load((PIPELINES / "github-rotation-sharded.yml").read_text())
    rotate, merge_job = doc["jobs"]["rotate"], doc["jobs"]["merge"]
    shards = rotate["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(doc["env"]["KEYOPS_SHARDS"]) + 1))
    assert rotate["strategy"]["fail-fast"] is False
    run = " ".join(s.get("run", "") for s in rotate["steps"])
    assert '--shard "${{ matrix.shard }}/$KEYOPS_SHARDS"' in run and "--record" in run
    assert merge_job["needs"] == "rotate" and merge_job["if"] == "always()"
    assert 'keyops merge --shards "$KEYOPS_SHARDS"' in " ".join(
        s.get("run", "") for s in merge_job["steps"]
    )


def test_the_sharded_azure_pipeline_fans_out_and_merges() -> None:
    doc = yaml.safe_load((PIPELINES / "azure-pipelines-rotation-sharded.yml").read_text())
    rotate, merge_job = doc["jobs"]
    entries = rotate["strategy"]["matrix"].values()
    assert sorted(e["SHARD"] for e in entries) == list(
        range(1, int(doc["variables"]["KEYOPS_SHARDS"]) + 1)
    )
    script = next(s for s in rotate["steps"] if s.get("task") == "AzureCLI@2")
    assert '--shard "$SHARD/$KEYOPS_SHARDS"' in script["inputs"]["inlineScript"]
    assert merge_job["dependsOn"] == "rotate" and merge_job["condition"] == "always()"
    assert any(
        'keyops merge --shards "$KEYOPS_SHARDS"' in s.get("script", "") for s in merge_job["steps"]
    )
