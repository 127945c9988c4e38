"""``keyops demo``: the main job, end to end, on an in-process emulator with a seeded fleet.

It runs the real commands a newcomer would type — audit, a dry run, the rotation, a rerun,
smoke, usage — against a local emulator on a free port, narrating each step. Nothing leaves the
machine and no key is ever printed: keys show as ``sha256:`` fingerprints.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import click

from keyops.cli.context import AppContext, pass_app
from keyops.errors import ConfigError

DEMO_ACCOUNT = "contoso-aiservices-weu"  # the account whose consumer is left behind
CONSUMER_CALLS = 40


def _say(title: str, text: str) -> None:
    """A chapter: its title, then one paragraph folded between words at the terminal's width
    (whole when piped: plain text, no rules or box characters)."""
    import textwrap

    from keyops.render import terminal_width

    width = terminal_width()
    paragraph = " ".join(text.split())
    click.echo(f"== {title} ==")
    click.echo(
        (
            textwrap.fill(paragraph, width, break_on_hyphens=False, break_long_words=False)
            if width
            else paragraph
        )
        + "\n"
    )


def _keyops(*args: str) -> int:
    """Run one keyops command in-process, exactly as typed on a shell; return its status."""
    from keyops.cli.main import cli

    click.echo(_command_line(["$", "keyops", *args]))
    status = cli.main(list(args), prog_name="keyops", standalone_mode=False)
    click.echo("")
    return int(status or 0)


def _command_line(words: list[str]) -> str:
    """The command as typed, folded at the terminal's width between words with shell
    continuations (`` \\``), so that no word is cut and the lines still paste into a shell."""
    from keyops.render import terminal_width

    width = terminal_width()
    if width is None:
        return " ".join(words)
    lines, line = [], words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) + 2 > width:  # room for " \\" at the end
            lines.append(line + " \\")
            line = "    " + word
        else:
            line += " " + word
    return "\n".join([*lines, line])


@contextmanager
def _emulator(state_dir: Path, propagation_delay: float, world: Any = None) -> Iterator[Any]:
    from keyops.emulator.server import EmulatorServer

    if state_dir.exists():
        shutil.rmtree(state_dir)
    server = EmulatorServer(state_dir, port=0, propagation_delay=propagation_delay, world=world)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _point_at(conn: dict[str, Any], connection_path: Path) -> None:
    """This process's environment, as `eval "$(keyops emulator env)"` would set a shell's."""
    for name in ("AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        os.environ.pop(name, None)
    os.environ.update(
        KEYOPS_EMULATOR=str(connection_path),
        AZURE_AUTHORITY_HOST=conn["authority_host"],
        AZURE_TENANT_ID=conn["tenant_id"],
        AZURE_CLIENT_ID=conn["client_id"],
        AZURE_CLIENT_SECRET=conn["client_secret"],
        AZURE_SUBSCRIPTION_ID=conn["subscription_id"],
    )


def _key_table(app: AppContext, previous: dict[str, tuple[str, str]] | None) -> dict[str, Any]:
    """Both key slots of every account with local auth, as fingerprints; marks what changed."""
    from keyops.azure.arm import AccountsClient
    from keyops.azure.identity import build_credential
    from keyops.render import print_table

    seen: dict[str, tuple[str, str]] = {}
    rows = []
    subscription = os.environ["AZURE_SUBSCRIPTION_ID"]
    with closing(AccountsClient(app.env, build_credential(app.env), subscription)) as arm:
        for account in arm.list_accounts():
            if account.disable_local_auth:
                rows.append([account.name, "(local auth disabled)", ""])
                continue
            keys = arm.list_keys(account.id)
            seen[account.name] = (keys.key1.fingerprint, keys.key2.fingerprint)
            before = (previous or {}).get(account.name)
            cells = []
            for i, fp in enumerate(seen[account.name]):
                changed = before is not None and before[i] != fp
                cells.append(f"{fp}  <- regenerated" if changed else fp)
            rows.append([account.name, *cells])
    print_table(["account", "Key1", "Key2"], rows, title="Account keys (fingerprints)")
    click.echo("")
    return seen


def _consumer_calls(app: AppContext, conn: dict[str, Any], key: Any) -> dict[int, int]:
    """A consumer that never refreshed its key keeps calling: count the answers by status."""
    from keyops.azure.tls import new_session

    account = next(a for a in conn["accounts"] if a["name"] == DEMO_ACCOUNT)
    url = f"{account['endpoint']}openai/deployments/{account['deployments'][0]}/chat/completions"
    counts: dict[int, int] = {}
    with new_session(app.env.verify) as session:
        for _ in range(CONSUMER_CALLS):
            r = session.post(
                url,
                params={"api-version": "2024-10-21"},
                timeout=10,
                json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1},
                headers={"api-key": key.reveal()},
                verify=app.env.verify,
            )
            counts[r.status_code] = counts.get(r.status_code, 0) + 1
    return counts


def _consumer_key(app: AppContext, vault_url: str) -> Any:
    from keyops.azure.identity import build_credential
    from keyops.azure.vault import VaultClient

    with closing(VaultClient(app.env, build_credential(app.env), vault_url)) as vault:
        latest = vault.get_latest(f"{DEMO_ACCOUNT}-api-key")
    if latest is None or latest.value is None:
        raise ConfigError(f"demo: the seeded secret of {DEMO_ACCOUNT} is missing")
    return latest.value


def _backdate_a_day(server: Any, conn: dict[str, Any]) -> None:
    """Stand in for the day consumers get to refresh (the grace period) without waiting."""
    from keyops.azure.tls import new_session

    vault = conn["vaults"][0]["name"]
    with new_session(conn["ca_bundle"]) as session:
        session.post(
            f"{conn['url']}/_emulator/vaults/{vault}/secrets/{DEMO_ACCOUNT}-api-key/versions/latest",
            json={"created": "-25h"},
            timeout=10,
            headers={"Authorization": f"Bearer {conn['admin_token']}"},
        ).raise_for_status()


@click.command("demo")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=".keyops-demo",
    show_default=True,
    envvar="KEYOPS_DEMO_STATE_DIR",
    help="Where the demo's emulator keeps its state (made afresh each run).",
)
@click.option(
    "--propagation-delay",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds before a regenerated key works (Azure: up to minutes).",
)
@pass_app
def demo(app: AppContext, state_dir: str, propagation_delay: float) -> None:
    """Walk through the main job on a local emulator: audit, dry run, rotate, rerun, smoke,
    a consumer left behind, and the usage report that catches it."""
    import json

    started = time.monotonic()
    directory = Path(state_dir).resolve()
    with _emulator(directory, propagation_delay) as server:
        conn = json.loads(server.connection_path.read_text())
        _point_at(conn, server.connection_path)
        app.emulator = str(server.connection_path)
        app.__dict__.pop("env", None)
        vault_url = conn["vaults"][0]["url"]
        # Paths are shown as the user typed them (the report opens from where they stand).
        _walk(app, server, conn, vault_url, Path(state_dir))
    _evidence(app, directory / "evidence", propagation_delay)
    click.echo(
        f"Demo finished in {time.monotonic() - started:.1f} s. "
        f"Usage report: {Path(state_dir) / 'usage.html'}"
    )


def _evidence(app: AppContext, state_dir: Path, propagation_delay: float) -> None:
    """The evidence chapters, on an emulator whose world sends logs and declares consumers."""
    import json

    from keyops.cli.demo_evidence import add_evidence, walk_evidence
    from keyops.emulator.world import default_world_text, parse_world

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    text = default_world_text()
    world = parse_world(add_evidence(tomllib.loads(text)), "<demo world with consumers>")
    with _emulator(state_dir, propagation_delay, world) as server:
        conn = json.loads(server.connection_path.read_text())
        _point_at(conn, server.connection_path)
        app.emulator = str(server.connection_path)
        app.__dict__.pop("env", None)
        walk_evidence(app, conn, conn["vaults"][0]["url"])


def _walk(
    app: AppContext, server: Any, conn: dict[str, Any], vault_url: str, directory: Path
) -> None:
    names = ", ".join(a["name"] for a in conn["accounts"])
    _say(
        "1. What exists",
        f"""
