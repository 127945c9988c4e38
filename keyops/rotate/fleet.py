"""Many accounts at once: bounded concurrency, isolation, and deterministic sharding.

Accounts run on a small thread pool; one account's failure is its own record and never stops
the others. ``--shard I/N`` keeps the accounts whose resource-id hash falls in shard I, so the
jobs of a pipeline matrix split a fleet without talking to each other, and an account stays in
its shard when others are added or removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from keyops.errors import ConfigError, InputError
from keyops.rotate.protocol import RotationOptions, rotate_account
from keyops.targets import check_one_writer

if TYPE_CHECKING:
    from keyops.rotate.records import RotationRecord
    from keyops.rotate.services import RotationServices
    from keyops.targets import Target

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 128


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (1-based, I ≤ N) -> ``(I, N)``; anything else is an InputError."""
    index, sep, total = text.partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        i, n = 0, 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise InputError(f"bad --shard {text!r} (expected I/N with 1 <= I <= N, e.g. 2/4)")
    return i, n


def shard_of(resource_id: str, total: int) -> int:
    """The 1-based shard an account (or a subscription id) belongs to among ``total``."""
    digest = hashlib.sha256(resource_id.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


#: How ``--shard`` splits a fleet: by account, or keeping each subscription in one shard.
SHARD_BY = ("account", "subscription")


def select_shard(
    targets: Sequence[Target], shard: tuple[int, int] | None, by: str = "account"
) -> list[Target]:
    """The targets of shard ``(I, N)`` (all of them when ``shard`` is None), order kept.

    The whole fleet is checked for one writer per account first (:func:`check_one_writer`):
    two accounts mapped to one secret may fall in different shards. ``by="subscription"``
    keeps every account of a subscription in the same shard: ARM's request budget is per
    subscription and principal, so shards that run as one principal then never spend the same
    bucket (by account, they all draw on every subscription's).
    """
    if by not in SHARD_BY:
        raise InputError(f"bad --shard-by {by!r} (expected {' or '.join(SHARD_BY)})")
    check_one_writer(targets)
    if shard is None:
        return list(targets)
    index, total = shard

    def key(t: Target) -> str:
        return t.account.subscription_id if by == "subscription" else t.resource_id

    return [t for t in targets if shard_of(key(t), total) == index]


def rotate_fleet(
    targets: Sequence[Target],
    services: RotationServices,
    options: RotationOptions | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Callable[[RotationRecord], None] | None = None,
) -> list[RotationRecord]:
    """Rotate every target (at most ``concurrency`` at a time); records in target order.

    ``progress`` is called from worker threads as each account finishes. A target without a
    vault URL, two targets on one account, or two targets writing one secret are a
    configuration error for the whole run (ConfigError), raised before any call.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    missing = [t.name for t in targets if not t.vault_url]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ConfigError(
            f"no vault_url for {shown} (set vault_url in keyops.toml [defaults] or "
            "a target, or pass --vault-url)"
        )
    check_one_writer(targets)
    options = options or RotationOptions()

    def one(target: Target) -> RotationRecord:
        record = rotate_account(target, services, options)
        if progress is not None:
            progress(record)
        return record

    # Workers, even for one account: Ctrl-C reaches the main thread, which then starts no other
    # account while those in flight finish their write sequence and release their leases.
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="keyops-rotate")
    futures = [pool.submit(one, t) for t in targets]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        # Start no other account; let those in flight finish their write sequence (each ends
        # with its lease released), then report what is done.
        pool.shutdown(wait=True, cancel_futures=True)
        finished = [
            f.result() for f in futures if f.done() and not f.cancelled() and not f.exception()
        ]
        raise FleetInterruptedError(finished) from None
    finally:
        pool.shutdown(wait=True)


class FleetInterruptedError(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during a fleet rotation: ``records`` are the accounts that finished."""

    def __init__(self, records: list[RotationRecord]) -> None:
        super().__init__(f"interrupted after {len(records)} account(s)")
        self.records = records
