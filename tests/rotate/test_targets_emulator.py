"""Target resolution: configured targets, discovery, filters, and errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyops.config import parse_config
from keyops.errors import ConfigError, InputError
from keyops.rotate.events import SecretEvent, targets_for_events
from keyops.targets import Selection, parse_tag_filters, resolve_targets
from tests.rotate.conftest import Rig

SUB = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
EUS_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-ai-prod/providers/"
    "Microsoft.CognitiveServices/accounts/contoso-openai-eus"
)


def config(rig: Rig, extra: str = "") -> str:
    return f"""
[defaults]
vault_url = "{rig.vault_url}"
subscription = "{SUB}"

[[targets]]
name = "eus"
resource_id = "{EUS_ID}"
deployment = "gpt-4o-mini"

[[targets]]
name = "weu"
resource_group = "rg-ai-shared"
account = "contoso-aiservices-weu"
secret_name = "weu-{{account}}"
{extra}"""


def test_configured_targets_resolve_through_arm(rig: Rig) -> None:
    cfg = parse_config(config(rig), Path("keyops.toml"))
    eus, weu = resolve_targets(cfg, rig.services.accounts)
    assert (eus.name, eus.resource_id, eus.deployment) == ("eus", EUS_ID, "gpt-4o-mini")
    assert eus.secret_name == "contoso-openai-eus-api-key"
    assert eus.account.endpoint.endswith("/aoai/contoso-openai-eus/")
    assert (weu.name, weu.secret_name) == ("weu", "weu-contoso-aiservices-weu")
    assert weu.vault_url == rig.vault_url


def test_discovery_flags_select_among_configured_targets(rig: Rig) -> None:
    cfg = parse_config(config(rig), Path("keyops.toml"))
    (only,) = resolve_targets(cfg, rig.services.accounts, Selection(resource_group="rg-ai-shared"))
    assert only.name == "weu"
    tagged = resolve_targets(
        cfg, rig.services.accounts, Selection(tags=parse_tag_filters(["owner=platform"]))
    )
    assert [t.name for t in tagged] == ["eus"]
    with pytest.raises(InputError, match=r"no target in keyops\.toml matches"):
        resolve_targets(cfg, rig.services.accounts, Selection(account="nope"))


def test_discovery_without_targets_takes_openai_and_aiservices_accounts(rig: Rig) -> None:
    targets = rig.targets(Selection(tags={"env": None}))
    kinds = {t.account.kind for t in targets}
    assert kinds == {"OpenAI", "AIServices"} and len(targets) == 4
    assert [t.name for t in rig.targets(Selection(tags={"owner": "search-team"}))] == [
        "contoso-aiservices-weu"
    ]


def test_a_configured_account_that_does_not_exist_names_its_line(rig: Rig) -> None:
    extra = '\n[[targets]]\nname = "ghost"\nresource_group = "rg-ai-prod"\naccount = "ghost"\n'
    cfg = parse_config(config(rig, extra), Path("keyops.toml"))
    with pytest.raises(ConfigError, match=r"keyops.toml line 17: target 'ghost': no account"):
        resolve_targets(cfg, rig.services.accounts)


def test_tag_filters_parse() -> None:
    assert parse_tag_filters(["env=prod", "owner"]) == {"env": "prod", "owner": None}
    with pytest.raises(InputError):
        parse_tag_filters(["=x"])


def secret_event(rig: Rig, secret: str, event_id: str = "e1") -> SecretEvent:
    """A SecretNearExpiry event for ``secret`` in the rig's vault."""
    return SecretEvent(
        id=event_id,
        event_type="Microsoft.KeyVault.SecretNearExpiry",
        vault_name="kv-keyops-prod",
        secret_name=secret,
        secret_id=f"{rig.vault_url}/secrets/{secret}/v",
        version="v",
        expires=None,
    )


def test_event_targets_found_by_tag_or_by_name(rig: Rig) -> None:
    cfg = parse_config(config(rig), Path("keyops.toml"))
    vault = rig.services.vault(rig.vault_url)
    keys = rig.keys(rig.target("contoso-openai-eus"))
    vault.set_secret("contoso-openai-eus-api-key", keys.key1, tags={"ProviderAddress": EUS_ID})
    (by_tag,) = targets_for_events(
        [secret_event(rig, "contoso-openai-eus-api-key")], cfg, rig.services
    )
    assert (by_tag.name, by_tag.deployment) == ("eus", "gpt-4o-mini")  # the target's settings
    vault.set_secret("weu-contoso-aiservices-weu", keys.key1)  # no tag: matched by name
    (by_name,) = targets_for_events(
        [secret_event(rig, "weu-contoso-aiservices-weu")], cfg, rig.services
    )
    assert by_name.name == "weu"
