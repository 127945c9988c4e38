"""``keyops emulator serve|env``: run the local Azure emulator and point a shell at it.

json and shlex are imported where they are used: ``keyops emulator --help`` needs neither.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import click

from keyops.errors import ConfigError, ServiceError


def _state_dir(value: str | None) -> Path:
    from keyops.emulator.server import default_state_dir

    return Path(value) if value else default_state_dir()


def _env_command(state_dir: str | None) -> str:
    """The ``keyops emulator env`` command that finds this emulator from any shell: a state
    directory given by option or environment goes on it, absolute and shell-quoted (the other
    shell may have another working directory and no ``KEYOPS_EMULATOR_HOME``)."""
    import shlex

    if state_dir is None:
        return "keyops emulator env"
    return f"keyops emulator env --state-dir {shlex.quote(str(Path(state_dir).absolute()))}"


@click.group()
def emulator() -> None:
    """Run the local Azure emulator (Entra ID, ARM, Key Vault, Azure OpenAI, Monitor).

    The default state directory is $KEYOPS_EMULATOR_HOME or ~/.keyops/emulator.
    """


def _running(directory: Path) -> tuple[int, str] | None:
    """(pid, url) of a live emulator serving ``directory``, from its connection.json (a file
    left by a killed emulator names a pid that is gone)."""
    import json

    try:
        conn = json.loads((directory / "connection.json").read_text(encoding="utf-8"))
        pid, url = int(conn["pid"]), str(conn["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return pid, url


def _refuse_if_running(directory: Path) -> None:
    import shlex

    running = _running(directory)
    if running is not None:
        pid, url = running
        raise ConfigError(
            f"an emulator is already running on {directory} (pid {pid}, url {url}); use it "
            f'(eval "$(keyops emulator env --state-dir {shlex.quote(str(directory))})"), stop '
            "it, or pass another --state-dir"
        )


@emulator.command()
@click.option(
    "--state-dir",
    envvar="KEYOPS_EMULATOR_HOME",
    type=click.Path(file_okay=False),
    help="Where the CA, state and connection.json live.",
)
@click.option(
    "--port",
    envvar="KEYOPS_EMULATOR_PORT",
    type=click.IntRange(0, 65535),
    default=None,
    help="HTTPS port (0 = a free port; default: the port it had).",
)
@click.option(
    "--world",
    "world_path",
    envvar="KEYOPS_EMULATOR_WORLD",
    type=click.Path(dir_okay=False, exists=True),
    help="World file (TOML or JSON); default: the shipped world.",
)
@click.option(
    "--propagation-delay",
    envvar="KEYOPS_EMULATOR_PROPAGATION_DELAY",
    type=float,
    default=None,
    help="Seconds before a regenerated key works (default: the world's).",
)
@click.option(
    "--proxy-port",
    envvar="KEYOPS_EMULATOR_PROXY_PORT",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the vault proxy (HTTPS_PROXY for `az keyvault --vault-name`; 0 = a free port).",
)
def serve(
    state_dir: str | None,
    port: int | None,
    world_path: str | None,
    propagation_delay: float | None,
    proxy_port: int | None,
) -> None:
    """Serve the emulator over HTTPS on 127.0.0.1 until interrupted."""
    from keyops.emulator.server import EmulatorServer
    from keyops.emulator.world import WorldError

    directory = _state_dir(state_dir)
    _refuse_if_running(directory)
    try:
        server = EmulatorServer(
            directory,
            port=port,
            world_path=world_path,
            propagation_delay=propagation_delay,
            log_level="warning",
            proxy_port=proxy_port,
        )
    except WorldError as exc:
        raise ConfigError(f"world file: {exc}") from None
    except OSError as exc:
        raise ServiceError(str(exc)) from None
    click.echo(f"keyops emulator: serving {server.url} (state {directory})", err=True)
    click.echo(f"keyops emulator: connection file {server.connection_path}", err=True)
    click.echo(f"keyops emulator: vault proxy {server.proxy.url} (for HTTPS_PROXY)", err=True)
    click.echo(f'keyops emulator: in another shell: eval "$({_env_command(state_dir)})"', err=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@emulator.command()
@click.option(
    "--state-dir",
    envvar="KEYOPS_EMULATOR_HOME",
    type=click.Path(file_okay=False),
    help="The state directory of a running emulator.",
)
def env(state_dir: str | None) -> None:
    """Print `export` lines that point a shell (and the Azure SDKs) at a running emulator."""
    import json
    import shlex

    path = _state_dir(state_dir) / "connection.json"
    try:
        conn = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no running emulator: {path} not found (start one with `keyops emulator serve`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        values = _env_values(conn, path)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ConfigError(
            f"{path} is not an emulator's connection file (bad or missing {exc}); restart "
            "`keyops emulator serve` to rewrite it"
        ) from None
    # These lines exist to hand the emulator's test credentials to a shell: past the redactor.
    from keyops.redact import raw_stdout

    out = raw_stdout()
    out.write("".join(f"export {n}={shlex.quote(str(v))}\n" for n, v in values.items()))
    out.flush()


def _env_values(conn: dict[str, Any], path: Path) -> dict[str, str]:
    """The variables `keyops emulator env` exports, from a connection file."""
    values = {
        "AZURE_AUTHORITY_HOST": conn["authority_host"],
        "AZURE_TENANT_ID": conn["tenant_id"],
        "AZURE_CLIENT_ID": conn["client_id"],
        "AZURE_CLIENT_SECRET": conn["client_secret"],
        "AZURE_SUBSCRIPTION_ID": conn["subscription_id"],
        "REQUESTS_CA_BUNDLE": conn["ca_bundle"],
        "SSL_CERT_FILE": conn["ca_bundle"],
        "KEYOPS_EMULATOR": str(path),
        "KEYOPS_EMULATOR_URL": conn["url"],
        "KEYOPS_LOGS_ENDPOINT": conn.get("logs_endpoint", conn["url"]),
    }
    if conn.get("vaults"):
        # A default for targets whose configuration names no vault, never an override.
        values["KEYOPS_VAULT_URL"] = conn["vaults"][0]["url"]
    if conn.get("vault_proxy"):
        values["KEYOPS_EMULATOR_PROXY"] = conn["vault_proxy"]["url"]
    return {name: str(value) for name, value in values.items()}
