"""Switching key authentication off and on through ARM, as keyless migrations do: the PATCH shows
in ARM at once, reaches the data plane only ``local_auth_delay`` later (Azure takes minutes), and
a PATCH carrying a stale ``If-Match`` is refused with 412 and changes nothing."""

from __future__ import annotations

import pytest

from tests.emulator.arm_support import mgmt
from tests.emulator.openai_support import EUS, chat, key
from tests.support.emulator import EmulatorHandle


def _patch_local_auth(handle: EmulatorHandle, disabled: bool, etag: str | None = None) -> object:
    from azure.mgmt.cognitiveservices.models import Account, AccountProperties

    rg = handle.account(EUS)["resource_group"]
    headers = {"If-Match": etag} if etag else {}
    with mgmt(handle) as client:
        patch = Account(properties=AccountProperties(disable_local_auth=disabled))
        return client.accounts.begin_update(rg, EUS, patch, headers=headers).result()


def _etag(handle: EmulatorHandle) -> str:
    with mgmt(handle) as client:
        return str(client.accounts.get(handle.account(EUS)["resource_group"], EUS).etag)


def test_disabling_local_auth_reaches_the_data_plane_after_the_delay(
    emulator: EmulatorHandle,
) -> None:
    emulator.admin("POST", "settings", {"local_auth_delay": 240})
    value = key(emulator, EUS)
    updated = _patch_local_auth(emulator, True, _etag(emulator))
    assert updated.properties.disable_local_auth is True  # type: ignore[attr-defined]
    assert chat(emulator, EUS, api_key=value).status_code == 200  # not yet on the data plane
    emulator.admin("POST", "clock", {"advance": 239})
    assert chat(emulator, EUS, api_key=value).status_code == 200
    emulator.admin("POST", "clock", {"advance": 2})
    refused = chat(emulator, EUS, api_key=value)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AuthenticationTypeDisabled"


def test_re_enabling_keeps_keys_refused_until_the_change_arrives(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "settings", {"local_auth_delay": 60})
    value = key(emulator, EUS)
    _patch_local_auth(emulator, True)
    emulator.admin("POST", "clock", {"advance": 61})
    _patch_local_auth(emulator, False)
    assert chat(emulator, EUS, api_key=value).status_code == 403
    emulator.admin("POST", "clock", {"advance": 61})
    assert chat(emulator, EUS, api_key=value).status_code == 200


def test_a_flip_back_inside_the_delay_never_reaches_the_data_plane(
    emulator: EmulatorHandle,
) -> None:
    """A portal user undoing the switch a minute later: keys never stop working."""
    emulator.admin("POST", "settings", {"local_auth_delay": 300})
    value = key(emulator, EUS)
    _patch_local_auth(emulator, True)
    emulator.admin("POST", "clock", {"advance": 60})
    _patch_local_auth(emulator, False)
    for _ in range(2):
        emulator.admin("POST", "clock", {"advance": 200})
        assert chat(emulator, EUS, api_key=value).status_code == 200


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(
    emulator: EmulatorHandle,
) -> None:
    from azure.core.exceptions import HttpResponseError

    stale = _etag(emulator)
    _patch_local_auth(emulator, False)  # someone else writes the account (new etag)
    fresh = _etag(emulator)
    assert fresh != stale
    with pytest.raises(HttpResponseError) as info:
        _patch_local_auth(emulator, True, stale)
    assert info.value.status_code == 412
    assert info.value.error is not None and info.value.error.code == "PreconditionFailed"
    assert _etag(emulator) == fresh
    with mgmt(emulator) as client:
        got = client.accounts.get(emulator.account(EUS)["resource_group"], EUS)
    assert got.properties.disable_local_auth is False
    assert _patch_local_auth(emulator, True, "*").properties.disable_local_auth is True  # type: ignore[attr-defined]
