"""Options and Azure glue shared by ``keyops run``, ``keyops env`` and ``keyops export``.

No option takes a key: ``--secret`` names a Key Vault secret, ``--key-var`` names a variable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyops.cli.context import AppContext
from keyops.errors import InputError

if TYPE_CHECKING:
    from keyops.handover.source import Handover, KeyRequest

F = TypeVar("F", bound=Callable[..., Any])


def _variable(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from keyops.smoke.keys import check_variable

    try:
        return check_variable(value)
    except InputError as exc:
        raise click.BadParameter(exc.message) from None


def handover_options(fn: F) -> F:
    """``--account | --target | --vault --secret``, ``--endpoint`` and the variable names."""
    options = [
        click.option(
            "--target",
            "-t",
            envvar="KEYOPS_TARGET",
            metavar="NAME",
            help="The [[targets]] entry of keyops.toml whose key to use.",
        ),
        click.option(
            "--account",
            "-a",
            envvar="KEYOPS_ACCOUNT",
            metavar="NAME",
            help="The account whose key to use, found as every command finds it (its secret "
            "is the configured secret_name, default {account}-api-key).",
        ),
        click.option(
            "--vault",
            "--vault-url",
            "vault_url",
            metavar="URL",
            help="Key Vault to read the key from (env KEYOPS_VAULT_URL is only a default for a "
            "target without vault_url).",
        ),
        click.option(
            "--secret",
            "secret_name",
            envvar="KEYOPS_SECRET_NAME",
            metavar="NAME",
            help="Name of the Key Vault secret holding the key.",
        ),
        click.option(
            "--endpoint",
            envvar="KEYOPS_ENDPOINT",
            metavar="URL",
            help="Account endpoint (default: the target's, or the secret's Endpoint tag).",
        ),
        click.option(
            "--key-var",
            envvar="KEYOPS_KEY_VAR",
            default="AZURE_OPENAI_API_KEY",
            show_default=True,
            metavar="NAME",
            callback=_variable,
            help="Name of the variable that receives the key.",
        ),
        click.option(
            "--endpoint-var",
            envvar="KEYOPS_ENDPOINT_VAR",
            default="AZURE_OPENAI_ENDPOINT",
            show_default=True,
            metavar="NAME",
            callback=_variable,
            help="Name of the variable that receives the endpoint.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def key_request(opts: dict[str, Any]) -> KeyRequest:
    """The selection from the parsed options (checked: InputError on contradictions)."""
    from keyops.handover.source import KeyRequest

    request = KeyRequest(
        target=opts["target"],
        vault_url=opts["vault_url"],
        secret_name=opts["secret_name"],
        endpoint=opts["endpoint"],
        account=opts["account"],
    )
    request.check()
    return request


def fetch(app: AppContext, request: KeyRequest) -> Handover:
    """Read the selected key from Key Vault (see :func:`keyops.handover.source.fetch_handover`)."""
    from keyops.cli.session import AzureSession, default_subscription, load_cli_config
    from keyops.handover.source import fetch_handover
    from keyops.render import diag

    config = load_cli_config(app)
    notes: list[str] = []
    try:
        with AzureSession(app) as azure:
            return fetch_handover(
                request, config, azure, default_subscription=default_subscription(app), notes=notes
            )
    finally:
        for note in notes:
            diag(f"note: {note}")
