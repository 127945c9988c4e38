"""``also_store`` copies figure by figure (keyops.rotate.copies): each copy's write is fenced and
read back in that order, a stale copy anywhere in the list stops the regenerate, and a copy that
reads back as something else fails the account as a copy conflict."""

from __future__ import annotations

import json
import threading

import pytest

from keyops.secret import SecretValue
from tests.policy.conftest import Fleet, account_id
from tests.policy.test_copies import stale_dr_copy


def _config(fleet: Fleet) -> str:
    return fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\n\n'
        f'[[targets]]\nname = "a1"\nresource_id = "{account_id("pol-a1")}"\n'
        f'also_store = ["{fleet.main}/pol-a1-batch", "{fleet.dr}/pol-a1-dr"]\n'
    )


def _record(result: object) -> dict[str, object]:
    (record,) = json.loads(result.stdout)["accounts"]  # type: ignore[attr-defined]
    return record  # type: ignore[no-any-return]


def test_each_copy_is_fenced_written_and_read_back_in_turn(fleet: Fleet) -> None:
    config = _config(fleet)
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate", "-o", "json")
    assert result.exit_code == 0, result.stderr
    entries = [e for e in fleet.emu.log_since(seq) if e["surface"] == "keyvault"]
    ops = [(e["operation"], (e["path"].split("/") + [""] * 5)[4]) for e in entries]
    # After the primary's store and read-back: for each copy, the lease, the write, the read.
    primary = ops.index(("SetSecret", "pol-a1-api-key"))
    batch = ops.index(("SetSecret", "pol-a1-batch"))
    dr = ops.index(("SetSecret", "pol-a1-dr"))
    assert primary < batch < dr
    assert ops[batch - 1][0] == "GetSecretVersions" and ops[dr - 1][0] == "GetSecretVersions"
    assert ops[batch + 1] == ("GetSecret", "pol-a1-batch")
    assert ops[dr + 1] == ("GetSecret", "pol-a1-dr")


def test_a_stale_copy_last_in_the_list_still_stops_the_regenerate(fleet: Fleet) -> None:
    config = _config(fleet)
    key1, key2 = stale_dr_copy(fleet)
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate", "-o", "json")
    assert result.exit_code == 6, result.stderr
    record = _record(result)
    assert (record["action"], record["reason_code"]) == ("refused", "copy-stale")
    assert str(record["reason"]).startswith(
        f"account pol-a1: copy {fleet.dr}/pol-a1-dr still held Key2 ("
    )
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.secret("kv-dr", "pol-a1-dr").value == key1
    assert fleet.keys("pol-a1") == (key1, key2)


def test_a_copy_gone_when_read_back_is_a_copy_conflict(fleet: Fleet) -> None:
    config = _config(fleet)
    # Twice: the guard's read before the regenerate (absent anyway), then the read-back.
    fleet.emu.secret_gone("pol-a1-batch", times=2)
    result = fleet.run("--config", config, "rotate", "-o", "json")
    assert result.exit_code == 1, result.stderr
    record = _record(result)
    assert (record["action"], record["reason_code"]) == ("failed", "copy-conflict")
    assert str(record["reason"]).startswith(
        f"copy {fleet.main}/pol-a1-batch: latest version holds nothing, not the version "
    )
    assert str(record["reason"]).endswith("just stored; another writer?")


@pytest.mark.parametrize("order", ["below", "above"])
def test_a_copy_overwritten_before_its_read_back_is_a_copy_conflict(
    fleet: Fleet, order: str
) -> None:
    """Another writer stores into the copy while this run's read-back is on its way (held by
    the emulator until that writer is done): the read-back finds that writer's value, not this
    run's key, whether its digest sorts below or above the key's."""
    config = _config(fleet)
    # The guard's read before the regenerate goes through; the read-back after the store waits.
    rule = fleet.emu.fault(
        {"operation": "GetSecret", "kind": "hold", "match": "pol-a1-batch", "skip": 1}
    )
    other = fleet.emu.secret_client("kv-main")
    other.get_secret("pol-a1-api-key")  # its token first: the rival writes at once

    def rival() -> None:  # once the read-back is held, writes over this run's store
        try:
            while not fleet.emu.held(rule):
                if done.is_set():
                    return
            mine = SecretValue(other.get_secret("pol-a1-batch").value or "").digest
            other.set_secret("pol-a1-batch", rival_value(mine, order))
        finally:
            fleet.emu.release(rule)

    done = threading.Event()
    thread = threading.Thread(target=rival)
    thread.start()
    try:
        result = fleet.run("--config", config, "rotate", "-o", "json")
    finally:
        done.set()
        thread.join()
        other.close()
    record = _record(result)
    assert (record["action"], record["reason_code"]) == ("failed", "copy-conflict"), record
    assert str(record["reason"]).startswith(
        f"copy {fleet.main}/pol-a1-batch: latest version holds sha256:"
    )
    assert "a-rival-writers-value" not in result.stdout + result.stderr


def rival_value(digest: str, order: str) -> str:
    """A rival writer's value whose digest sorts ``below`` or ``above`` ``digest``."""
    values = (f"a-rival-writers-value-{i}" for i in range(64))
    return next(v for v in values if (SecretValue(v).digest < digest) == (order == "below"))
