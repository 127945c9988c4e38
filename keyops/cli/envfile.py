"""``keyops env --write FILE``: put the key in a git-ignored ``.env`` file, mode 0600.

Thin shell over :mod:`keyops.handover.dotenv_file`. The guards run before any Azure call, so a
refusal (exit 6) reads no key and writes nothing. The key is never printed: the report names the
variables and the key's fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.handover import fetch, handover_options, key_request

if TYPE_CHECKING:
    from keyops.handover.dotenv_file import DotenvWrite
    from keyops.handover.source import Handover

SCHEMA = "keyops.env/v1"


@click.command("env", params=[output_option("table", "json")])
@handover_options
@click.option(
    "--write",
    "path",
    required=True,
    envvar="KEYOPS_ENV_FILE",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .env file to write or merge into; git must ignore it.",
)
@pass_app
def env(app: AppContext, /, output: str, path: Path, **opts: Any) -> None:
    """Write the key and endpoint into a git-ignored .env file (mode 0600).

    \b
    keyops env --target eus --write .env

    Other entries of an existing file are kept. Refused (exit 6, nothing written) when git does
    not ignore the file, when it is tracked, outside a git work tree, or when the path is a
    symlink. Prefer `keyops run`, which writes nothing at all.
    """
    from keyops.handover.dotenv_file import check_writable, write_dotenv

    request = key_request(opts)
    check_writable(path)
    handover = fetch(app, request)
    result = write_dotenv(path, handover.variables(opts["key_var"], opts["endpoint_var"]))
    _render(result, handover, opts, output)


def _render(result: DotenvWrite, handover: Handover, opts: dict[str, Any], output: str) -> None:
    from keyops.render import info, print_json

    if output == "json":
        print_json(
            {
                "schema": SCHEMA,
                "path": str(result.path),
                "created": result.created,
                "mode": "0600",
                "variables": {
                    opts["key_var"]: {"fingerprint": handover.key.fingerprint, "secret": True},
                    opts["endpoint_var"]: {"value": handover.endpoint, "secret": False},
                },
                "replaced": list(result.replaced),
                "added": list(result.added),
                "kept_entries": result.kept,
                "summary": {
                    "created": result.created,
                    "written": len(result.replaced) + len(result.added),
                    "kept": result.kept,
                },
                "source": {
                    "vault": handover.vault,
                    "secret": handover.secret_name,
                    "version": handover.version,
                },
            }
        )
        return
    verb = "created" if result.created else "updated"
    click.echo(
        f"{verb} {result.path} (0600, git-ignored): {opts['key_var']} "
        f"{handover.key.fingerprint}, {opts['endpoint_var']} {handover.endpoint}"
    )
    if result.kept:
        info(f"env: kept {result.kept} other entries of {result.path.name}")
    info(f"env: key {handover.describe()}")
