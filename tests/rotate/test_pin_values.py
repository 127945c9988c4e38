"""The rotation's verdicts and facts are values: shared by a fleet's worker threads and read
after the step that made them, none can be changed once made."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from keyops.exitcodes import ExitStatus
from keyops.rotate.events import SecretEvent
from keyops.rotate.freshness import FenceMark
from keyops.rotate.holders import HeldBy
from keyops.rotate.moved import ConsumerCheck, MovedVerdict, Versions
from keyops.rotate.shards import Merged
from keyops.rotate.smoke import KeyTestResult
from tests.support.evidence import HandedEvidence, evidence

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

VALUES: list[object] = [
    KeyTestResult(True, "ok", "the call succeeded", 1, 0.0),
    ConsumerCheck(HandedEvidence(evidence(NOW)), timedelta(days=8), timedelta(days=7)),
    MovedVerdict(True, (), "every reader moved"),
    Versions("v0", "v1", NOW),
    FenceMark(1.0, 2.0, lambda: None),
    Merged([], ExitStatus.OK, 1),
    SecretEvent("e", "Microsoft.KeyVault.SecretNearExpiry", "kv", "s", None, None, None),
    HeldBy("https://kv.vault.azure.net", "s", "ab" * 32),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_a_made_value_cannot_be_changed(value: object) -> None:
    first = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first, None)
