"""The validity keyops writes as a version's expiry: 1 s to exactly ten years (3650 d), each
limit and one second either side, judged in a dry run before any write."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keyops.rotate import Action, rotate_account
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"
TEN_YEARS = timedelta(days=3650)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("validity", "accepted"),
    [
        (TEN_YEARS, True),
        (TEN_YEARS - SECOND, True),
        (TEN_YEARS + SECOND, False),
        (SECOND, True),
        (timedelta(0), False),
        (-SECOND, False),
    ],
)
def test_validity_is_accepted_from_one_second_to_ten_years(
    rig: Rig, validity: timedelta, accepted: bool
) -> None:
    target = rig.target(WEU, validity=validity, rotate_after=timedelta(days=7))
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(dry_run=True, force=True))
    refused = record.action is Action.FAILED and "validity" in record.reason
    assert refused is not accepted, record.reason
    assert rig.writes_since(seq) == []
