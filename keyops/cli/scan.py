"""``keyops scan``: find leaked Azure OpenAI / AI Services keys in files and git history.

Thin shell over :mod:`keyops.scan`: parse options, scan, drop baseline-accepted findings,
render on stdout, summary on stderr, exit 1 when a finding reaches ``--fail-on``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.session import selection_options
from keyops.exitcodes import ExitStatus
from keyops.severity import Severity

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _byte_size(ctx: click.Context, param: click.Parameter, value: str | int) -> int:
    """Parse a size in bytes with an optional k/M/G (binary) suffix: ``512k``, ``10M``."""
    match = _SIZE.match(str(value))
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(f"{value!r} is not a size such as 1048576, 512k or 10M")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _live_from_arm(
    app: AppContext,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
) -> frozenset[str]:
    """Digests of both keys of every account in scope; unreadable accounts are warned about."""
    from keyops.azure.arm import parse_account_id
    from keyops.cli.session import AzureSession, resolve_cli_targets
    from keyops.render import diag
    from keyops.scan.live import digests_from_accounts
    from keyops.secret import SecretValue

    with AzureSession(app, subscription) as session:
        targets = resolve_cli_targets(
            app, session.accounts(), subscription, resource_group, account, tags, vault_url
        )

        def list_keys(resource_id: str) -> tuple[SecretValue, SecretValue]:
            subscription_id = parse_account_id(resource_id).subscription_id
            keys = session.accounts_for(subscription_id).list_keys(resource_id)
            return keys.key1, keys.key2

        found = digests_from_accounts([(t.name, t.resource_id) for t in targets], list_keys)
    for reason in found.unreadable:
        diag(f"scan: warning: live keys not read for {reason}")
    if not found.digests:
        diag("scan: warning: no live key could be read; --live matches nothing")
    return found.digests


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--history",
    is_flag=True,
    envvar="KEYOPS_SCAN_HISTORY",
    help="Also scan every commit reachable from any ref.",
)
@click.option(
    "--all-files",
    is_flag=True,
    envvar="KEYOPS_SCAN_ALL_FILES",
    help="In git work trees, also scan git-ignored files.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="KEYOPS_SCAN_BASELINE",
    help="Accept the findings listed in this baseline file.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="KEYOPS_SCAN_WRITE_BASELINE",
    help="Write a baseline accepting every current finding, then exit 0.",
)
@click.option(
    "--live-from-env",
    "live_env",
    multiple=True,
    metavar="VAR",
    envvar="KEYOPS_SCAN_LIVE_FROM_ENV",
    help="Report exact matches of the live key held in environment variable VAR; repeatable "
    "(in its environment variable, names separated by spaces).",
)
@click.option(
    "--live",
    is_flag=True,
    envvar="KEYOPS_SCAN_LIVE",
    help="Also report exact matches of the current keys of the accounts in scope (ARM "
    "listKeys; accounts chosen as for smoke, with the options below); accounts whose keys "
    "cannot be read are named on stderr.",
)
@selection_options
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in Severity]),
    default=Severity.INFO.label,
    show_default=True,
    envvar="KEYOPS_SCAN_FAIL_ON",
    help="Exit 1 when a finding is at least this severe.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    envvar="KEYOPS_SCAN_JOBS",
    help="Worker processes; 0 = one per CPU.",
)
@click.option(
    "--max-file-size",
    default="10M",
    metavar="SIZE",
    callback=_byte_size,
    show_default=True,
    envvar="KEYOPS_SCAN_MAX_FILE_SIZE",
    help="Skip (and count) larger files and blobs.",
)
@pass_app
def scan(
    app: AppContext,
    paths: tuple[Path, ...],
    history: bool,
    all_files: bool,
    baseline: Path | None,
    write_baseline: Path | None,
    live_env: tuple[str, ...],
    live: bool,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
    fail_on: str,
    jobs: int,
    max_file_size: int,
    output: str,
) -> None:
    """Find leaked Azure OpenAI / AI Services keys in PATHs (default: .) and git history.

    Finds 84-character annotated keys, 32-hex keys next to key-like names, keys hard-coded in
    source, .env files git does not ignore, and exact matches of live keys (--live,
    --live-from-env).
    Inside a git work tree, tracked and not-ignored files are scanned. Keys are never printed:
    excerpts show 4 characters and a fingerprint.

    Exit status: 0 no findings (or all accepted), 1 findings at or above --fail-on, 2 usage error.
    """
    from keyops.render import Layout, info, plural, print_table
    from keyops.scan import ScanOptions, scan_paths
    from keyops.scan.baseline import load_baseline
    from keyops.scan.baseline import write_baseline as save_baseline
    from keyops.scan.engine import without_fingerprints
    from keyops.scan.live import digests_from_env
    from keyops.scan.output import (
        TABLE_COLUMNS,
        TABLE_DROP,
        TABLE_WRAP,
        render_json,
        summary_line,
        table_rows,
    )
    from keyops.scan.sarif import render_sarif

    live_digests = digests_from_env(live_env, os.environ)
    if live:
        selection = (subscription, resource_group, account, tags, vault_url)
        live_digests |= _live_from_arm(app, *selection)
    options = ScanOptions(
        history=history,
        all_files=all_files,
        max_file_size=max_file_size,
        jobs=jobs,
        live_digests=live_digests,
    )
    accepted = load_baseline(baseline) if baseline else frozenset()
    report = without_fingerprints(scan_paths(list(paths) or [Path(".")], options), accepted)
    if output in ("json", "sarif"):
        click.echo((render_json if output == "json" else render_sarif)(report))
    elif report.findings:
        layout = Layout(drop=TABLE_DROP, wrap=TABLE_WRAP)
        print_table(TABLE_COLUMNS, table_rows(report), layout=layout, output=output)
    info(summary_line(report))
    if write_baseline is not None:
        count = save_baseline(write_baseline, report.findings, accepted)
        info(f"scan: wrote {plural(count, 'accepted finding')} to {write_baseline}")
        return
    threshold = Severity.parse(fail_on)
    if any(finding.severity >= threshold for finding in report.findings):
        click.get_current_context().exit(int(ExitStatus.FAILED))


scan.params.append(output_option("table", "json", "sarif"))
