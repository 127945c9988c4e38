"""Which target a Key Vault event rotates (keyops.rotate.events.targets_for_events), on the
emulator: the ProviderAddress tag names the account (configured or not), a malformed tag is no
hint, several events for one account make one target, and what cannot be found is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyops.config import Config, parse_config
from keyops.errors import NotFoundError
from keyops.rotate.events import targets_for_events
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig
from tests.rotate.test_targets_emulator import EUS_ID, config, secret_event

WEU_ID = EUS_ID.replace("rg-ai-prod", "rg-ai-shared").replace(
    "contoso-openai-eus", "contoso-aiservices-weu"
)


def _config(rig: Rig) -> Config:
    return parse_config(config(rig), Path("keyops.toml"))


def test_a_tag_naming_an_account_no_target_names_by_id_makes_a_default_target(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("shared-app-key", SecretValue("k" * 84), tags={"ProviderAddress": WEU_ID})
    (target,) = targets_for_events(
        [secret_event(rig, "shared-app-key")], _config(rig), rig.services
    )
    assert (target.name, target.resource_id, target.secret_name) == (
        "contoso-aiservices-weu",
        WEU_ID,
        "shared-app-key",
    )
    assert (target.deployment, target.vault_url, target.line) == (None, rig.vault_url, None)


def test_a_malformed_tag_is_no_hint_and_the_name_decides(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret(
        "weu-contoso-aiservices-weu", SecretValue("k" * 84), tags={"ProviderAddress": "not-an-id"}
    )
    (target,) = targets_for_events(
        [secret_event(rig, "weu-contoso-aiservices-weu")],
        _config(rig),
        rig.services,
    )
    assert (target.name, target.resource_id) == ("weu", WEU_ID)


def test_two_events_for_one_account_make_one_target(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("eus-key", SecretValue("k" * 84), tags={"ProviderAddress": EUS_ID.upper()})
    events = [secret_event(rig, "eus-key", "e1"), secret_event(rig, "eus-key", "e2")]
    (target,) = targets_for_events(events=events, config=_config(rig), services=rig.services)
    assert (target.name, target.deployment) == ("eus", "gpt-4o-mini")


def test_a_secret_without_tag_or_matching_target_is_named(rig: Rig) -> None:
    rig.services.vault(rig.vault_url).set_secret("orphan-key", SecretValue("k" * 84))
    with pytest.raises(NotFoundError) as caught:
        targets_for_events([secret_event(rig, "orphan-key")], _config(rig), rig.services)
    assert str(caught.value) == (
        "event e1: no account found for secret orphan-key (no ProviderAddress tag, and no "
        "target's secret_name matches)"
    )


def test_an_event_for_a_secret_the_vault_lacks_is_named(rig: Rig) -> None:
    with pytest.raises(NotFoundError) as caught:
        targets_for_events([secret_event(rig, "never-stored")], _config(rig), rig.services)
    assert str(caught.value) == ("event e1: secret never-stored not found in vault kv-keyops-prod")


@pytest.mark.parametrize("eus_first", [True, False])
def test_events_for_two_accounts_make_a_target_each_in_either_order(
    rig: Rig, eus_first: bool
) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("eus-key", SecretValue("k" * 84), tags={"ProviderAddress": EUS_ID})
    vault.set_secret("weu-contoso-aiservices-weu", SecretValue("k" * 84))  # matched by name
    events = [secret_event(rig, "eus-key", "e1"), secret_event(rig, "weu-contoso-aiservices-weu")]
    found = targets_for_events(events if eus_first else events[::-1], _config(rig), rig.services)
    names = ["eus", "weu"] if eus_first else ["weu", "eus"]
    assert [t.name for t in found] == names


def test_the_tag_picks_the_target_with_that_id_not_the_first_listed(rig: Rig) -> None:
    # weu's id sorts after eus's (rg-ai-shared > rg-ai-prod) and is listed first: only the
    # target whose id equals the tag's is the event's.
    text = f"""
[defaults]
vault_url = "{rig.vault_url}"

[[targets]]
name = "weu"
resource_id = "{WEU_ID}"

[[targets]]
name = "eus"
resource_id = "{EUS_ID}"
deployment = "gpt-4o-mini"
"""
    assert WEU_ID.lower() > EUS_ID.lower()
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("eus-key", SecretValue("k" * 84), tags={"ProviderAddress": EUS_ID})
    (target,) = targets_for_events(
        [secret_event(rig, "eus-key")], parse_config(text, Path("keyops.toml")), rig.services
    )
    assert (target.name, target.resource_id, target.deployment) == ("eus", EUS_ID, "gpt-4o-mini")
