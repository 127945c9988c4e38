"""``keyops usage``: usage anomalies per account from Azure Monitor metrics, tied to rotations."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.params import DURATION, SEVERITY
from keyops.cli.session import AzureSession, resolve_cli_targets, selection_options
from keyops.exitcodes import ExitStatus
from keyops.severity import Severity


def _days(ctx: click.Context, param: click.Parameter, value: timedelta) -> float:
    days = value.total_seconds() / 86400
    if not 1 / 24 <= days <= 93:
        raise click.BadParameter("must be between 1h and 93d (what Azure Monitor keeps)")
    return days


def _html_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Checked before anything is fetched, so a typo costs nothing."""
    if value is None:
        return None
    path = Path(value)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise click.BadParameter(f"cannot write {value} (no such writable directory)")
    return path


@click.command("usage", params=[output_option("table", "json")])
@selection_options
@click.option(
    "--window",
    "days",
    default="7d",
    show_default=True,
    type=DURATION,
    callback=_days,
    envvar="KEYOPS_USAGE_WINDOW",
    help="How far back to look, hourly (e.g. 7d, 48h, P14D).",
)
@click.option(
    "--history",
    "history_days",
    default="21d",
    show_default=True,
    type=DURATION,
    callback=_days,
    envvar="KEYOPS_USAGE_HISTORY",
    help="Extra time read before the window to learn what normal looks like (same hour of "
    "week needs 21d); findings are reported only inside the window.",
)
@click.option(
    "--sensitivity",
    type=click.Choice(["low", "medium", "high"]),
    default="medium",
    show_default=True,
    envvar="KEYOPS_USAGE_SENSITIVITY",
    help="How easily a finding is raised.",
)
@click.option(
    "--keys-unused",
    "keys_unused",
    multiple=True,
    metavar="ACCOUNT",
    help="An account whose consumers should all use Entra ID (repeatable); accounts with "
    "local auth disabled always count.",
)
@click.option(
    "--html",
    "html_path",
    callback=_html_path,
    envvar="KEYOPS_USAGE_HTML",
    help="Also write a self-contained HTML page with a chart per account.",
)
@click.option(
    "--fail-on",
    type=SEVERITY,
    envvar="KEYOPS_USAGE_FAIL_ON",
    help="Exit 1 when a finding is at or above this severity (info ... critical).",
)
@click.option(
    "--include-current-hour",
    is_flag=True,
    envvar="KEYOPS_USAGE_INCLUDE_CURRENT_HOUR",
    help="Also analyse the current hour (Azure Monitor serves it partial and late).",
)
@click.option(
    "--series",
    is_flag=True,
    envvar="KEYOPS_USAGE_SERIES",
    help="With --output json: add each account's hourly series (to plot or post-process).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=8,
    show_default=True,
    help="Accounts read in parallel.",
)
@pass_app
def usage(
    app: AppContext,
    output: str,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
    days: float,
    history_days: float,
    sensitivity: str,
    keys_unused: tuple[str, ...],
    html_path: Path | None,
    fail_on: Severity | None,
    include_current_hour: bool,
    series: bool,
    workers: int,
) -> None:
    """Report usage anomalies per account: spikes, drops, error-rate jumps, 401 surges after a
    rotation (consumers left on a regenerated key), token-spend jumps, key use where keys should
    be unused. Reads AzureOpenAIRequests by StatusCode, ProcessedPromptTokens and GeneratedTokens.
    """
    from keyops.azure.metrics import MetricsClient
    from keyops.render import diag, info, plural, progress
    from keyops.usage import fails
    from keyops.usage.run import UsageRequest, run_usage

    if history_days < days:
        raise click.BadParameter(
            "the history that teaches the baselines must be at least as long as --window "
            f"({history_days:g}d < {days:g}d); e.g. --window 7d --history 21d",
            param_hint="--history",
        )
    if days + history_days > 93:
        raise click.BadParameter(
            "window + history must stay within 93d (what Azure Monitor keeps)",
            param_hint="--history",
        )
    request = UsageRequest(
        days, history_days, sensitivity, keys_unused, include_current_hour, workers
    )
    metrics: dict[str, MetricsClient] = {}
    with AzureSession(app, subscription) as azure:
        targets = resolve_cli_targets(
            app, azure.accounts(), subscription, resource_group, account, tags, vault_url
        )

        def metrics_for(sub: str) -> MetricsClient:
            if sub not in metrics:
                metrics[sub] = MetricsClient(app.env, azure.credential(), sub)
            return metrics[sub]

        try:
            with progress("reading metrics", len(targets)) as step:
                run = run_usage(request, targets, metrics_for, azure.vault, on_done=step)
        finally:
            for client in metrics.values():
                client.close()
    report = run.report
    _render(report, output, series)
    if html_path is not None:
        from keyops.redact import redact
        from keyops.usage.html import render_html

        html_path.write_text(redact(render_html(report)), encoding="utf-8")
        info(f"usage: wrote {html_path}")
    for problem in run.problems:
        diag(f"usage: {problem.message}")
    for note in report.notes:
        info(f"usage: {note}")
    info(
        f"usage: {plural(len(report.series), 'account')}, {run.hours} h; "
        f"{plural(len(report.findings), 'finding')}"
    )
    ctx = click.get_current_context()
    if run.problems or (fail_on is not None and fails(report.findings, fail_on)):
        ctx.exit(int(ExitStatus.FAILED))


def _render(report: Any, output: str, series: bool) -> None:
    from keyops.render import print_json

    if output == "json":
        from keyops.usage.render import to_json

        print_json(to_json(report, include_series=series))
    else:
        from keyops.usage.render import print_table

        print_table(report, output)
