"""Is the account due, by the run's one listing of its vault? Then its first read is left out.

Key Vault's listing of a vault's secrets (``GetSecrets``) carries each secret's latest version's
attributes and tags, no value. The rotation lists each target vault once per run anyway (its
other-holder check, :mod:`keyops.rotate.holders`), and the age rules need only the latest
version's ``created``. So an account the listing shows as due goes straight to its lease, where
the latest version and both keys are read and decide, as every write's decision always was.

The listing only ever spares a read, never changes a decision: one that is stale, or whose
``created`` is not the latest version's, says "due" at worst for an account that is not, which
costs a lease and nothing else (the read under the lease skips it); any other answer (not due,
not listed, disabled, or no listing) leaves the first read to decide, exactly as without it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from keyops.errors import KeyopsError
from keyops.rotate.plan import AccountState, due_by_vault

if TYPE_CHECKING:
    from keyops.rotate.steps import AccountRun


def due_by_listing(run: AccountRun) -> bool:
    """Whether the run's listing of the target's vault shows its secret's latest version due.

    False for a dry run (its plan reads everything), for a run whose decision rests on the keys
    or on logs (local auth disabled, a revoke), and whenever the listing cannot tell.
    """
    policy = run.policy
    if (
        run.options.dry_run
        or run.target.account.disable_local_auth
        or policy.revoke_previous
        or policy.when_moved
    ):
        return False
    try:
        listed = run.services.holders.listing(run.vault)
    except KeyopsError:
        return False  # the first read decides, and reports any error it meets itself
    latest = listed.get(run.target.secret_name.lower())
    if latest is None or not latest.enabled or latest.created is None:
        return False
    # Its age on Key Vault's clock (the Date of its latest answer), as a read's age is, whatever
    # this runner's clock says.
    seen = replace(latest, read_at=run.vault.clock.now())
    return due_by_vault(AccountState(run.target.account, seen, None), policy, run.now())
