"""The clients one run shares (keyops.rotate.services): per-host pools of as many connections as
there are workers plus a spare each for the run's sessions, one ARM client per subscription and
one Key Vault client per vault (however its URL is spelled), all closed together."""

from __future__ import annotations

import pytest
import requests

from keyops.rotate import RotationServices
from tests.rotate.conftest import Rig


def _pool(session: requests.Session) -> int:
    """How many connections the session keeps per host (urllib3's pool size)."""
    adapter = session.get_adapter("https://any.host/")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    return int(adapter.poolmanager.connection_pool_kw["maxsize"])


@pytest.mark.parametrize(("concurrency", "pool"), [(None, 6), (1, 3), (2, 4), (6, 8), (12, 14)])
def test_each_session_keeps_a_connection_per_worker_plus_two(
    rig: Rig, concurrency: int | None, pool: int
) -> None:
    services = (
        RotationServices(rig.env, rig.services.credential)
        if concurrency is None
        else RotationServices(rig.env, rig.services.credential, concurrency=concurrency)
    )
    try:
        assert (_pool(services.session), _pool(services._probe_session)) == (pool, pool)
    finally:
        services.close()


def test_one_client_per_vault_and_per_subscription_however_spelled(rig: Rig) -> None:
    services = RotationServices(env=rig.env, credential=rig.services.credential)
    url, sub = rig.vault_url, rig.emu.conn["subscription_id"]
    try:
        first = services.vault(url)
        assert services.vault(url.upper() + "/") is first
        assert services.accounts(sub) is services.accounts(sub.upper())
        services.close()  # every client goes: the next use makes a new one
        assert services.vault(url) is not first
    finally:
        services.close()
