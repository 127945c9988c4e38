"""Ctrl-C in a fleet (keyops.rotate.fleet.rotate_fleet), in-process: the interrupt reaches the
main thread through the second account's progress call; no account is started after it, and the
records of the accounts that finished come with the interrupt."""

from __future__ import annotations

import pytest

from keyops.rotate import FleetInterruptedError, RotationRecord, rotate_fleet
from keyops.targets import Selection
from tests.rotate.conftest import Rig, options
from tests.rotate.test_fleet_emulator import add_fleet


def test_an_interrupt_starts_no_other_account_and_keeps_the_finished_records(rig: Rig) -> None:
    add_fleet(rig, 5, "rg-interrupt")
    targets = rig.targets(Selection(resource_group="rg-interrupt"))
    names = [t.account.name for t in targets]
    seen: list[str] = []

    def progress(record: RotationRecord) -> None:
        seen.append(record.account)
        if len(seen) == 2:
            raise KeyboardInterrupt

    seq = rig.emu.last_seq
    with pytest.raises(FleetInterruptedError) as caught:
        rotate_fleet(targets, rig.services, options(dry_run=True), concurrency=1, progress=progress)
    finished = [r.account for r in caught.value.records]
    # The first finished; the second's own progress call was interrupted (no record); the
    # third may already have been under way; the last two were never started.
    assert finished[0] == names[0] and names[1] not in finished
    assert set(finished) <= {names[0], names[2]}
    assert str(caught.value) == f"interrupted after {len(finished)} account(s)"
    touched = " ".join(e["path"] for e in rig.emu.log_since(seq))
    assert names[3] not in touched and names[4] not in touched


def test_an_interrupt_waits_for_the_account_in_flight(rig: Rig) -> None:
    # The key-auth-disabled account is decided with no request: it finishes first, while the
    # other account started with it is still reading.
    entra, weu = rig.target("contoso-openai-entra"), rig.target("contoso-aiservices-weu")
    rest = [rig.target("contoso-openai-eus"), rig.target("contoso-openai-legacy")]

    def progress(record: RotationRecord) -> None:
        if record.account == entra.account.name:
            raise KeyboardInterrupt

    with pytest.raises(FleetInterruptedError) as caught:
        rotate_fleet(
            [entra, weu, *rest],
            rig.services,
            options(dry_run=True),
            concurrency=2,
            progress=progress,
        )
    finished = [r.account for r in caught.value.records]
    assert finished[0] == weu.account.name and entra.account.name not in finished
