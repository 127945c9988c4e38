"""``keyops keyless``: which accounts can leave keys behind (``plan``), and the switch
(``apply``, with ``--rollback``). Thin shell over :mod:`keyops.keyless`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.params import DURATION, confirmation_option
from keyops.cli.session import AzureSession, resolve_cli_targets, selection_options
from keyops.errors import InputError

_HELP_EPILOG = """\b
Exit statuses: plan: 0 (the verdicts are data), 2 bad flags, 3-5 as every command.
apply: 0 done, planned (dry run), still watching, or nothing to do; 1 the watch saw 403s
since the switch (a caller still uses a key); 6 refused: a key caller in the last
--quiet-for, logs that cannot show there is none, or the account changed since it was read
(etag); 2 bad flags or not exactly one account; 3-5 as every command.
"""


@click.group("keyless", epilog=_HELP_EPILOG)
def keyless() -> None:
    """Move accounts off keys to Microsoft Entra ID, on the evidence of who uses them."""


@keyless.command("plan", params=[output_option("table", "json")])
@selection_options
@click.option(
    "--lookback",
    type=DURATION,
    default="8d",
    show_default=True,
    envvar="KEYOPS_LOOKBACK",
    help="How far back the logs are read (7d or more sees a weekly key caller).",
)
@pass_app
def plan(app: AppContext, /, output: str, lookback: Any, **selection: Any) -> None:
    """Per account: who still calls with a key, whether each consumer identity already holds a
    role with the inference dataAction, the role assignments to add, and a verdict (ready, or
    blocked and by whom)."""
    from keyops.azure.authorization import AuthorizationClient
    from keyops.keyless.run import plan_targets
    from keyops.usedby import live_reader

    with AzureSession(app, selection["subscription"]) as azure:
        targets = _targets(app, azure, selection)
        clients: dict[str, AuthorizationClient] = {}

        def authorization_for(sub: str) -> AuthorizationClient:
            if sub not in clients:
                clients[sub] = AuthorizationClient(app.env, azure.credential(), sub)
            return clients[sub]

        reader = live_reader(app.env, azure.credential())
        try:
            now = _server_now(azure, targets)
            plans = plan_targets(targets, reader, authorization_for, lookback, now)
        finally:
            reader.close()
            for client in clients.values():
                client.close()
    _render_plans(plans, output)


@keyless.command("apply", params=[output_option("table", "json")])
@selection_options
@confirmation_option("--confirm", help="Make the change (without it: a dry run).")
@confirmation_option(
    "--rollback", help="Turn key authentication back on (the keys of before work again)."
)
@confirmation_option(
    "--regenerate-keys",
    help="With --rollback: regenerate both keys first, while the account still refuses keys "
    "(then store one with keyops rotate --repair).",
)
@click.option(
    "--quiet-for",
    type=DURATION,
    default="8d",
    show_default=True,
    envvar="KEYOPS_QUIET_FOR",
    help="The last check: no key caller in the logs of this long (7d or more sees a weekly one).",
)
@click.option(
    "--watch",
    type=DURATION,
    default="30m",
    show_default=True,
    envvar="KEYOPS_WATCH",
    help="How long after the switch a rerun watches for 403s (AuthenticationTypeDisabled).",
)
@pass_app
def apply(app: AppContext, /, output: str, **opts: Any) -> None:
    """Set disableLocalAuth on one account (--account): a last check of the logs, a PATCH of
    only that property with If-Match on its etag, then, on a rerun, a watch for callers the
    switch broke. Dry run unless --confirm; --rollback turns keys back on."""
    from keyops.azure.metrics import MetricsClient
    from keyops.keyless.apply import ApplyOptions, KeylessClients
    from keyops.keyless.apply import apply as apply_one
    from keyops.usedby import live_reader

    if opts["regenerate_keys"] and not opts["rollback"]:
        raise InputError("--regenerate-keys goes with --rollback")
    if not opts["account"]:
        raise InputError("keyless apply acts on one account: pass --account NAME")
    selection = {k: opts[k] for k in ("subscription", "resource_group", "account", "tags")}
    with AzureSession(app, opts["subscription"]) as azure:
        targets = _targets(app, azure, {**selection, "vault_url": opts["vault_url"]})
        if len(targets) != 1:
            raise InputError(f"--account matched {len(targets)} accounts; add --resource-group")
        target = targets[0]
        arm = azure.accounts_for(target.account.subscription_id)
        metrics = MetricsClient(app.env, azure.credential(), target.account.subscription_id)
        reader = live_reader(app.env, azure.credential())
        try:
            result = apply_one(
                target,
                KeylessClients(arm, metrics, reader),
                ApplyOptions(
                    confirm=opts["confirm"],
                    rollback=opts["rollback"],
                    quiet_for=opts["quiet_for"],
                    watch=opts["watch"],
                    regenerate_keys=opts["regenerate_keys"],
                ),
            )
        finally:
            reader.close()
            metrics.close()
    _render_apply(result, output)
    click.get_current_context().exit(int(result.status))


def _targets(app: AppContext, azure: AzureSession, selection: dict[str, Any]) -> list[Any]:
    return resolve_cli_targets(
        app,
        azure.accounts_for,
        selection["subscription"],
        selection["resource_group"],
        selection["account"],
        selection["tags"],
        selection["vault_url"],
    )


def _server_now(azure: AzureSession, targets: list[Any]) -> datetime:
    """ARM's time (the ``Date`` of an answer), so that windows agree with the logs' times."""
    if targets:
        arm = azure.accounts_for(targets[0].account.subscription_id)
        arm.get_account(targets[0].account.id)
        seen = arm.clock.now()
        if seen is not None:
            return seen
    return datetime.now(timezone.utc)


def _render_plans(plans: list[Any], output: str) -> None:
    from keyops.keyless.plan import INFERENCE_ROLE
    from keyops.render import Layout, info, print_json, print_table

    if output == "json":
        print_json({"schema": "keyops.keyless-plan/v1", "accounts": [p.to_dict() for p in plans]})
        return
    rows = [
        (
            p.account,
            p.verdict,
            str(len(p.key_callers)),
            "; ".join(p.blocked_by),
            "; ".join(
                f"{INFERENCE_ROLE} for {c.object_id}" for c in p.consumers if not c.has_inference
            ),
        )
        for p in plans
    ]
    print_table(
        ["account", "verdict", "key callers", "blocked by", "roles to assign"],
        rows,
        title=None if output == "tsv" else "keyops keyless plan",
        layout=Layout(
            drop=("roles to assign", "key callers"), wrap=("blocked by", "roles to assign")
        ),
        output=output,
    )
    ready = sum(1 for p in plans if p.verdict == "ready")
    info(
        f"keyless plan: {ready} of {len(plans)} accounts ready; --output json lists the "
        "az role assignment commands"
    )


def _render_apply(result: Any, output: str) -> None:
    from keyops.render import Layout, diag, print_json, print_table

    for warning in result.warnings:
        diag(f"warning: {warning}")
    if output == "json":
        print_json(
            {
                "schema": "keyops.keyless-apply/v1",
                "account": result.account,
                "code": result.code,
                "reason": result.reason,
                "rejected": result.rejected,
                "warnings": result.warnings,
                "exit_status": int(result.status),
            }
        )
        return
    print_table(
        ["account", "result", "reason"],
        [(result.account, result.code, result.reason)],
        title=None if output == "tsv" else "keyops keyless apply",
        layout=Layout(wrap=("reason",)),
        output=output,
    )
