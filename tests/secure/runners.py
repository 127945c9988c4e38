"""Just enough of a GitHub Actions runner and an Azure Pipelines agent to run the keyops
templates' script steps against the emulator.

What is imitated: the environment each step sees (workflow/job/step ``env``, pipeline
``variables``, ``${{ ... }}`` expressions and ``$(...)`` macros from a given context), the files
a GitHub step writes to ($GITHUB_ENV with heredoc blocks, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY),
bash with ``-eo pipefail``, and a ``keyops`` on PATH that runs this repository's keyops — or,
for a command not built yet, records the skip and exits 0. ``uses:`` actions and tasks other
than AzureCLI@2 are not run; the caller gets them back as skipped, with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.secure.support import REPO

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_MACRO = re.compile(r"\$\(([A-Za-z0-9_.]+)\)")
#: ``keyops <command>`` at a command position (line start, after ; && || | or a subshell).
_KEYOPS_CALL = re.compile(r"(?m)(?:^[ \t]*|[;&|(][ \t]*)keyops[ \t]+([a-z][a-z-]*)")

SHIM = '''#!{python}
"""keyops for the template tests: this repository's, or a recorded skip if not built yet."""
import os, sys
sys.path.insert(0, {repo!r})
import click
from keyops.cli.main import cli
args = sys.argv[1:]
i = 0
while i < len(args) and args[i].startswith("-"):
    i += 2 if args[i] in ("-o", "--output", "--emulator", "--cloud", "--config") else 1
name = args[i] if i < len(args) else None
if name and cli.get_command(click.Context(cli), name) is None:
    with open(os.environ["KEYOPS_SHIM_SKIPS"], "a") as skips:
        skips.write(name + "\\n")
    print(f"(template test) keyops {{name}} is not built yet: skipped", file=sys.stderr)
    sys.exit(0)
os.execv(sys.executable, [sys.executable, "-m", "keyops", *args])
'''


@dataclass
class Step:
    """One step's outcome: ran (with its process) or skipped (with the reason)."""

    name: str
    skipped: str | None = None
    proc: subprocess.CompletedProcess[str] | None = None

    @property
    def output(self) -> str:
        return (self.proc.stdout + self.proc.stderr) if self.proc else ""


@dataclass
class Runner:
    """The shared parts: a work directory, a PATH with the keyops shim, the base environment."""

    workdir: Path
    temp: Path
    base_env: Mapping[str, str]
    skip_steps: Mapping[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        bin_dir = self.temp / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        shim = bin_dir / "keyops"
        shim.write_text(SHIM.format(python=sys.executable, repo=str(REPO)))
        shim.chmod(0o755)
        self.skips_file = self.temp / "shim-skips.txt"
        self.skips_file.touch()
        self.path = f"{bin_dir}{os.pathsep}{self.base_env.get('PATH', os.defpath)}"

    @property
    def skipped_commands(self) -> list[str]:
        """keyops commands the shim skipped because they are not built yet."""
        return sorted(set(self.skips_file.read_text().split()))

    def bash(self, name: str, script: str, env: Mapping[str, str]) -> Step:
        """Run a script step as the runners do: bash --noprofile --norc -eo pipefail."""
        path = self.temp / f"step-{len(self.steps)}.sh"
        path.write_text(script)
        full = {
            **self.base_env,
            **env,
            "PATH": self.path,
            "KEYOPS_SHIM_SKIPS": str(self.skips_file),
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            env=full,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        step = Step(name, proc=proc)
        self.steps.append(step)
        return step

    def skip(self, name: str, reason: str) -> None:
        self.steps.append(Step(name, skipped=reason))


def keyops_commands(script: str) -> list[str]:
    """The keyops subcommands a script calls (``pip install keyops`` is not a call)."""
    return _KEYOPS_CALL.findall(script)


def _expand_expressions(value: Any, context: Mapping[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in context:
            raise KeyError(f"the test gives no value for ${{{{ {key} }}}}")
        return context[key]

    return _EXPRESSION.sub(lookup, str(value))


def parse_github_file(text: str) -> dict[str, str]:
    """``$GITHUB_ENV``/``$GITHUB_OUTPUT`` content: ``NAME=value`` lines and heredoc blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise ValueError(f"unterminated heredoc for {name}")
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


class GitHubRunner(Runner):
    """Runs one job of a workflow, step by step."""

    def run_job(
        self,
        workflow: dict[str, Any],
        job: str,
        context: Mapping[str, str],
        runner_env: Mapping[str, str],
    ) -> str:
        """Run the job; returns the concatenated job summary."""
        spec = workflow["jobs"][job]
        env = {
            k: _expand_expressions(v, context)
            for k, v in {**workflow.get("env", {}), **spec.get("env", {})}.items()
        }
        summary = []
        for index, step in enumerate(spec["steps"]):
            name = step.get("name") or step.get("uses") or f"step {index}"
            if "uses" in step:
                self.skip(name, f"action {step['uses']} is not run by the test")
                continue
            if name in self.skip_steps:
                self.skip(name, self.skip_steps[name])
                continue
            files = {
                n: self.temp / f"{n.lower()}-{index}"
                for n in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
            }
            for path in files.values():
                path.touch()
            step_env = {k: _expand_expressions(v, context) for k, v in step.get("env", {}).items()}
            self.bash(
                name,
                _expand_expressions(step["run"], context),
                {**runner_env, **env, **{k: str(v) for k, v in files.items()}, **step_env},
            )
            env.update(parse_github_file(files["GITHUB_ENV"].read_text()))
            summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
        return "".join(summary)


class AzureRunner(Runner):
    """Runs a pipeline's steps (bash ``script`` steps and AzureCLI@2 inline bash scripts)."""

    def run_pipeline(
        self,
        pipeline: dict[str, Any],
        variables: Mapping[str, str],
        task_env: Mapping[str, str],
        agent_env: Mapping[str, str],
    ) -> None:
        """``variables`` override the pipeline's; ``task_env`` is what AzureCLI@2 adds."""
        values = {**{k: str(v) for k, v in pipeline.get("variables", {}).items()}, **variables}
        # Non-secret variables reach scripts as environment variables: upper case, '.' -> '_'.
        env = {k.upper().replace(".", "_"): v for k, v in values.items()}

        def macros(text: Any) -> str:
            return _MACRO.sub(lambda m: values.get(m.group(1), m.group(0)), str(text))

        for index, step in enumerate(pipeline["steps"]):
            kind = step.get("task") or ("script" if "script" in step else next(iter(step)))
            name = step.get("displayName") or f"{kind} {index}"
            step_env = {k: macros(v) for k, v in step.get("env", {}).items()}
            if name in self.skip_steps:
                self.skip(name, self.skip_steps[name])
            elif kind == "script":
                self.bash(name, macros(step["script"]), {**agent_env, **env, **step_env})
            elif kind == "AzureCLI@2":
                inputs = step["inputs"]
                assert inputs["scriptType"] == "bash" and inputs["addSpnToEnvironment"] is True
                self.bash(
                    name,
                    macros(inputs["inlineScript"]),
                    {**agent_env, **env, **task_env, **step_env},
                )
            else:
                self.skip(name, f"{kind} is not run by the test")
