"""``keyops rotate``: rotate account keys into Key Vault, staged and resumable.

Thin shell over :mod:`keyops.rotate`: parse options, resolve targets, run the fleet, render.
"""

from __future__ import annotations

from typing import IO, Any

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.params import DURATION, JSON_INPUT, confirmation_option
from keyops.cli.revokeopts import check_revoke_options, consumer_check, revoke_options
from keyops.cli.session import selection_options
from keyops.errors import InputError, KeyopsError
from keyops.exitcodes import ExitStatus

_HELP_EPILOG = """\b
Exit statuses (README "Exit statuses of keyops rotate"): 0 every account rotated, adopted,
skipped (fresh, within grace, revoke done) or planned; 6 an explicit request a guard blocked
(--force inside grace without --confirm-breaking-consumers, lease held, secret matching
neither key, soft-deleted secret, another secret holding the key) and none failed; 1 some
failed (conflict, test failed); 2 bad flags, or a filter that matches nothing; 3 two targets
on one account, two accounts in one secret, or a configuration error; 4 authentication or
authorization error, 5 Azure unreachable or service error: for the whole run, or for every
account not skipped (then one line on stderr says so).
"""


@click.command("rotate", epilog=_HELP_EPILOG)
@selection_options
@click.option(
    "--dry-run",
    is_flag=True,
    envvar="KEYOPS_DRY_RUN",
    help="Say what would happen and why; make no write call.",
)
@click.option(
    "--if-older-than",
    type=DURATION,
    envvar="KEYOPS_IF_OLDER_THAN",
    help="Skip accounts whose latest secret version is younger (e.g. 30d).",
)
@confirmation_option(
    "--force",
    help="Rotate before --if-older-than / rotate_after. Inside the grace period it also needs "
    "--confirm-breaking-consumers.",
)
@confirmation_option(
    "--confirm-breaking-consumers",
    help="Confirm --force or --revoke-previous inside the grace period: consumers that "
    "fetched the secret less than grace ago hold the key regenerated and break now.",
)
@revoke_options
@click.option(
    "--propagation-timeout",
    type=DURATION,
    envvar="KEYOPS_PROPAGATION_TIMEOUT",
    help="How long the new key's test retries while Azure propagates it "
    "[default: 120s or keyops.toml].",
)
@click.option(
    "--lease-ttl",
    type=DURATION,
    envvar="KEYOPS_LEASE_TTL",
    default="15m",
    show_default=True,
    callback=lambda ctx, param, value: _lease_ttl(value),
    help="How long a run's lease lasts without renewal (1m to 24h); a crashed run's blocks "
    "other runs that long.",
)
@confirmation_option(
    "--break-lease",
    help="Withdraw a live lease left by a run that crashed, then rotate. A holder still "
    "alive finds at its next check, before each write, that its lease was broken and stops; a "
    "key it already regenerated is then never stored. Only a write already past its check goes "
    "through (within a second of it): this run waits 2 s after breaking a claim that had not "
    "ended, so that such a write lands before it reads, and the holder repairs a dead latest "
    "version at once.",
)
@confirmation_option(
    "--repair",
    help="Test both current keys and store a working one as the latest version when the "
    "latest holds a dead key; regenerate nothing. Needs --confirm-repair.",
)
@confirmation_option(
    "--confirm-repair",
    help="Confirm --repair: a new secret version is written for each account whose latest "
    "version holds no working key.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 128),
    default=4,
    show_default=True,
    envvar="KEYOPS_CONCURRENCY",
    help="Accounts rotated at once.",
)
@click.option(
    "--shard",
    envvar="KEYOPS_SHARD",
    metavar="I/N",
    help="Only shard I of N of the fleet (for pipeline matrices).",
)
@click.option(
    "--shard-by",
    type=click.Choice(["account", "subscription"]),
    default="account",
    show_default=True,
    envvar="KEYOPS_SHARD_BY",
    help="Split by account, or keep each subscription's accounts in one shard (shards that "
    "share a principal then never share ARM's per-subscription request budget).",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, writable=True),
    envvar="KEYOPS_RECORD",
    metavar="FILE",
    help="Also write this shard's record (JSON with the configuration's hash) for `keyops merge`.",
)
@click.option(
    "--event",
    type=JSON_INPUT,
    envvar="KEYOPS_EVENT",
    metavar="FILE|-",
    help="Rotate the secret a Key Vault SecretNearExpiry event names "
    "(Event Grid or CloudEvents JSON).",
)
@pass_app
def rotate(app: AppContext, /, output: str, **opts: Any) -> None:
    """Rotate account keys into Key Vault: regenerate the unused slot, test it, store it.

    Targets come from keyops.toml ([[targets]]) or discovery, filtered by --resource-group,
    --account and --tag. Keys are never taken from the command line.
    """
    from keyops.rotate import exit_status

    if opts["revoke_previous"] == "now" and not opts["confirm_revoke"]:
        raise InputError(
            "--revoke-previous now breaks every consumer still holding the previous "
            "key; add --confirm-revoke to proceed (or use --revoke-previous when-moved)"
        )
    check_revoke_options(opts)
    if opts["repair"] and not opts["confirm_repair"]:
        raise InputError("--repair writes a new secret version; add --confirm-repair to proceed")
    if opts["repair"] and (opts["revoke_previous"] or opts["force"]):
        raise InputError("--repair regenerates nothing: drop --revoke-previous and --force")
    from keyops.rotate import FleetInterruptedError

    try:
        records = _run(app, opts)
    except KeyopsError as exc:
        if opts["record"]:  # the merge job must see this shard's failure, not a gap
            _write_record(app, opts, [], int(exc.exit_status), exc.message)
        raise
    except FleetInterruptedError as stop:
        # Ctrl-C: accounts in flight finished their writes; report the finished ones, then 130.
        _render(stop.records, output, opts["dry_run"])
        if opts["record"]:
            done = [r.to_dict() for r in stop.records]
            _write_record(app, opts, done, INTERRUPTED, "interrupted")
        from keyops.render import diag, plural

        finished = plural(len(stop.records), "account")
        diag(f"interrupted: {finished} finished, no other started; rerun to finish the rest")
        raise click.exceptions.Exit(INTERRUPTED) from None
    _render(records, output, opts["dry_run"])
    status = exit_status(records)
    if opts["record"]:
        _write_record(app, opts, [r.to_dict() for r in records], int(status))
    click.get_current_context().exit(int(status))


