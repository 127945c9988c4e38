"""An oracle independent of keyops' detector: Microsoft's published pattern for common annotated
security keys (microsoft-security-utilities-secret-masker, SEC101/200
CommonAnnotatedSecurityKey). It must agree with ``keyops scan`` on every planted valid
84-character key; on look-alikes with a bad checksum keyops stays silent whatever the oracle
says (the oracle is a regular expression and does not check the checksum)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from microsoft_security_utilities_secret_masker import (
    SecretMasker,
    load_regex_patterns_from_json_file,
)

from keyops.scan import ScanOptions, scan_paths
from keyops.scan.detectors import scan_bytes
from keyops.scan.keyformat import SERVICES
from keyops.secret import fingerprint_of
from keyops_bench.scan.forms_corpus import generate_forms
from keyops_bench.scan.keys import make_annotated_key

CASK = "SEC101/200"
#: The masker's lock calls threading's notifyAll(), deprecated in Python 3.10.
pytestmark = pytest.mark.filterwarnings("ignore:notifyAll:DeprecationWarning")


@pytest.fixture(scope="module")
def oracle() -> SecretMasker:
    return SecretMasker(load_regex_patterns_from_json_file("PreciselyClassifiedSecurityKeys.json"))


def _oracle_keys(oracle: SecretMasker, text: str) -> set[str]:
    return {text[d.start : d.end] for d in oracle.detect_secrets(text) if d.id == CASK}


def _keys(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    services = sorted(SERVICES)
    return [
        make_annotated_key(
            rng,
            service_index=services[i % len(services)],
            year=2024 + i % 8,
            month=1 + i % 12,
        )
        for i in range(count)
    ]


def test_oracle_and_keyops_agree_on_every_valid_key(oracle: SecretMasker) -> None:
    for key in _keys(300, seed=1):
        text = f'AZURE_OPENAI_API_KEY = "{key}"\n'
        assert _oracle_keys(oracle, text) == {key}
        assert [h.key_fingerprint for h in scan_bytes(text.encode())] == [fingerprint_of(key)]


def test_keyops_is_silent_on_bad_checksums_whatever_the_oracle_says(oracle: SecretMasker) -> None:
    flagged = 0
    for index, key in enumerate(_keys(300, seed=2)):
        position = 80 + index % 4  # one checksum character changed
        bad = key[:position] + ("A" if key[position] != "A" else "B") + key[position + 1 :]
        text = f'AZURE_OPENAI_API_KEY = "{bad}"\n'
        flagged += bool(_oracle_keys(oracle, text))
        assert scan_bytes(text.encode()) == []
    assert flagged == 300  # the oracle cannot tell: that is why keyops checks the checksum


def test_every_planted_annotated_key_of_the_forms_corpus(
    oracle: SecretMasker, tmp_path: Path
) -> None:
    """Whatever form hid it, the key keyops reports is one the oracle calls a key."""
    corpus = generate_forms(tmp_path, per_form=60, per_lookalike=0, seed=3)
    report = scan_paths([tmp_path], ScanOptions(executor="serial"))
    reported = {
        (str(Path(f.path).relative_to(tmp_path)), f.key_fingerprint) for f in report.findings
    }
    annotated = [p for p in corpus.planted if len(p.key) == 84]
    assert len(annotated) >= 150
    for plant in annotated:
        assert _oracle_keys(oracle, f" {plant.key.reveal()} ") == {plant.key.reveal()}
        assert (plant.path, plant.key.fingerprint) in reported, plant.path
