"""Key rotation for Azure OpenAI / AI Services accounts, into Key Vault.

Call it from Python::

    from keyops.rotate import RotationOptions, RotationServices, rotate_fleet
    services = RotationServices(env, build_credential(env))
    records = rotate_fleet(targets, services, RotationOptions(dry_run=True), concurrency=4)

Modules: :mod:`~keyops.rotate.plan` (the decision, pure), :mod:`~keyops.rotate.protocol` (the
steps), :mod:`~keyops.rotate.lease` (one rotation per account at a time, across machines),
:mod:`~keyops.rotate.fleet` (concurrency, shards), :mod:`~keyops.rotate.events` (Event Grid),
:mod:`~keyops.rotate.records` (output records and the exit status).
"""

from keyops.rotate.fleet import FleetInterruptedError, parse_shard, rotate_fleet, select_shard
from keyops.rotate.protocol import RotationOptions, rotate_account
from keyops.rotate.records import Action, RotationRecord, exit_status, failure_summary
from keyops.rotate.services import RotationServices

__all__ = [
    "Action",
    "FleetInterruptedError",
    "RotationOptions",
    "RotationRecord",
    "RotationServices",
    "exit_status",
    "failure_summary",
    "parse_shard",
    "rotate_account",
    "rotate_fleet",
    "select_shard",
]
