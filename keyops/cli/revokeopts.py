"""The rotation's options about who uses the key: how the previous key is revoked
(``--revoke-previous now|when-moved``) and whether the logs are read first
(``--check-consumers``, ``--lookback``, ``--max-wait``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from keyops.cli.context import AppContext
from keyops.cli.params import DURATION, confirmation_option
from keyops.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def revoke_options(fn: F) -> F:
    """Decorate ``keyops rotate`` with the revoke and consumer-check options."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


_OPTIONS = [
    click.option(
        "--revoke-previous",
        type=click.Choice(["now", "when-moved"]),
        is_flag=False,
        flag_value="now",
        default=None,
        envvar=None,
        allow_from_autoenv=False,
        help="Also regenerate the previously active key. `now` (the bare flag): right after "
        "storing (a leak); needs --confirm-revoke, inside the grace period also "
        "--confirm-breaking-consumers. `when-moved`: tag the new version with a pending revoke "
        "that later runs carry out once the logs show every consumer moved to it (exit 0 and a "
        "warning naming who lags until --max-wait, then 6).",
    ),
    confirmation_option(
        "--confirm-revoke",
        help="Confirm --revoke-previous now: consumers still holding that key break now.",
    ),
    click.option(
        "--max-wait",
        type=DURATION,
        default="7d",
        show_default=True,
        envvar="KEYOPS_MAX_WAIT",
        help="--revoke-previous when-moved: how long after the store lagging consumers are waited "
        "for before the revoke is refused (6).",
    ),
    click.option(
        "--check-consumers",
        is_flag=True,
        envvar="KEYOPS_CHECK_CONSUMERS",
        help="Read Key Vault and Azure OpenAI logs first: refuse (6) to regenerate a key someone "
        "read within --lookback, naming who, unless --confirm-breaking-consumers (on with "
        "--revoke-previous when-moved).",
    ),
    click.option(
        "--lookback",
        type=DURATION,
        default="8d",
        show_default=True,
        envvar="KEYOPS_LOOKBACK",
        help="--check-consumers, --revoke-previous when-moved: how far back the logs are read "
        "for readers and key callers (longer than the slowest consumer's cycle: 8d sees a "
        "weekly job).",
    ),
]


#: The shortest ``--lookback`` a ``when-moved`` revoke decides on: a consumer that reads the key
#: once a week reads it once in that window, so it is seen lagging rather than revoked.
WHEN_MOVED_LOOKBACK = timedelta(days=7)


def check_revoke_options(opts: dict[str, Any]) -> None:
    """Refuse (2) revoke options that would revoke blind, before any call."""
    from keyops.durations import format_duration

    if opts["revoke_previous"] == "when-moved" and opts["lookback"] < WHEN_MOVED_LOOKBACK:
        raise InputError(
            f"--lookback {format_duration(opts['lookback'])} is too short for --revoke-previous "
            "when-moved: a consumer that reads the key weekly would go unseen and its key "
            "revoked; give 7d or more (default 8d)"
        )


def consumer_check(app: AppContext, opts: dict[str, Any], azure: Any) -> Any:
    """The evidence reader and its windows for ``--check-consumers`` or ``--revoke-previous
    when-moved``, else None."""
    if opts["revoke_previous"] != "when-moved" and not opts["check_consumers"]:
        return None
    from keyops.rotate.moved import ConsumerCheck
    from keyops.usedby import live_reader

    reader = live_reader(app.env, azure.credential())
    return ConsumerCheck(reader, lookback=opts["lookback"], max_wait=opts["max_wait"])
