"""``keyops smoke``: prove keys (or tokens) work with one minimal data-plane call per target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from keyops.cli.context import AppContext, output_option, pass_app
from keyops.cli.session import (
    AzureSession,
    probe_options,
    resolve_cli_targets,
    selection_options,
)
from keyops.errors import InputError, RefusedError
from keyops.exitcodes import ExitStatus

if TYPE_CHECKING:
    from keyops.azure.arm import KeySlot
    from keyops.azure.probe import Api
    from keyops.smoke.keys import KeySource
    from keyops.smoke.plan import Overrides
    from keyops.smoke.runner import CredentialProvider, SmokeResult, SmokeTarget

F = TypeVar("F", bound=Callable[..., Any])


def _key_source(
    key_from: str | None,
    slot: str | None,
    env_file: str | None,
    key_env: str | None,
    auth: str,
    adhoc: bool,
) -> KeySource:
    from keyops.smoke.keys import KeySource

    if auth == "entra":
        if key_from or slot or env_file or key_env:
            raise InputError(
                "--auth entra takes no key source (--key-from, --slot, --env-file, --key-env)"
            )
        return KeySource.ENTRA
    flags = [
        (slot, "--slot", KeySource.ARM),
        (env_file, "--env-file", KeySource.DOTENV),
        (key_env, "--key-env", KeySource.ENV),
    ]
    given = [(flag, source) for value, flag, source in flags if value]
    implied = given[0][1] if given else None
    if slot and env_file:
        raise InputError("--slot and --env-file are two different key sources; pick one")
    chosen = KeySource(key_from) if key_from else None
    # --key-env names the .env entry too, so it goes with --key-from dotenv.
    named_in_dotenv = chosen is KeySource.DOTENV and implied is KeySource.ENV
    if chosen and implied and chosen is not implied and not named_in_dotenv:
        raise InputError(f"--key-from {chosen.value} conflicts with {given[0][0]}")
    if chosen is KeySource.ARM and not slot:
        raise InputError("--key-from arm needs --slot Key1|Key2")
    return chosen or implied or (KeySource.ENV if adhoc else KeySource.VAULT)


def _refuse_key_argument(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value:
        raise RefusedError(
            "keys are never taken from the command line (shell history, process "
            "list); use --key-from env|dotenv|stdin, or the vault or ARM"
        )


def _adhoc(
    azure: AzureSession,
    provider: CredentialProvider,
    endpoint: str,
    deployment: str | None,
    overrides: Overrides,
    vault_url: str | None,
    secret_name: str | None,
) -> list[SmokeTarget]:
    from keyops.smoke.keys import KeySource
    from keyops.smoke.plan import account_for_endpoint, adhoc_target

    target = adhoc_target(
        endpoint, deployment, overrides, vault_url=vault_url, secret_name=secret_name
    )  # checks input before any Azure call
    if provider.source is not KeySource.ARM:
        return [target]
    accounts = azure.accounts()
    provider.accounts = accounts
    account = account_for_endpoint(accounts.list_accounts(), target.endpoint)
    if account is None:
        raise InputError(
            f"--endpoint {target.endpoint}: no account with this endpoint in subscription "
            f"{accounts.subscription_id} (--slot reads the key from the account)"
        )
    return [adhoc_target(endpoint, deployment, overrides, account=account)]


@click.command("smoke", params=[output_option("table", "json")])
@selection_options
@click.option("--endpoint", help="Ad hoc: an account endpoint (https://<name>.openai.azure.com/).")
@click.option("--deployment", "-d", help="Deployment to call (ad hoc: required).")
@click.option(
    "--api",
    type=click.Choice(["chat", "completions"]),
    help="Call chat completions or completions (default: from the deployment).",
)
@click.option(
    "--auth",
    type=click.Choice(["key", "entra"]),
    default="key",
    show_default=True,
    help="Authenticate with a key, or an Entra token for the current identity.",
)
@click.option(
    "--key-from",
    type=click.Choice(["vault", "arm", "env", "dotenv", "stdin"]),
    help="Where the key comes from (default: vault; ad hoc: env).",
)
@click.option("--slot", type=click.Choice(["Key1", "Key2"]), help="Use this key slot from ARM.")
@click.option(
    "--key-env",
    metavar="VARIABLE",
    help="Environment variable (or .env entry) holding the key [default: AZURE_OPENAI_API_KEY].",
)
@click.option(
    "--env-file", type=click.Path(dir_okay=False), help="Read the key from this .env file."
)
@click.option("--secret-name", help="Ad hoc with --key-from vault: the secret's name.")
@probe_options(attempts=3, workers=4, per="target")
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Total seconds of Retry-After waiting allowed per target.",
)
@click.option(
    "--key",
    "--api-key",
    "key_argument",
    hidden=True,
    expose_value=False,
    callback=_refuse_key_argument,
    is_eager=True,
)
@pass_app
def smoke(
    app: AppContext,
    output: str,
    subscription: str | None,
    resource_group: str | None,
    account: str | None,
    tags: tuple[str, ...],
    vault_url: str | None,
    endpoint: str | None,
    deployment: str | None,
    api: str | None,
    api_version: str | None,
    auth: str,
    key_from: str | None,
    slot: str | None,
    key_env: str | None,
    env_file: str | None,
    secret_name: str | None,
    timeout: float,
    attempts: int,
    max_wait: float,
    workers: int,
) -> None:
    """Prove keys work: one minimal data-plane call per target (max_tokens 1).

    Targets come from keyops.toml or discovery, or ad hoc with --endpoint/--deployment. The key
    comes from the vault, ARM (--slot), the environment, a .env file or stdin; never from an
    argument. Exit status 1 when any call failed.
    """
    from keyops.azure.probe import RetryPolicy
    from keyops.render import progress
    from keyops.smoke.keys import DEFAULT_KEY_VARIABLE, KeySource, check_variable
    from keyops.smoke.plan import Overrides, plan_targets
    from keyops.smoke.runner import CredentialProvider, run_smoke

    source = _key_source(key_from, slot, env_file, key_env, auth, adhoc=bool(endpoint))
    overrides = Overrides(deployment, cast("Api | None", api), api_version)
    with AzureSession(app, subscription) as azure:
        provider = CredentialProvider(
            source,
            app.env,
            azure.credential,
            slot=cast("KeySlot | None", slot),
            vault_factory=azure.vault,
            variable=check_variable(key_env or DEFAULT_KEY_VARIABLE),
            env_file=Path(env_file or ".env"),
            prompt=lambda: click.prompt("API key", hide_input=True, err=True),
        )
        skipped: list[SmokeResult] = []
        if endpoint:
            targets = _adhoc(
                azure, provider, endpoint, deployment, overrides, vault_url, secret_name
            )
        else:
            provider.accounts = azure.accounts()
            resolved = resolve_cli_targets(
                app, azure.accounts(), subscription, resource_group, account, tags, vault_url
            )
            targets, skipped = plan_targets(
                resolved, azure.accounts_for, overrides, with_keys=source is not KeySource.ENTRA
            )
        with progress("smoke tests", len(targets)) as step:
            results = skipped + run_smoke(
                targets,
                provider,
                timeout=timeout,
                workers=workers,
                verify=app.env.verify,
                retry=RetryPolicy(max_attempts=attempts, max_wait=max_wait),
                on_done=step,
            )
    _finish(results, output)


def _finish(results: list[SmokeResult], output: str) -> None:
    from keyops.render import Layout, info, print_json, print_table
    from keyops.smoke.report import COLUMNS, DROP, WRAP, document, table_rows
    from keyops.smoke.runner import summary

    # An ad hoc call's missing deployment is a failed row like a configured target's (status
    # 1, the row on stdout in every format), not an error with nothing on stdout.
    if output == "json":
        print_json(document(results))
    else:
        print_table(COLUMNS, table_rows(results), layout=Layout(DROP, WRAP), output=output)
    counts = summary(results)
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    info(f"smoke: {counts['ok']} ok, {counts['failed']} failed{skipped} of {counts['total']}")
    if counts["failed"]:
        click.get_current_context().exit(int(ExitStatus.FAILED))
