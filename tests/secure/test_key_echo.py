"""Key-echoing errors: a service (or a misconfigured proxy) that answers an error whose message
holds the key must not make keyops print it, on any operation of any command, in any format.

Each case injects, on one operation, an emulator fault whose ``message`` carries the account's
keys and the vault's secret as they are, in base64, in base64url and inside a ``user:key`` Basic
blob; the command runs with ``--debug`` (its tracebacks and logs included) in every output
format it has, and no trace of a key may appear on stdout, stderr or in a file it wrote. The
matrix is enumerated below and each case checks that its fault fired, so an operation a command
no longer calls fails the test rather than passing it unseen.

What keyops can mask depends on what it has seen: the annotated 84-character format is masked
always; the base64 forms (and a legacy 32-hex key) are masked once keyops holds the key, so
``seen=False`` cases (the operation fails before keyops read any key) check the annotated exact
form only. Each test starts with an empty redactor (tests/conftest.py), so a key registered by
an earlier invocation in this process cannot mask for a later one.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from keyops.emulator.services.arm.models import current_key
from tests.secure.support import git_repo, invoke
from tests.support.emulator import EmulatorHandle, start_emulator

EUS, LEGACY = "contoso-openai-eus", "contoso-openai-legacy"
RG = "rg-ai-prod"
ANNOTATED = "JQQJ99"


@dataclass(frozen=True)
class Case:
    """``keyops [-o FORMAT] ARGS`` with a key-echoing fault on ``operation``."""

    command: tuple[str, ...]
    operation: str
    formats: tuple[str, ...]
    #: Whether keyops holds the keys when the operation fails (see the module docstring).
    seen: bool
    account: str = EUS
    pipeline: bool = False
    #: Only requests whose path holds this (the key's secret rather than the lease's).
    match: str | None = None

    def ids(self) -> Iterator[tuple[Case, str]]:
        for fmt in self.formats:
            yield self, fmt


TJ, TJS, TJH = ("table", "json"), ("table", "json", "sarif"), ("table", "json", "html")
ROTATE = (
    "rotate",
    "--force",
    "--confirm-breaking-consumers",
    "--break-lease",
    "--propagation-timeout",
    "20s",
)
SMOKE_ARM = ("smoke", "--key-from", "arm", "--slot", "Key1")

#: Every command that talks to Azure, each operation it calls, each of its output formats.
MATRIX: tuple[Case, ...] = (
    *(Case(ROTATE, op, TJ, seen=False) for op in ("Accounts_ListByResourceGroup", "GetSecret")),
    # The run's one listing of the vault comes first (is the account due?); failing, it is
    # listed again for the other-holder check, after the keys.
    Case(ROTATE, "GetSecrets", TJ, seen=False),
    Case(ROTATE, "Accounts_ListKeys", TJ, seen=False),
    # A forced rotation is due by the vault alone, so its keys are first listed under the lease
    # (README, "Requests per account"): the deployment, the lease's claim and look, and the
    # withdrawal of a claim left live by an earlier case come before keyops holds the keys.
    *(
        Case(ROTATE, op, TJ, seen=False)
        for op in ("Deployments_List", "SetSecret", "GetSecretVersions", "UpdateSecret")
    ),
    *(
        Case(ROTATE, op, TJ, seen=True)
        for op in ("Accounts_RegenerateKey", "ChatCompletions_Create")
    ),
    Case(ROTATE, "SetSecret", TJ, seen=True, match=f"/secrets/{EUS}-api-key"),
    *(
        Case(("smoke",), op, TJ, seen=False)
        for op in ("Accounts_ListByResourceGroup", "Deployments_List", "GetSecret")
    ),
    Case(("smoke",), "ChatCompletions_Create", TJ, seen=True),
    Case(SMOKE_ARM, "Accounts_ListKeys", TJ, seen=False),
    Case(SMOKE_ARM, "ChatCompletions_Create", TJ, seen=True),
    Case(SMOKE_ARM, "ChatCompletions_Create", TJ, seen=True, account=LEGACY),
    *(
        Case(("audit",), op, TJS, seen=False)
        for op in ("Accounts_ListByResourceGroup", "Deployments_List", "Accounts_ListKeys")
    ),
    *(
        Case(("audit",), op, TJS, seen=True)
        for op in (
            "GetSecret",
            "ChatCompletions_Create",
            "RoleAssignments_ListForScope",
            "RoleDefinitions_Get",
        )
    ),
    *(
        Case(("usage",), op, TJH, seen=False)
        for op in ("Accounts_ListByResourceGroup", "Metrics_List", "GetSecretVersions")
    ),
    *(
        Case(("scan", "--live", "src"), op, TJS, seen=False)
        for op in ("Accounts_ListByResourceGroup", "Accounts_ListKeys")
    ),
    *(
        Case(("env", "--target", EUS, "--write", ".env"), op, TJ, seen=False)
        for op in ("Accounts_ListByResourceGroup", "GetSecret")
    ),
    *(
        Case(("export", "--target", EUS), op, TJ, seen=False, pipeline=True)
        for op in ("Accounts_ListByResourceGroup", "GetSecret")
    ),
    *(
        Case(("run", "--target", EUS, "--", "true"), op, ("table",), seen=False)
        for op in ("Accounts_ListByResourceGroup", "GetSecret")
    ),
)


@pytest.fixture(scope="module")
def echo_emulator(
    tmp_path_factory: pytest.TempPathFactory, tls_dir: Path
) -> Iterator[EmulatorHandle]:
    """One emulator for the matrix, with a rotation done so that the vault holds the key."""
    handle = start_emulator(tmp_path_factory.mktemp("echo-emulator"), tls_dir)
    work = git_repo(tmp_path_factory.mktemp("echo-setup"))
    config = _config(handle, work, EUS)
    r = invoke(handle, ["--config", str(config), "rotate", "--propagation-timeout", "20s"])
    assert r.exit_code == 0, r.stderr
    yield handle
    handle.stop()


def _config(handle: EmulatorHandle, work: Path, account: str) -> Path:
    path = work / "keyops.toml"
    path.write_text(
        f'[defaults]\nvault_url = "{handle.vault_url()}"\n\n'
        f'[[targets]]\nname = "{account}"\nresource_group = "{RG}"\naccount = "{account}"\n'
    )
    return path


def _keys(handle: EmulatorHandle, account: str) -> set[str]:
    """The account's keys now, and the value of its vault secret."""
    emu = handle.server.emulator
    keys = {current_key(emu, account, slot) for slot in ("Key1", "Key2")}
    client = handle.secret_client()
    try:
        with contextlib.suppress(ResourceNotFoundError):  # the legacy account has none
            keys.add(str(client.get_secret(f"{account}-api-key").value))
    finally:
        client.close()
    return keys


