"""keyops.toml: defaults and targets, durations, and configuration errors that name the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from keyops.config import (
    DEFAULT_GRACE,
    DEFAULT_PROPAGATION_TIMEOUT,
    load_config,
    parse_config,
    render_secret_name,
)
from keyops.durations import DurationError, format_duration, parse_duration
from keyops.errors import ConfigError

RID = (
    "/subscriptions/d23f0824-128b-4f33-8c5c-7fd0a6a3a450/resourceGroups/rg-ai-prod/"
    "providers/Microsoft.CognitiveServices/accounts/contoso-openai-eus"
)

GOOD = f"""
# comment
[defaults]
vault_url = "https://kv-keyops-prod.vault.azure.net/"
rotate_after = "30d"
validity = "P90D"

[[targets]]
name = "eus"
resource_id = "{RID}"
grace = "PT48H"

[[targets]]
name = "weu"
subscription = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
resource_group = "rg-ai-shared"
account = "contoso-aiservices-weu"
deployment = "gpt-4o"
secret_name = "{{resource_group}}-{{account}}-key"
vault_url = "https://kv-other.vault.azure.net"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("30d", timedelta(days=30)),
        ("1d12h", timedelta(hours=36)),
        ("2w", timedelta(days=14)),
        ("45s", timedelta(seconds=45)),
        ("P30D", timedelta(days=30)),
        ("PT24H", timedelta(hours=24)),
        ("P1DT12H", timedelta(hours=36)),
        ("PT90M", timedelta(minutes=90)),
        ("p1w", timedelta(days=7)),
        (" 24H ", timedelta(hours=24)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "P", "PT", "P1DT", "abc", "1x", "-5d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError, match="bad duration"):
        parse_duration(text)


def test_months_are_refused_with_a_hint() -> None:
    with pytest.raises(DurationError, match="write days"):
        parse_duration("P1M")


def test_format_duration_keeps_two_units() -> None:
    assert format_duration(timedelta(days=12, seconds=8)) == "12d"
    assert format_duration(timedelta(hours=23, minutes=59, seconds=57)) == "23h59m"
    assert format_duration(timedelta(0)) == "0s"


def test_defaults_and_per_target_overrides() -> None:
    config = parse_config(GOOD, Path("keyops.toml"))
    assert config.defaults.vault_url == "https://kv-keyops-prod.vault.azure.net"
    assert config.defaults.grace == DEFAULT_GRACE
    assert config.defaults.propagation_timeout == DEFAULT_PROPAGATION_TIMEOUT
    eus, weu = config.targets
    assert (eus.name, eus.resource_id, eus.line) == ("eus", RID, 8)
    assert eus.settings.grace == timedelta(hours=48)
    assert eus.settings.rotate_after == timedelta(days=30)  # inherited
    assert eus.settings.validity == timedelta(days=90)
    assert eus.settings.vault_url == "https://kv-keyops-prod.vault.azure.net"
    assert (weu.resource_group, weu.account, weu.settings.deployment) == (
        "rg-ai-shared",
        "contoso-aiservices-weu",
        "gpt-4o",
    )
    assert weu.settings.vault_url == "https://kv-other.vault.azure.net"
    assert (
        render_secret_name(
            weu.settings.secret_name, account="a", resource_group="rg", subscription="s", name="n"
        )
        == "rg-a-key"
    )


def test_empty_or_absent_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None).targets == ()
    (tmp_path / "keyops.toml").write_text(GOOD)
    assert len(load_config(None).targets) == 2  # ./keyops.toml is picked up
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            '[defaults]\nvault_url = "https://a.vault.azure.net"\nrotate_afterr = "30d"\n',
            3,
            "unknown key 'rotate_afterr'",
        ),
        ('[defaults]\ngrace = "1 day"\n', 2, "bad duration"),
        ("[defaults]\nvalidity = 90\n", 2, "duration string"),
        ('[defaults]\nvault_url = "http://kv.vault.azure.net"\n', 2, "https://"),
        ('[defaults]\nsecret_name = "{acount}-key"\n', 2, "unknown field {acount}"),
        ('[defaults]\napi_version = "latest"\n', 2, "api_version"),
        (
            '\n[[targets]]\nname = "a"\nresource_id = "/subscriptions/x/resourceGroups/rg"\n',
            4,
            "malformed account resource id",
        ),
        ('[[targets]]\nname = "a"\naccount = "x"\n', 1, "needs resource_id"),
        (f'[[targets]]\nname = "a"\nresource_id = "{RID}"\naccount = "x"\n', 3, "not both"),
        ('[[targets]]\nresource_group = "rg"\naccount = "x"\n', 1, "needs a name"),
        (
            f'[[targets]]\nname = "a"\nresource_id = "{RID}"\n\n[[targets]]\nname = "a"\n'
            f'resource_id = "{RID}"\n',
            5,
            "duplicate target name",
        ),
        (
            '[[targets]]\nname = "a"\nresource_group = "rg"\naccount = "x"\ngrace = "3x"\n',
            5,
            "bad duration",
        ),
        ('[defaults]\ngrace = "1h"\n[extra]\nx = 1\n', 3, "unknown key 'extra'"),
    ],
)
def test_configuration_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("keyops.toml"))
    assert f"keyops.toml line {line}:" in str(err.value)
    assert words in str(err.value)


