"""Shards and the fleet's bounds (keyops.rotate.fleet), figure by figure: which ``I/N`` is a
shard, which shard an account falls in (fixed: jobs of one matrix, and runs of different keyops
versions, must agree), and what ``--shard-by subscription`` keeps together."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from keyops.azure.arm import Account
from keyops.config import Settings
from keyops.errors import ConfigError, InputError
from keyops.rotate import rotate_fleet, select_shard
from keyops.rotate.fleet import MAX_CONCURRENCY, parse_shard, shard_of
from keyops.targets import Target

ID = "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{name}"


def _target(sub: str, name: str) -> Target:
    account = Account(
        id=ID.format(sub=sub, name=name),
        name=name,
        subscription_id=sub,
        resource_group="rg",
        kind="OpenAI",
        location="eastus",
        endpoint=f"https://{name}.openai.azure.com/",
        custom_subdomain=name,
        disable_local_auth=False,
        public_network_access="Enabled",
    )
    return Target(name, account, Settings(vault_url="https://kv.vault.azure.net"), f"{name}-key")


@pytest.mark.parametrize(
    ("text", "shard"), [("1/1", (1, 1)), ("1/2", (1, 2)), ("2/2", (2, 2)), ("7/9", (7, 9))]
)
def test_a_shard_is_i_of_n_from_1_to_n(text: str, shard: tuple[int, int]) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/1", "2/1", "1/", "/1", "1-2", "1/2/3", "x/2"])
def test_anything_else_is_no_shard(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_shard(text)
    assert str(caught.value) == f"bad --shard {text!r} (expected I/N with 1 <= I <= N, e.g. 2/4)"


@pytest.mark.parametrize(
    ("key", "shards"),
    [
        ("sub-a", [1, 1, 3, 3]),
        ("sub-b", [1, 1, 1, 5]),
        ("sub-c", [2, 3, 2, 2]),
        ("SUB-D", [1, 2, 3, 1]),
        (ID.format(sub="sub-a", name="d"), [2, 1, 4, 4]),
        (ID.format(sub="sub-a", name="g"), [2, 3, 4, 3]),
    ],
)
def test_an_account_falls_in_the_same_shard_in_every_run(key: str, shards: list[int]) -> None:
    assert [shard_of(key, n) for n in (2, 3, 4, 5)] == shards


def test_by_subscription_a_subscription_stays_in_one_shard() -> None:
    fleet = [_target("sub-a", n) for n in "abcdefgh"] + [_target("sub-c", n) for n in "xyz"]
    by_sub = [select_shard(fleet, (i, 3), "subscription") for i in (1, 2, 3)]
    assert [[t.name for t in s] for s in by_sub] == [list("abcdefgh"), [], list("xyz")]
    by_account = [select_shard(fleet, (i, 3)) for i in (1, 2, 3)]
    assert [[t.name for t in s] for s in by_account] == [
        ["c", "d", "x", "y", "z"],
        ["a"],
        list("befgh"),
    ]
    assert sorted(t.name for s in by_account for t in s) == sorted(t.name for t in fleet)
    assert select_shard(fleet, None) == fleet


@pytest.mark.parametrize("concurrency", [0, MAX_CONCURRENCY + 1, -1])
def test_a_concurrency_outside_1_to_128_is_refused_before_any_call(concurrency: int) -> None:
    with pytest.raises(InputError) as caught:
        rotate_fleet([_target("sub-a", "a")], None, concurrency=concurrency)  # type: ignore[arg-type]
    assert str(caught.value) == "--concurrency must be between 1 and 128"


def test_a_concurrency_of_128_is_allowed_and_more_than_5_missing_vaults_are_counted() -> None:
    """128 passes the bound (the next check, a vault for every target, then refuses): the
    message names five targets and counts the rest."""
    fleet = [replace(_target("sub-a", f"a{i}"), settings=Settings()) for i in range(11)]
    with pytest.raises(ConfigError) as caught:
        rotate_fleet(fleet, None, concurrency=MAX_CONCURRENCY)  # type: ignore[arg-type]
    assert str(caught.value).startswith("no vault_url for a0, a1, a2, a3, a4 and 6 more (")


def test_every_account_falls_in_exactly_one_of_300_shards() -> None:
    """Past the small integers Python caches: shards 257 to 300 hold accounts too."""
    fleet = [_target("sub-a", f"acct-{i}") for i in range(200)]
    shards = [select_shard(fleet, (i, 300)) for i in range(1, 301)]
    assert sum(len(s) for s in shards) == len(fleet)
    assert any(shards[256:])


def test_shard_by_is_account_or_subscription_however_the_text_was_made() -> None:
    fleet = [_target("sub-a", n) for n in "abcdefgh"] + [_target("sub-c", n) for n in "xyz"]
    by = json.loads('"subscription"')  # read from a file: equal to the constant, not it
    assert [t.name for t in select_shard(fleet, (3, 3), by)] == list("xyz")
    with pytest.raises(InputError) as caught:
        select_shard(fleet, (1, 3), "tenant")
    assert str(caught.value) == "bad --shard-by 'tenant' (expected account or subscription)"
