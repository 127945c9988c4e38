"""A fleet runs four accounts at a time unless told otherwise (keyops.rotate.fleet): the workers
that rotated a dry-run fleet of eight, counted by their threads."""

from __future__ import annotations

import threading

from keyops.rotate import RotationRecord, rotate_fleet
from keyops.targets import Selection
from tests.rotate.conftest import Rig, options
from tests.rotate.test_fleet_emulator import add_fleet


def test_a_fleet_runs_on_four_workers_by_default(rig: Rig) -> None:
    add_fleet(rig, 8, "rg-workers")
    targets = rig.targets(Selection(resource_group="rg-workers"))
    workers: set[str] = set()

    def progress(record: RotationRecord) -> None:
        workers.add(threading.current_thread().name)

    records = rotate_fleet(
        targets=targets, services=rig.services, options=options(dry_run=True), progress=progress
    )
    assert [r.account for r in records] == [t.account.name for t in targets]
    assert len(workers) == 4 and all(w.startswith("keyops-rotate") for w in workers)