A local emulator of Azure now listens on {conn["url"]} (Entra ID, ARM, Key Vault, Azure OpenAI,
Azure Monitor). The fleet: {names}; one vault, {conn["vaults"][0]["name"]}. keyops signs in
as the service principal 'keyops-rotator', as a pipeline would. Keys are never printed: only
their fingerprints (sha256: + 8 hex digits).""",
    )
    before = _key_table(app, None)
    consumer_key = _consumer_key(app, vault_url)
    _say(
        "2. Audit before",
        """
Which auth method works on each account, with real calls (Key1, Key2, the vault's secret, an
Entra token), and what to fix.""",
    )
    _keyops("audit", "--vault-url", vault_url)
    _say("3. Dry run", "What a rotation would do, and why. No write call is made.")
    _keyops("rotate", "--vault-url", vault_url, "--dry-run")
    delay = server.emulator.settings.propagation_delay
    _say(
        "4. Rotate",
        f"""
Per account: read the secret and both keys, regenerate the slot consumers do NOT use, test the
new key with a 1-token chat completion (retrying while Azure propagates it: {delay:g} s here),
store it as a new secret version, read it back. An account without a secret is adopted.""",
    )
    _keyops("rotate", "--vault-url", vault_url)
    after = _key_table(app, before)
    _say("5. Rerun", "A scheduled rerun skips accounts whose secret is fresh.")
    _keyops("rotate", "--vault-url", vault_url, "--if-older-than", "30d")
    _say("6. Smoke", "Every stored key works on its account's data plane.")
    _keyops("smoke", "--vault-url", vault_url)
    _say("7. Audit after", "The vault's secrets now match live keys and are fresh.")
    _keyops("audit", "--vault-url", vault_url)
    _say(
        "8. A consumer left behind",
        f"""
A consumer of {DEMO_ACCOUNT} read its key before step 4 and never refreshed. A day later (the
demo backdates the secret version instead of waiting) the next rotation regenerates the slot
that consumer still holds. Its calls now fail.""",
    )
    _backdate_a_day(server, conn)
    _keyops("rotate", "--vault-url", vault_url, "--account", DEMO_ACCOUNT)
    _key_table(app, after)
    counts = _consumer_calls(app, conn, consumer_key)
    click.echo(
        f"consumer ({consumer_key.fingerprint}): {CONSUMER_CALLS} calls -> "
        + ", ".join(f"{n} x HTTP {s}" for s, n in sorted(counts.items()))
        + "\n"
    )
    _say(
        "9. Usage report",
        """
Azure Monitor metrics per account, with anomalies explained; the 401 surge is tied to the
rotation that caused it.""",
    )
    _keyops(
        "usage", "--vault-url", vault_url, "--window", "2d", "--html", str(directory / "usage.html")
    )
