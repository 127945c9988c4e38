"""Pipeline masking commands: detection, escaping, heredoc blocks, mask-before-write."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyops.errors import ConfigError
from keyops.handover.pipelines import (
    Pipeline,
    azure_setvariable,
    detect_pipeline,
    export_azure,
    export_github,
    github_file,
    github_file_block,
    github_mask_lines,
)
from keyops.handover.source import Variable
from keyops.secret import SecretValue
from tests.secure.runners import parse_github_file

KEY = "Zq3" + "x" * 49 + "JQQJ99BKAC" + "y" * 22


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GITHUB_ACTIONS": "true"}, Pipeline.GITHUB),
        ({"TF_BUILD": "True"}, Pipeline.AZURE),
        ({"TF_BUILD": "true"}, Pipeline.AZURE),
        ({"GITHUB_ACTIONS": "false", "CI": "true"}, None),
        ({}, None),
    ],
)
def test_detects_the_runner_from_its_variables(
    environ: dict[str, str], expected: Pipeline | None
) -> None:
    assert detect_pipeline(environ) is expected


def test_github_mask_escapes_like_the_toolkit_and_masks_each_line() -> None:
    assert github_mask_lines("a%b") == ["::add-mask::a%25b"]
    assert github_mask_lines("one\r\ntwo") == [
        "::add-mask::one%0D%0Atwo",
        "::add-mask::one",
        "::add-mask::two",
    ]
    assert github_mask_lines("") == []


def test_github_block_uses_a_random_delimiter_the_value_cannot_end() -> None:
    first, second = github_file_block("K", "v"), github_file_block("K", "v")
    assert first != second and first.startswith("K<<ghadelimiter_")
    assert parse_github_file(first) == {"K": "v"}
    hostile = "x\nghadelimiter_x\nEVIL=1"
    assert parse_github_file(github_file_block("K", hostile)) == {"K": hostile}
    with pytest.raises(ValueError, match="delimiter"):
        github_file_block("K", "a EOF b", delimiter="EOF")


def test_azure_setvariable_marks_secrets_and_escapes() -> None:
    assert azure_setvariable("K", "v", secret=True) == (
        "##vso[task.setvariable variable=K;issecret=true]v"
    )
    assert azure_setvariable("E", "https://x/", secret=False, output=True) == (
        "##vso[task.setvariable variable=E;isoutput=true]https://x/"
    )
    assert azure_setvariable("K", "50%\nx", secret=True).endswith("]50%AZP25%0Ax")
    assert "variable=a%3Bb%5D;" in azure_setvariable("a;b]", "v", secret=True)


def test_github_export_masks_before_anything_reaches_the_file(tmp_path: Path) -> None:
    target = tmp_path / "github_env"
    target.write_text("EXISTING=1\n")
    events: list[str] = []

    def write_line(line: str) -> None:
        events.append(f"stdout:{line}:file={target.read_text().count(KEY)}")

    variables = [
        Variable("AZURE_OPENAI_API_KEY", SecretValue(KEY)),
        Variable("AZURE_OPENAI_ENDPOINT", "https://a.openai.azure.com/"),
    ]
    export_github(variables, target, write_line)
    assert events == [f"stdout:::add-mask::{KEY}:file=0"]  # the endpoint is not a secret
    assert parse_github_file(target.read_text()) == {
        "EXISTING": "1",
        "AZURE_OPENAI_API_KEY": KEY,
        "AZURE_OPENAI_ENDPOINT": "https://a.openai.azure.com/",
    }


def test_azure_export_one_command_per_variable() -> None:
    lines: list[str] = []
    export_azure([Variable("K", SecretValue(KEY)), Variable("E", "https://a/")], lines.append)
    assert lines == [
        f"##vso[task.setvariable variable=K;issecret=true]{KEY}",
        "##vso[task.setvariable variable=E]https://a/",
    ]


def test_github_file_must_be_the_runners(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$GITHUB_ENV is not set"):
        github_file({}, output=False)
    with pytest.raises(ConfigError, match="not a file"):
        github_file({"GITHUB_OUTPUT": str(tmp_path / "missing")}, output=True)
    (tmp_path / "out").touch()
    assert github_file({"GITHUB_OUTPUT": str(tmp_path / "out")}, output=True) == tmp_path / "out"


def test_variable_reveals_only_through_text() -> None:
    secret = Variable("K", SecretValue(KEY))
    assert secret.secret and KEY not in repr(secret) and secret.text() == KEY
    assert not Variable("E", "https://a/").secret