INTERRUPTED = int(ExitStatus.INTERRUPTED)


def _write_record(
    app: AppContext, opts: dict[str, Any], records: list[Any], status: int, error: str | None = None
) -> None:
    import json
    from pathlib import Path

    from keyops.rotate import parse_shard
    from keyops.rotate.shards import config_hash, shard_record

    shard = parse_shard(opts["shard"]) if opts["shard"] else None
    config_path = Path(app.config or "keyops.toml")
    text = config_path.read_text(encoding="utf-8") if config_path.is_file() else None
    selection = {k: opts[k] for k in _HASHED_OPTIONS}
    selection["shards"] = shard[1] if shard else 1
    doc = shard_record(
        records,
        shard=shard,
        shard_by=opts["shard_by"],
        config=config_hash(text, selection),
        status=status,
        error=error,
    )
    Path(opts["record"]).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


#: What a shard record's configuration hash covers besides the config file (not the shard index).
_HASHED_OPTIONS = (
    "subscription",
    "resource_group",
    "account",
    "tags",
    "vault_url",
    "dry_run",
    "force",
    "if_older_than",
    "revoke_previous",
    "shard_by",
)


def _targets(app: AppContext, opts: dict[str, Any], services: Any) -> list[Any]:
    from keyops.cli.session import default_subscription, resolve_cli_targets
    from keyops.config import load_config
    from keyops.rotate import parse_shard, select_shard
    from keyops.rotate.events import parse_events, targets_for_events

    event: IO[str] | None = opts["event"]
    if event is not None:
        targets = targets_for_events(
            parse_events(event.read()),
            load_config(app.config),
            services,
            default_subscription=default_subscription(app),
        )
    else:
        targets = resolve_cli_targets(
            app,
            services.accounts,
            opts["subscription"],
            opts["resource_group"],
            opts["account"],
            opts["tags"],
            opts["vault_url"],
        )
    shard = parse_shard(opts["shard"]) if opts["shard"] else None
    return select_shard(targets, shard, opts["shard_by"])


