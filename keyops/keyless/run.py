"""Running ``keyless plan`` over targets: read each account's evidence and role assignments, then
plan (:mod:`keyops.keyless.plan`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keyops.audit.access import access_view
from keyops.keyless.plan import AccountPlan, keyless_already, plan_account

if TYPE_CHECKING:
    from keyops.azure.authorization import AuthorizationClient
    from keyops.targets import Target
    from keyops.usedby import EvidenceReader


def plan_targets(
    targets: Sequence[Target],
    reader: EvidenceReader,
    authorization_for: Callable[[str], AuthorizationClient],
    lookback: timedelta,
    now: datetime,
) -> list[AccountPlan]:
    """One plan per target, in the targets' order."""
    plans = []
    for target in targets:
        account = target.account
        if account.disable_local_auth:
            plans.append(keyless_already(account.name, account.id))
            continue
        authz = authorization_for(account.subscription_id)
        access = access_view(
            account.id, authz.list_role_assignments(account.id), authz.get_role_definition
        )
        evidence = reader.evidence(target, lookback, now)
        plans.append(plan_account(account.name, account.id, evidence, access, lookback, now))
    return plans
