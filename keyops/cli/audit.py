"""``keyops audit``: per account, which auth method works, who holds which power, what to fix."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.params import DURATION, SEVERITY
from keyops.cli.session import (
    AzureSession,
    probe_options,
    resolve_cli_targets,
    selection_options,
)
from keyops.exitcodes import ExitStatus
from keyops.severity import Severity

if TYPE_CHECKING:
    from keyops.audit import AuditReport
    from keyops.targets import Target


def _sources(config_path: str | None, targets: list[Target]) -> dict[str, tuple[str, int | None]]:
    """Account id -> (configuration file, line) for SARIF locations."""
    from keyops.config import config_path as find_config

    path = find_config(config_path)
    if path is None:
        return {}
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        shown = str(path)
    return {
        t.account.id.lower(): (shown.replace(os.sep, "/"), t.line)
        for t in targets
        if t.line is not None
    }


#: What goes first on a narrow terminal; names, results and fingerprints never wrap.
_MATRIX_DROP = (
    "used by",
    "network",
    "kind",
    "endpoint",
    "deployments",
    "local auth",
    "vault secret",
)
_FINDINGS_DROP = ("recommendation", "rule")


def _render(report: AuditReport, output: str, sources: dict[str, tuple[str, int | None]]) -> None:
    from keyops.audit.matrix import FINDING_COLUMNS, MATRIX_COLUMNS, finding_rows, matrix_rows
    from keyops.audit.sarif import sarif_log
    from keyops.render import Layout, print_json, print_table

    if output == "json":
        print_json(report.to_dict())
        return
    if output == "sarif":
        print_json(sarif_log(report.findings, sources))
        return
    titled = output != "tsv"
    print_table(
        MATRIX_COLUMNS,
        matrix_rows(report.rows),
        title="Accounts" if titled else None,
        layout=Layout(drop=_MATRIX_DROP, wrap=("deployments",)),
        output=output,
    )
    if report.findings:
        print_table(
            FINDING_COLUMNS,
            finding_rows(report.findings),
            title="Findings" if titled else None,
            layout=Layout(drop=_FINDINGS_DROP, wrap=("rule", "finding", "recommendation")),
            output=output,
        )


@click.command("audit", params=[output_option("table", "json", "sarif")])
@selection_options
@click.option(
    "--max-secret-age",
    default="90d",
    show_default=True,
    type=DURATION,
    help="Policy: a vault secret older than this is stale (e.g. 30d, P90D).",
)
@click.option(
    "--fail-on",
    type=SEVERITY,
    metavar="SEVERITY",
    help="Exit 1 when a finding is at or above this severity (info, low, medium, high, critical).",
)
@click.option(
    "--consumers",
    "consumers_window",
    is_flag=False,
    flag_value="7d",
    default=None,
    type=DURATION,
    envvar="KEYOPS_AUDIT_CONSUMERS",
    metavar="WINDOW",
    help="Also read the logs that say who uses the keys (default window 7d): a 'used by' "
    "column and keys-in-use / no-usage-evidence findings (needs Log Analytics Reader).",
)
@probe_options(attempts=2, workers=8, per="data-plane call")
@pass_app
def audit(
    app: AppContext,
    output: str,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
    max_secret_age: timedelta,
    fail_on: Severity | None,
    consumers_window: timedelta | None,
    api_version: str | None,
    timeout: float,
    attempts: int,
    workers: int,
) -> None:
    """Audit every account in scope, live: a row per account with the result of real calls
    with Key1, Key2, the vault secret and an Entra token, then findings with a severity and a
    recommendation. Table, --output json, or --output sarif for code scanning.
    """
    from keyops.audit import AuditPolicy, ProbeSettings, run_audit
    from keyops.azure.probe import DEFAULT_API_VERSION, RetryPolicy, check_api_version
    from keyops.render import info, plural, progress

    version = check_api_version(api_version or DEFAULT_API_VERSION)
    with AzureSession(app, subscription) as azure:
        targets = resolve_cli_targets(
            app, azure.accounts(), subscription, resource_group, account, tags, vault_url
        )
        with progress("auditing", len(targets)) as step:
            report = run_audit(
                app.env,
                azure.credential(),
                azure.accounts(),
                targets,
                workers=workers,
                policy=AuditPolicy(max_secret_age_days=max(0, max_secret_age.days)),
                probe=ProbeSettings(
                    timeout=timeout,
                    api_version=version,
                    retry=RetryPolicy(max_attempts=attempts, max_wait=10.0),
                ),
                on_done=step,
                usage_window=consumers_window,
            )
    _render(report, output, _sources(app.config, targets))
    found = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
    info(f"audit: {plural(len(report.rows), 'account')}; findings: {found or 'none'}")
    if report.fails(fail_on):
        click.get_current_context().exit(int(ExitStatus.FAILED))
