"""Pacing: Azure's token buckets kept on the client side, and what ARM says is left."""

from __future__ import annotations

import requests

from keyops.azure.arm import AccountsClient
from keyops.azure.pacing import Budget, TokenBucket, remaining_from
from keyops.cloud import resolve_environment
from tests.support.emulator import EmulatorHandle


class FakeTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_bucket_gives_its_burst_then_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(burst=200, rate=10, clock=t.clock, sleep=t.sleep)
    assert [bucket.take() for _ in range(200)] == [0.0] * 200
    waits = [bucket.take() for _ in range(20)]
    assert all(w > 0 for w in waits)
    # 20 requests past the burst take 2 s at 10/s, whatever the number of callers.
    assert t.now - 1000.0 == sum(t.slept)
    assert abs(t.now - 1002.0) < 1e-9


def test_what_arm_says_is_left_caps_the_local_bucket() -> None:
    """Another runner with the same principal (a pipeline shard) spent the shared bucket."""
    t = FakeTime()
    bucket = TokenBucket(burst=200, rate=10, clock=t.clock, sleep=t.sleep)
    bucket.take()
    bucket.answered(3)
    assert [bucket.take() for _ in range(3)] == [0.0] * 3
    assert bucket.take() == 0.1
    bucket.answered(500)  # never believe in more than the bucket can hold or has
    assert bucket.tokens < 1


def test_requests_in_flight_are_not_counted_twice() -> None:
    t = FakeTime()
    bucket = TokenBucket(burst=10, rate=1, clock=t.clock, sleep=t.sleep)
    for _ in range(4):
        bucket.take()
    # The first answer says 9 left: the server has not seen the other 3 yet; 6 are really left.
    bucket.answered(9)
    assert bucket.tokens == 6


def test_writes_and_reads_have_their_own_buckets_per_subscription() -> None:
    t = FakeTime()
    budget = Budget(clock=t.clock, sleep=t.sleep)
    sub = "https://management.azure.com/subscriptions/AAA/resourceGroups/rg/providers/x"
    post = budget.before("arm", "POST", sub + "/listKeys")
    get = budget.before("arm", "GET", sub)
    other = budget.before("arm", "POST", sub.replace("AAA", "BBB"))
    assert post is not None and get is not None and other is not None
    assert (post.burst, post.rate) == (200.0, 10.0)  # listKeys is a POST: a write
    assert (get.burst, get.rate) == (250.0, 25.0)
    assert post is budget.bucket("arm", "aaa", "writes") and other is not post
    vault = budget.before("keyvault", "GET", "https://kv-a.vault.azure.net/secrets/s")
    assert vault is not None and vault.burst == 4000.0
    assert budget.before("arm", "GET", "https://management.azure.com/tenants") is None


def test_remaining_header_is_read_case_insensitively() -> None:
    assert remaining_from({"X-Ms-Ratelimit-Remaining-Subscription-Writes": "17"}, "writes") == 17
    assert remaining_from({"x-ms-ratelimit-remaining-subscription-reads": "9"}, "writes") is None
    assert remaining_from({"x-ms-ratelimit-remaining-subscription-writes": "x"}, "writes") is None


def _spend_writes(emu: EmulatorHandle, resource_id: str, limit: int = 400) -> requests.Response:
    """listKeys as keyops-rotator (another runner of the same principal) until ARM says 429."""
    with emu.credential() as cred:
        token = cred.get_token("https://management.azure.com/.default").token
    url = f"{emu.url}{resource_id}/listKeys?api-version=2024-10-01"
    with requests.Session() as http:
        for _ in range(limit):
            r = http.post(
                url, headers={"Authorization": f"Bearer {token}"}, verify=emu.ca_bundle, timeout=10
            )
            if r.status_code != 200:
                return r
    raise AssertionError(f"{limit} writes and no 429")


def test_the_emulator_enforces_arm_buckets_and_keyops_reads_what_is_left(
    emulator: EmulatorHandle,
) -> None:
    emu = emulator
    acct = emu.account("contoso-openai-eus")
    emu.admin("POST", "arm/settings", {"buckets": True})
    throttled = _spend_writes(emu, acct["id"])
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    emu.admin("POST", "clock", {"advance": 2})  # refills ~20 writes, as waiting would
    t = FakeTime()
    budget = Budget(clock=t.clock, sleep=t.sleep)
    env = resolve_environment(str(emu.connection_path), None)
    with emu.credential() as cred:
        client = AccountsClient(env, cred, emu.conn["subscription_id"], budget=budget)
        client.list_keys(acct["id"])
        client.close()
    bucket = budget.bucket("arm", emu.conn["subscription_id"], "writes")
    assert bucket.tokens < 60  # what ARM said is left, not the local burst of 200


def test_workers_starting_together_fetch_each_token_once(emulator: EmulatorHandle) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from keyops.azure.pacing import SingleFlightCredential

    seq = emulator.last_seq
    with emulator.credential() as cred:
        shared = SingleFlightCredential(cred)
        with ThreadPoolExecutor(16) as pool:
            tokens = list(
                pool.map(lambda _: shared.get_token("https://vault.azure.net/.default"), range(16))
            )
    assert len({t.token for t in tokens}) == 1
    fetched = [e for e in emulator.log_since(seq) if e["operation"] == "Token_Acquire"]
    assert len(fetched) == 1
