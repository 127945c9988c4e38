"""``keyops merge``: the final job of a sharded rotation — one report, one exit status."""

from __future__ import annotations

from typing import Any

import click

from keyops.cli.context import AppContext, output_option, pass_app


@click.command("merge")
@click.argument("records", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--shards",
    type=click.IntRange(1, 10_000),
    envvar="KEYOPS_SHARDS",
    help="How many shards the run was split into (default: what the records say); a shard "
    "without a record fails the merge.",
)
@pass_app
def merge(
    app: AppContext, /, records: tuple[str, ...], shards: int | None, output: str | None
) -> None:
    """Merge the records of `keyops rotate --shard I/N --record FILE` jobs into one report.

    Exit status: the worst of the shards' (1 > 4 > 5 > 3 > 6 > 0); 1 when a shard's record
    is missing or repeated; 3 when a record is unreadable or from another configuration.
    """
    import json
    from pathlib import Path

    from keyops.errors import ConfigError
    from keyops.render import diag
    from keyops.rotate.shards import merge as merge_records

    documents: list[tuple[str, Any]] = []
    for name in records:
        try:
            documents.append((name, json.loads(Path(name).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{name}: unreadable shard record ({exc})") from None
    merged = merge_records(documents, shards)
    for _, doc in documents:
        if doc.get("error"):
            diag(f"error: shard {doc['shard']['index']}/{doc['shard']['total']}: {doc['error']}")
    _render(merged, output or app.output)
    click.get_current_context().exit(int(merged.status))


def _render(merged: Any, output: str) -> None:
    from keyops.render import print_json, print_table

    if output == "json":
        print_json(
            {"shards": merged.shards, "exit_status": int(merged.status), "records": merged.records}
        )
        return
    rows = [(r["account"], r["action"], r["slot"] or "", r["reason"]) for r in merged.records]
    print_table(
        ["account", "action", "slot", "reason"],
        rows,
        title=f"keyops rotate: {merged.shards} shard(s) merged",
    )


merge.params.append(output_option("table", "json"))
