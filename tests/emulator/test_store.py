"""The emulator's state store: only what changed is written, and nothing acknowledged is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keyops.emulator.core.store import Store, read_state


def _reopen(path: Path, store: Store) -> dict[str, Any]:
    store.close()
    return read_state(path)


def test_every_kind_of_change_survives_a_reload(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    arm = store.section("arm")
    arm["accounts"] = [{"name": "a", "keys": {"Key1": 1}}, {"name": "b", "keys": {"Key1": 2}}]
    arm["accounts"].append({"name": "c", "keys": {"Key1": 3}})
    store.commit()
    arm["accounts"][1]["keys"]["Key1"] = 20  # a nested set inside a list item
    arm["accounts"][2]["tags"] = None  # a JSON null, which is not a deletion
    del arm["accounts"][0]["keys"]  # a deleted key
    arm.setdefault("zeta", {})["x"] = [1, 2]
    arm["alpha"] = 1  # dict order is insertion order, not sorted
    store.commit()
    loaded = _reopen(db, store)
    assert loaded == json.loads(json.dumps(store.data))
    assert list(loaded["arm"]) == ["accounts", "zeta", "alpha"]
    assert loaded["arm"]["accounts"][0] == {"name": "a"}
    assert loaded["arm"]["accounts"][2]["tags"] is None


def test_moving_list_items_rewrites_the_list_and_later_changes_follow_them(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    items = store.section("s").setdefault("items", [])
    items.extend([{"n": 0}, {"n": 1}, {"n": 2}])
    store.commit()
    del items[0]
    store.commit()
    items[0]["n"] = 10  # was index 1 before the delete: its path must have moved
    items.insert(0, {"n": -1})
    items.sort(key=lambda d: -d["n"])
    items[-1]["seen"] = True
    store.commit()
    expected = json.loads(json.dumps(store.data))
    assert _reopen(db, store) == expected
    assert expected["s"]["items"] == [{"n": 10}, {"n": 2}, {"n": -1, "seen": True}]


def test_a_commit_writes_what_changed_not_the_world(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    accounts = store.section("arm").setdefault("accounts", [])
    accounts.extend({"name": f"a{i}", "keys": {"Key1": {"value": "k"}}} for i in range(2000))
    assert store.commit() == 1  # the new list, written once
    accounts[1234]["keys"]["Key1"] = {"value": "new"}
    accounts[1234]["regenerations"] = 1
    assert store.commit() == 2
    accounts.append({"name": "late"})
    assert store.commit() == 1
    assert store.commit() == 0
    store.close()


def test_a_value_put_in_is_copied_and_the_stored_one_is_tracked(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    mine = {"versions": []}
    store.section("kv")["entry"] = mine
    store.section("kv")["entry"]["versions"].append({"v": 1})
    store.commit()
    assert mine == {"versions": []}
    assert _reopen(db, store)["kv"]["entry"]["versions"] == [{"v": 1}]


def test_an_in_memory_store_writes_nothing(tmp_path: Path) -> None:
    store = Store(None)
    store.section("a")["b"] = 1
    store.commit()
    store.flush()
    store.close()
    assert list(tmp_path.iterdir()) == []


# --- a real emulator process, killed with SIGKILL right after its last answer ------------------


@contextmanager
def _served(state: Path) -> Iterator[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "KEYOPS_EMULATOR_HOME"}
    cmd = [sys.executable, "-m", "keyops", "emulator", "serve", "--state-dir", str(state)]
    proc = subprocess.Popen(
        [*cmd, "--propagation-delay", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    conn_path = state / "connection.json"
    try:
        deadline = time.monotonic() + 60
        while not conn_path.exists():  # readiness, not time passing
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "emulator did not become ready"
            time.sleep(0.05)
        yield json.loads(conn_path.read_text())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        conn_path.unlink(missing_ok=True)  # a killed emulator leaves it behind


def _clients(conn: dict[str, Any]) -> tuple[Any, Any]:
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    rotator = next(p for p in conn["principals"] if p["name"] == "keyops-rotator")
    cred = ClientSecretCredential(
        conn["tenant_id"],
        rotator["client_id"],
        rotator["client_secret"],
        authority=conn["url"],
        disable_instance_discovery=True,
        connection_verify=conn["ca_bundle"],
    )
    verify = {"connection_verify": conn["ca_bundle"], "retry_total": 0}
    mgmt = CognitiveServicesManagementClient(
        cred, conn["subscription_id"], base_url=conn["url"], **verify
    )
    vault = next(v["url"] for v in conn["vaults"] if v["name"] == "kv-keyops-prod")
    secrets = SecretClient(vault, cred, verify_challenge_resource=False, **verify)
    return mgmt, secrets


def test_sigkill_right_after_an_answer_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Each acknowledged write is read back from a restarted process; the last one was answered
    immediately before the SIGKILL, with no request after it to flush anything."""
    state = tmp_path / "served"
    with _served(state) as conn:
        mgmt, secrets = _clients(conn)
        acct = next(a for a in conn["accounts"] if a["name"] == "contoso-openai-eus")
        sets = [secrets.set_secret("sigkill-probe", f"v{i}") for i in range(5)]
        versions = [s.properties.version for s in sets]
        keys = mgmt.accounts.regenerate_key(acct["resource_group"], acct["name"], key_name="Key1")
        acknowledged_key = keys.key1
    with _served(state) as conn:
        mgmt, secrets = _clients(conn)
        listed = mgmt.accounts.list_keys(acct["resource_group"], acct["name"])
        kept = {v.version for v in secrets.list_properties_of_secret_versions("sigkill-probe")}
        latest = secrets.get_secret("sigkill-probe").value
    assert listed.key1 == acknowledged_key
    assert kept == set(versions)
    assert latest == "v4"
