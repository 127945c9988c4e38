"""CI runners' secret maskers and variable files: GitHub Actions and Azure Pipelines.

A runner hides a value in its logs only after it has been told the value is secret, so every
secret is registered with the masker *before* it is written anywhere a later step reads it:

- GitHub Actions (``GITHUB_ACTIONS=true``): ``::add-mask::VALUE`` on stdout, then a
  ``NAME<<DELIMITER`` block appended to ``$GITHUB_ENV`` or ``$GITHUB_OUTPUT``. The delimiter is
  random (``ghadelimiter_<uuid4>``, as GitHub's own toolkit writes it) so that a value cannot end
  the block early and smuggle in further variables.
- Azure Pipelines (``TF_BUILD=True``): ``##vso[task.setvariable variable=NAME;issecret=true]VALUE``
  on stdout; the agent masks the value and keeps it out of later steps' environments unless they
  map it explicitly.

These lines are the only place keyops ever writes a key to stdout, and only when the user asks
``keyops export`` to hand a key to later steps.
"""

from __future__ import annotations

import enum
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from keyops.errors import ConfigError
from keyops.handover.source import Variable


class Pipeline(str, enum.Enum):
    """A CI system whose masker keyops knows."""

    GITHUB = "github"
    AZURE = "azure-pipelines"


def detect_pipeline(environ: Mapping[str, str] | None = None) -> Pipeline | None:
    """The CI system this process runs under, from the variables each runner sets."""
    environ = os.environ if environ is None else environ
    if environ.get("GITHUB_ACTIONS", "").lower() == "true":
        return Pipeline.GITHUB
    if environ.get("TF_BUILD", "").lower() == "true":
        return Pipeline.AZURE
    return None


def _github_escape_data(value: str) -> str:
    # The escaping of @actions/core's escapeData: the runner undoes it before masking.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_mask_lines(value: str) -> list[str]:
    """``::add-mask::`` commands for a value (and for each of its lines, if it has several)."""
    parts = [value]
    lines = [line for line in value.splitlines() if line.strip()]
    if len(lines) > 1:
        parts.extend(lines)
    return [f"::add-mask::{_github_escape_data(part)}" for part in parts if part]


def github_file_block(name: str, value: str, delimiter: str | None = None) -> str:
    """One ``NAME<<DELIMITER`` block for ``$GITHUB_ENV``/``$GITHUB_OUTPUT``."""
    delimiter = delimiter or f"ghadelimiter_{uuid.uuid4()}"
    if delimiter in name or delimiter in value:
        raise ValueError("the heredoc delimiter occurs in the name or value")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _azure_escape_data(value: str) -> str:
    # The escaping of azure-pipelines-task-lib's escapeData ("%AZP25" for "%").
    return value.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _azure_escape_property(value: str) -> str:
    return _azure_escape_data(value).replace("]", "%5D").replace(";", "%3B")


def azure_setvariable(name: str, value: str, *, secret: bool, output: bool = False) -> str:
    """A ``##vso[task.setvariable]`` logging command."""
    props = [f"variable={_azure_escape_property(name)}"]
    if secret:
        props.append("issecret=true")
    if output:
        props.append("isoutput=true")
    return f"##vso[task.setvariable {';'.join(props)}]{_azure_escape_data(value)}"


def github_file(environ: Mapping[str, str], output: bool) -> Path:
    """``$GITHUB_OUTPUT`` (``output``) or ``$GITHUB_ENV``: the file the runner gave this step."""
    name = "GITHUB_OUTPUT" if output else "GITHUB_ENV"
    value = environ.get(name)
    if not value:
        raise ConfigError(f"${name} is not set: run this inside a GitHub Actions step")
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"${name} names {path}, which is not a file")
    return path


def export_github(
    variables: Sequence[Variable], target: Path, write_line: Callable[[str], None]
) -> None:
    """Mask every secret (``write_line`` writes a line to stdout), then append the blocks."""
    for variable in variables:
        if variable.secret:
            for line in github_mask_lines(variable.text()):
                write_line(line)
    blocks = "".join(github_file_block(v.name, v.text()) for v in variables)
    # Appended in one write: a half-written block would be misread by the runner.
    with target.open("a", encoding="utf-8") as handle:
        handle.write(blocks)


def export_azure(
    variables: Sequence[Variable], write_line: Callable[[str], None], *, output: bool = False
) -> None:
    """One ``task.setvariable`` command per variable; secrets carry ``issecret=true``."""
    for variable in variables:
        write_line(
            azure_setvariable(variable.name, variable.text(), secret=variable.secret, output=output)
        )
