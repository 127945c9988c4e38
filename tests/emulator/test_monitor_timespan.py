"""Monitor's ``timespan`` in every encoding real clients send, answered in Azure's normal form.

The Azure CLI encodes the value twice (``%253A``); SDKs once; an offset's ``+`` may arrive
unencoded (so form decoding turns it into a space); times without an offset are UTC. Azure
accepts all of them and echoes ``<start>Z/<end>Z``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from keyops.emulator.core.clock import iso, parse_iso
from tests.emulator.monitor_support import ARM, metrics_call
from tests.emulator.openai_support import EUS, ca, token
from tests.support.emulator import EmulatorHandle


def _hours_before_now(handle: EmulatorHandle) -> tuple[str, str]:
    now = int(handle.server.emulator.clock.now()) // 3600 * 3600
    return iso(now - 30 * 3600)[:19], iso(now - 26 * 3600 + 1800)[:19]


@pytest.mark.parametrize(
    "written",
    [
        "{s}Z/{e}Z",
        "{s}/{e}",  # naive: UTC
        "{s}+00:00/{e}+00:00",
        "{s}.000Z/{e}.0000000Z",
        "{s}+02:00/{e}+02:00",  # shifted: the answer is in UTC
    ],
)
@pytest.mark.parametrize("times_encoded", [1, 2])
def test_timespan_encodings_are_accepted_and_normalised(
    shared_emulator: EmulatorHandle, written: str, times_encoded: int
) -> None:
    s, e = _hours_before_now(shared_emulator)
    value = written.format(s=s, e=e)
    # requests encodes once more: 2 here is the CLI's double encoding on the wire
    sent = value if times_encoded == 1 else quote(value, safe="")
    r = metrics_call(
        shared_emulator,
        shared_emulator.account(EUS)["id"],
        {"metricnames": "AzureOpenAIRequests", "timespan": sent, "interval": "PT1H"},
    )
    assert r.status_code == 200, r.text
    shift = 2 * 3600 if "+02:00" in written else 0
    start = iso(parse_iso(s + "Z") - shift)[:19] + "Z"
    end = iso(parse_iso(e + "Z") - shift)[:19] + "Z"
    assert r.json()["timespan"] == f"{start}/{end}"


def test_an_unencoded_plus_offset_is_read_as_an_offset(shared_emulator: EmulatorHandle) -> None:
    s, e = _hours_before_now(shared_emulator)
    rid = shared_emulator.account(EUS)["id"]
    url = (
        f"{shared_emulator.url}{rid}/providers/Microsoft.Insights/metrics?api-version=2024-02-01"
        f"&metricnames=AzureOpenAIRequests&interval=PT1H&timespan={s}+00:00/{e}+00:00"
    )
    r = requests.get(
        url,
        verify=ca(shared_emulator),
        timeout=10,
        headers={"Authorization": f"Bearer {token(shared_emulator, 'keyops-rotator', ARM)}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["timespan"] == f"{s}Z/{e}Z"


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z/2026-12-02T00:00:00Z"])
def test_a_malformed_timespan_is_still_refused(shared_emulator: EmulatorHandle, bad: str) -> None:
    for sent in (bad, quote(bad, safe="")):
        r = metrics_call(
            shared_emulator,
            shared_emulator.account(EUS)["id"],
            {"metricnames": "AzureOpenAIRequests", "timespan": sent},
        )
        assert r.status_code == 400 and "Invalid timespan" in r.text, r.text
