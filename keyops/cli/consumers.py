"""``keyops consumers``: who uses each key, from Key Vault and Azure OpenAI logs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.params import DURATION
from keyops.cli.session import AzureSession, resolve_cli_targets, selection_options
from keyops.exitcodes import ExitStatus

if TYPE_CHECKING:
    from keyops.azure.logs import AzureLogSource


def _window(ctx: click.Context, param: click.Parameter, value: timedelta) -> timedelta:
    if not timedelta(hours=1) <= value <= timedelta(days=730):
        raise click.BadParameter("must be between 1h and 730d (what Log Analytics can keep)")
    return value


def _delay(ctx: click.Context, param: click.Parameter, value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= timedelta(hours=2):
        raise click.BadParameter("must be between 0s and 2h")
    return value


@click.command("consumers", params=[output_option("table", "json")])
@selection_options
@click.option(
    "--window",
    default="7d",
    show_default=True,
    type=DURATION,
    callback=_window,
    envvar="KEYOPS_CONSUMERS_WINDOW",
    help="How far back to look (e.g. 7d, 36h, P30D); long enough to see weekly consumers.",
)
@click.option(
    "--ingestion-delay",
    default="10m",
    show_default=True,
    type=DURATION,
    callback=_delay,
    envvar="KEYOPS_CONSUMERS_INGESTION_DELAY",
    help="How late log records may arrive; coverage ends this long before now.",
)
@click.option(
    "--resource-centric",
    is_flag=True,
    envvar="KEYOPS_CONSUMERS_RESOURCE_CENTRIC",
    help="Query each resource's logs (needs Reader on the resource) instead of the workspace "
    "(needs Log Analytics Reader on it).",
)
@click.option(
    "--require-evidence",
    is_flag=True,
    envvar="KEYOPS_CONSUMERS_REQUIRE_EVIDENCE",
    help="Exit 1 when any target lacks usage evidence (logs off, unreadable or too short).",
)
@pass_app
def consumers(
    app: AppContext,
    output: str,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
    window: timedelta,
    ingestion_delay: timedelta,
    resource_centric: bool,
    require_evidence: bool,
) -> None:
    """List who uses each key: the identities (object id, app id, IP) that read its vault
    secret, with the version each read last, and the data-plane callers by auth method (token
    callers by object id; key callers by IP, slot unknown). Reads Key Vault AuditEvent and
    Azure OpenAI RequestResponse logs through Azure Monitor Logs; says when there are none.
    """
    from keyops.azure.logs import AzureLogSource
    from keyops.consumers.render import print_report, to_json
    from keyops.consumers.run import gather_all
    from keyops.render import info, plural, print_json

    sources: dict[str, AzureLogSource] = {}
    with AzureSession(app, subscription) as azure:
        targets = resolve_cli_targets(
            app, azure.accounts(), subscription, resource_group, account, tags, vault_url
        )

        def source_for(sub: str) -> AzureLogSource:
            if sub not in sources:
                sources[sub] = AzureLogSource(app.env, azure.credential(), sub)
            return sources[sub]

        try:
            items = gather_all(
                targets,
                source_for,
                window,
                ingestion_delay=ingestion_delay,
                resource_centric=resource_centric,
            )
        finally:
            for source in sources.values():
                source.close()
    if output == "json":
        print_json(to_json(items))
    else:
        print_report(items, output)
    failed = [i for i in items if i.evidence is None]
    gaps = [i for i in items if i.evidence is not None and not i.evidence.coverage.complete]
    info(
        f"consumers: {plural(len(items), 'target')}; {len(gaps)} without full evidence"
        + (f"; {len(failed)} failed" if failed else "")
    )
    if failed or (require_evidence and gaps):
        click.get_current_context().exit(int(ExitStatus.FAILED))
