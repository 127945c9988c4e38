"""World-file declarations of workspaces, diagnostic settings and consumers: each mistake is a
WorldError naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from keyops.emulator.world import WorldError, parse_world
from tests.consumers.worlds import consumers_document


def _with(change: Any) -> Any:
    doc = consumers_document()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda d: d["consumers"][0].update(principal="nobody"),
            "consumers[0].principal",
            "unknown",
        ),
        (lambda d: d["consumers"][0].update(refresh="soon"), "consumers[0].refresh", "duration"),
        (lambda d: d["consumers"][0].update(calls_every="0m"), "consumers[0].calls_every", "0s"),
        (
            lambda d: d["consumers"][4].pop("key_slot"),
            "consumers[4]",
            "secret to read or a key_slot",
        ),
        (lambda d: d["consumers"][0].update(secret="kv-nope/x"), "consumers[0].secret", "vault"),
        (lambda d: d["consumers"][2].pop("principal"), "consumers[2].auth", "token consumer"),
        (lambda d: d["consumers"][0].update(auth="cert"), "consumers[0].auth", "not one of"),
        (lambda d: d["consumers"][0].update(colour="red"), "consumers[0].colour", "unknown field"),
        (
            lambda d: d["diagnostic_settings"][0].update(resource="vault:nope"),
            "diagnostic_settings[0].resource",
            "names no",
        ),
        (
            lambda d: d["diagnostic_settings"][0].update(workspace="nope"),
            "diagnostic_settings[0].workspace",
            "no workspace",
        ),
        (
            lambda d: d["diagnostic_settings"][0].update(categories=["Everything"]),
            "diagnostic_settings[0].categories",
            "not one of",
        ),
        (
            lambda d: d["workspaces"][0].update(retention_days=0),
            "workspaces[0].retention_days",
            "1..",
        ),
        (
            lambda d: d["workspaces"][1].update(readers=["ghost"]),
            "workspaces[1].readers",
            "unknown",
        ),
        (
            lambda d: d["settings"].update(ingestion_delay="late"),
            "settings.ingestion_delay",
            "duration",
        ),
    ],
)
def test_each_mistake_names_its_field(change: Any, field: str, words: str) -> None:
    with pytest.raises(WorldError) as caught:
        parse_world(_with(change))
    message = str(caught.value)
    assert message.startswith(f"{field}:") and words in message


def test_a_world_without_logs_declares_none() -> None:
    from keyops.emulator.world import load_world

    logs = load_world().logs
    assert (logs.workspaces, logs.diagnostic_settings, logs.consumers) == ((), (), ())
