"""Start-up: ``keyops --help`` and every subcommand's ``--help`` import click and nothing else.

What click itself loads to render a help page (shutil, textwrap, locale, ...) is measured by
rendering a trivial command's help in the same interpreter; keyops may add only its own modules
on top, none of which imports more at module level. The module list is printed without json
(``repr``), so that a keyops module importing json is seen.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from keyops.cli.main import COMMANDS

_MODULES = "import sys\nprint('MODULES=' + repr(sorted(sys.modules)))\n"
_CLICK_HELP = (
    "import click\n"
    "@click.command()\n@click.option('--x', help='y')\ndef f(x):\n    pass\n"
    "try:\n    f(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
)


def _modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + _MODULES], capture_output=True, text=True, check=True
    )
    return set(ast.literal_eval(out.stdout.split("MODULES=", 1)[1]))


@pytest.mark.parametrize(
    "args", [[], *([name] for name in sorted(COMMANDS)), ["emulator", "serve"]], ids=str
)
def test_help_imports_only_click_and_what_it_needs(args: list[str]) -> None:
    baseline = _modules(_CLICK_HELP)
    call = f"cli({[*args, '--help']!r}, standalone_mode=False)"
    code = f"from keyops.cli.main import cli\ntry:\n    {call}\nexcept SystemExit:\n    pass\n"
    extra = {m for m in _modules(code) - baseline if m != "keyops" and not m.startswith("keyops.")}
    assert sorted(extra) == []