def _run(app: AppContext, opts: dict[str, Any]) -> list[Any]:
    from keyops.cli.session import AzureSession
    from keyops.render import diag
    from keyops.rotate import RotationOptions, RotationServices, rotate_fleet

    with AzureSession(app) as azure:
        services = RotationServices(app.env, azure.credential(), concurrency=opts["concurrency"])
        consumers = consumer_check(app, opts, azure)
        try:
            targets = _targets(app, opts, services)
            if not targets:
                diag("no account to rotate (nothing matched)")
                return []
            options = RotationOptions(
                dry_run=opts["dry_run"],
                force=opts["force"],
                if_older_than=opts["if_older_than"],
                revoke_previous=opts["revoke_previous"] == "now",
                revoke_when_moved=opts["revoke_previous"] == "when-moved",
                consumers=consumers,
                propagation_timeout=opts["propagation_timeout"],
                lease_ttl=opts["lease_ttl"],
                break_lease=opts["break_lease"],
                confirm_breaking_consumers=opts["confirm_breaking_consumers"],
                repair=opts["repair"],
            )
            with _Progress(len(targets)) as advance:
                return rotate_fleet(
                    targets, services, options, concurrency=opts["concurrency"], progress=advance
                )
        finally:
            services.close()
            if consumers is not None:
                consumers.reader.close()


def _lease_ttl(value: Any) -> Any:
    """The --lease-ttl, range-checked before any call (usage error otherwise)."""
    from keyops.rotate.lease import check_lease_ttl

    if value is None:
        return None
    try:
        return check_lease_ttl(value)
    except InputError as exc:
        raise click.BadParameter(exc.message.removeprefix("--lease-ttl ")) from None


class _Progress:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int) -> None:
        import sys

        self.total = total
        self.bar: Any = None
        if sys.stderr.isatty() and total > 1:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        task = self.bar.add_task("rotating", total=self.total)
        return lambda record: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _render(records: list[Any], output: str, dry_run: bool) -> None:
    from keyops.render import Layout, diag, print_json, print_table
    from keyops.rotate import Action, failure_summary

    summary = failure_summary(records)
    if summary is not None:
        diag(f"error: {summary}")
    for record in records:
        for warning in record.warnings:
            diag(f"warning: {warning}")
        if record.action is Action.FAILED and summary is None:
            diag(f"error: {record.account}: {record.reason}")
        elif record.action is Action.REFUSED:
            diag(f"refused: {record.account}: {record.reason}")
    if output == "json":
        print_json(_document(records, dry_run))
        return
    rows = [
        (
            r.account,
            (r.planned and f"would {r.planned}") or r.action.value,
            r.slot or "",
            r.secret_version or "",
            r.fingerprint or "",
            r.reason,
            f"{sum(r.timings.values()):.1f}s",
        )
        for r in records
    ]
    title = "keyops rotate (dry run: nothing changed)" if dry_run else "keyops rotate"
    print_table(
        ["account", "action", "slot", "new version", "fingerprint", "reason", "time"],
        rows,
        title=None if output == "tsv" else title,
        layout=Layout(drop=("time", "slot", "reason", "new version"), wrap=("reason",)),
        output=output,
    )


#: The run's JSON document; each account's record is ``keyops.rotation/v1``.
RUN_SCHEMA = "keyops.rotate/v1"


def _document(records: list[Any], dry_run: bool) -> dict[str, Any]:
    """``{schema, dry_run, accounts, summary}``, the shape of every command's JSON."""
    from collections import Counter

    from keyops.rotate.records import exit_status

    actions = Counter(((r.planned and "planned") or r.action.value) for r in records)
    return {
        "schema": RUN_SCHEMA,
        "dry_run": dry_run,
        "accounts": [r.to_dict() for r in records],
        "summary": {"total": len(records), **dict(sorted(actions.items()))},
        "exit_status": int(exit_status(records)),
    }


rotate.params.append(output_option("table", "json"))