def test_invalid_toml_reports_toml_position() -> None:
    with pytest.raises(ConfigError, match=r"invalid TOML.*line 2"):
        parse_config("[defaults]\ngrace = \n", Path("keyops.toml"))


def test_rendered_secret_names_must_be_valid() -> None:
    with pytest.raises(ConfigError, match="not a valid Key Vault secret name"):
        render_secret_name(
            "{account}_key", account="a", resource_group="r", subscription="s", name="n"
        )


def test_the_default_grace_outlasts_app_service_references_by_a_day() -> None:
    assert timedelta(hours=48) == DEFAULT_GRACE
    assert parse_config("", None).defaults.grace == DEFAULT_GRACE


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[defaults]\ngrace = "0s"\n', 2, "grace must be positive"),
        ('[defaults]\ngrace = "59m"\n', 2, "below 1h"),
        ('[defaults]\nallow_short_grace = "yes"\n', 2, "true or false"),
        (
            '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\ngrace = "5m"\n',
            5,
            "below",
        ),
        (
            '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\nalso_store = "x"\n',
            5,
            "must be a list",
        ),
        (
            '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\n'
            'also_store = ["https://kv.vault.azure.net/"]\n',
            5,
            "<vault url>/<secret name>",
        ),
        (
            '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\n'
            'also_store = ["http://kv.vault.azure.net/s"]\n',
            5,
            "https://",
        ),
        (
            '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\n'
            'also_store = ["https://kv.vault.azure.net/S", "https://KV.vault.azure.net/s"]\n',
            5,
            "twice",
        ),
        ('[defaults]\nalso_store = ["https://kv.vault.azure.net/s"]\n', 2, "unknown key"),
    ],
)
def test_grace_and_copies_are_checked(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("keyops.toml"))
    assert f"keyops.toml line {line}:" in str(err.value) and words in str(err.value)


def test_a_short_grace_is_accepted_when_allowed_and_copies_parse() -> None:
    config = parse_config(
        '[defaults]\ngrace = "10m"\nallow_short_grace = true\n\n'
        '[[targets]]\nname = "a"\nresource_group = "g"\naccount = "x"\n'
        'also_store = ["https://kv-dr.vault.azure.net/a-key", "https://127.0.0.1:8443/vaults/v/b"]\n',
        Path("keyops.toml"),
    )
    (spec,) = config.targets
    assert spec.settings.grace == timedelta(minutes=10)
    assert [(c.vault_url, c.secret_name) for c in spec.settings.also_store] == [
        ("https://kv-dr.vault.azure.net", "a-key"),
        ("https://127.0.0.1:8443/vaults/v", "b"),
    ]
