"""``keyops export``: hand the key to later pipeline steps, registered with the masker first.

Thin shell over :mod:`keyops.handover.pipelines`. Outside GitHub Actions and Azure Pipelines
there is no masker, so the command refuses (exit 6) unless told to write a git-ignored 0600
``.env`` file instead (``--format dotenv --write FILE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.handover import fetch, handover_options, key_request
from keyops.errors import InputError, RefusedError

if TYPE_CHECKING:
    from keyops.handover.pipelines import Pipeline
    from keyops.handover.source import Handover, Variable

SCHEMA = "keyops.export/v1"


def _stdout_line(line: str) -> None:
    # Runners read workflow/logging commands from stdout, one per line, as they come. These
    # lines exist to hand the key to the runner's masker, so they bypass the redactor.
    from keyops.redact import raw_stdout

    out = raw_stdout()
    out.write(line + "\n")
    out.flush()


def _pipeline(fmt: str) -> Pipeline | None:
    """The pipeline to export to (None: a dotenv file); refuses without a masker."""
    from keyops.handover.pipelines import Pipeline, detect_pipeline

    detected = detect_pipeline()
    if fmt == "dotenv":
        return None
    if fmt == "auto":
        if detected is None:
            raise RefusedError(
                "refusing to export: not running in GitHub Actions "
                "(GITHUB_ACTIONS=true) or Azure Pipelines (TF_BUILD=True), so "
                "nothing would mask the key; use `keyops run`, or "
                "--format dotenv --write FILE for a git-ignored 0600 file"
            )
        return detected
    wanted = Pipeline(fmt)
    if detected is not wanted:
        raise RefusedError(
            f"refusing --format {fmt}: this is not a {wanted.value} run, so "
            "nothing would mask the key"
        )
    return wanted


@click.command("export", params=[output_option("table", "json")])
@handover_options
@click.option(
    "--format",
    "fmt",
    envvar="KEYOPS_EXPORT_FORMAT",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "github", "azure-pipelines", "dotenv"]),
    help="Where to: the detected pipeline, a named one, or a .env file.",
)
@click.option(
    "--to",
    "destination",
    envvar="KEYOPS_EXPORT_TO",
    default="env",
    show_default=True,
    type=click.Choice(["env", "output"]),
    help="Later steps' environment ($GITHUB_ENV; a pipeline variable) or step "
    "outputs ($GITHUB_OUTPUT; isoutput=true).",
)
@click.option(
    "--write",
    "path",
    envvar="KEYOPS_ENV_FILE",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --format dotenv: the git-ignored .env file to write (mode 0600).",
)
@pass_app
def export(
    app: AppContext,
    /,
    output: str,
    fmt: str,
    destination: str,
    path: Path | None,
    **opts: Any,
) -> None:
    """Hand the key and endpoint to later pipeline steps, masked first.

    \b
    GitHub Actions: `::add-mask::` on stdout, then $GITHUB_ENV (or $GITHUB_OUTPUT with
    --to output), written with a random heredoc delimiter.
    Azure Pipelines: `##vso[task.setvariable variable=NAME;issecret=true]` on stdout; map the
    secret variable into a later step's env: explicitly.

    Outside a pipeline: refused (exit 6), unless --format dotenv --write FILE.
    """
    request = key_request(opts)
    pipeline = _pipeline(fmt)
    if pipeline is None and path is None:
        raise InputError("--format dotenv needs --write FILE")
    if pipeline is not None and path is not None:
        raise InputError("--write goes with --format dotenv only")
    if path is not None:
        from keyops.handover.dotenv_file import check_writable

        check_writable(path)
    handover = fetch(app, request)
    variables = handover.variables(opts["key_var"], opts["endpoint_var"])
    where = _emit(pipeline, variables, destination == "output", path)
    _render(handover, variables, pipeline, where, output)


def _emit(
    pipeline: Pipeline | None, variables: list[Variable], output: bool, path: Path | None
) -> str:
    """Hand the variables over; returns where they went (for the report)."""
    from keyops.handover import pipelines

    if pipeline is pipelines.Pipeline.GITHUB:
        target = pipelines.github_file(os.environ, output)
        pipelines.export_github(variables, target, _stdout_line)
        return "$GITHUB_OUTPUT" if output else "$GITHUB_ENV"
    if pipeline is pipelines.Pipeline.AZURE:
        pipelines.export_azure(variables, _stdout_line, output=output)
        return "output variables" if output else "pipeline variables"
    from keyops.handover.dotenv_file import write_dotenv

    assert path is not None
    return str(write_dotenv(path, variables).path)


def _render(
    handover: Handover,
    variables: list[Variable],
    pipeline: Pipeline | None,
    where: str,
    output: str,
) -> None:
    from keyops.render import info, print_json

    if output == "json":
        print_json(
            {
                "schema": SCHEMA,
                "format": pipeline.value if pipeline else "dotenv",
                "destination": where,
                "variables": [
                    {
                        "name": v.name,
                        "secret": v.secret,
                        **(
                            {"fingerprint": handover.key.fingerprint}
                            if v.secret
                            else {"value": v.text()}
                        ),
                    }
                    for v in variables
                ],
                "source": {
                    "vault": handover.vault,
                    "secret": handover.secret_name,
                    "version": handover.version,
                },
                "summary": {
                    "variables": len(variables),
                    "masked": sum(1 for v in variables if v.secret and pipeline is not None),
                },
            }
        )
        return
    names = ", ".join(v.name for v in variables)
    info(
        f"export: {names} to {where}; key {handover.describe()}" + (", masked" if pipeline else "")
    )