def _b64(text: str, alphabet: str = "std") -> str:
    encode = base64.urlsafe_b64encode if alphabet == "url" else base64.b64encode
    return encode(text.encode()).decode()


def _echo(keys: set[str]) -> str:
    """A service error quoting the keys in every form a careless server would."""
    parts = []
    for key in sorted(keys):
        parts += [key, _b64(key), _b64(key, "url"), _b64(f"user:{key}")]
    return "The request carried " + " / ".join(parts) + " which is not valid here."


def _windows(text: str, width: int) -> set[str]:
    return {text[i : i + width] for i in range(len(text) - width + 1)}


def _traces(keys: set[str], seen: bool) -> dict[str, set[str]]:
    """Label -> pieces that must not appear: every 12-character piece of a key, every
    16-character piece of its base64 forms (a cut-short message still leaks its start)."""
    traces = {}
    for key in keys:
        name = key[:2] + "…"
        if seen or ANNOTATED in key:
            traces[f"key {name}"] = _windows(key, 12)
        if seen:
            for label, form in (
                ("base64", _b64(key)),
                ("base64url", _b64(key, "url")),
                ("basic", _b64(f"user:{key}")),
            ):
                # The ends of a base64 form depend on its neighbours: only the middle is the key's.
                traces[f"{label} form of {name}"] = _windows(form[4:-4], 16)
    return traces


def _run(handle: EmulatorHandle, case: Case, fmt: str, work: Path) -> tuple[str, list[Path]]:
    """Run the case; returns everything it printed and the files it wrote."""
    git_repo(work)
    (work / "src").mkdir()
    (work / "src" / "app.py").write_text("print('hello')\n")
    config = _config(handle, work, case.account)
    args = ["--config", str(config), "--debug", "-o", "table" if fmt == "html" else fmt]
    command = list(case.command)
    command = [str(work / c) if c in ("src", ".env") else c for c in command]
    if fmt == "html":
        command += ["--html", str(work / "usage.html")]
    if case.command[0] == "scan" and fmt == "sarif":
        args[-1], command = "table", [*command, "--output", "sarif"]
    if case.command[0] == "audit" and fmt == "sarif":
        args[-1], command = "table", [*command, "--output", "sarif"]
    extra: dict[str, str | None] = {}
    if case.pipeline:
        (work / "gh-env").touch()
        extra = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(work / "gh-env")}
    r = invoke(handle, [*args, *command], **extra)
    files = [p for p in work.rglob("*") if p.is_file() and ".git" not in p.parts]
    return r.stdout + "\n" + r.stderr, files


CASES = [pair for case in MATRIX for pair in case.ids()]


@pytest.mark.parametrize(
    ("case", "fmt"),
    CASES,
    ids=[
        f"{c.command[0]}-{c.account[8:]}-{c.operation}{'-key' if c.match else ''}-{f}"
        for c, f in CASES
    ],
)
def test_a_key_echoing_error_prints_no_key(
    echo_emulator: EmulatorHandle, tmp_path: Path, case: Case, fmt: str
) -> None:
    keys = _keys(echo_emulator, case.account)
    echo_emulator.admin("DELETE", "faults")
    rule = echo_emulator.fault(
        {
            "operation": case.operation,
            "kind": "status",
            "status": 400,
            "code": "BadRequest",
            "message": _echo(keys),
            "times": None,
            "match": case.match,
        },
    )
    printed, files = _run(echo_emulator, case, fmt, tmp_path / "work")
    fired = next(r for r in echo_emulator.admin("GET", "faults")["faults"] if r["id"] == rule["id"])
    echo_emulator.admin("DELETE", "faults")
    assert fired["fired"] > 0, f"{case.operation} was not called: {printed[-400:]}"
    exempt = {"gh-env", ".env"}  # the files whose job is to hold the key
    texts = {"output": printed} | {
        str(p): p.read_text(errors="replace") for p in files if p.name not in exempt
    }
    for where, text in texts.items():
        for label, pieces in _traces(keys, case.seen).items():
            assert not any(p in text for p in pieces), f"{label} in {where}"
