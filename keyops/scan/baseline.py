"""Baseline files: the findings a team has looked at and accepted, by fingerprint.

Format (JSON, sorted, stable under re-writes)::

    {"schema": "keyops.scan-baseline/v1",
     "findings": [{"fingerprint": "ks1:...", "kind": "legacy-key", "path": "tests/fixture.json"}]}

Only ``fingerprint`` is used for matching (kind and path are there for reviewers); plain
fingerprint strings are accepted in the list too. A fingerprint hashes kind, path and key, so a
baseline accepts one key at one path — in the working tree and in history alike — and nothing
else. A live key is a different kind from the same key found offline, so a baseline never hides
a key that turns out to be live.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from keyops.errors import ConfigError
from keyops.redact import redact
from keyops.scan.findings import Finding

BASELINE_SCHEMA = "keyops.scan-baseline/v1"


def load_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file accepts; ConfigError (a file's content: status 3) if it
    cannot be read or is not a baseline."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != BASELINE_SCHEMA:
        raise ConfigError(f"{path} is not a keyops scan baseline (schema {BASELINE_SCHEMA})")
    entries = document.get("findings", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'findings' must be a list")
    fingerprints: set[str] = set()
    for entry in entries:
        value = entry.get("fingerprint") if isinstance(entry, dict) else entry
        if not isinstance(value, str):
            raise ConfigError(f"{path}: every finding needs a 'fingerprint' string")
        fingerprints.add(value)
    return frozenset(fingerprints)


def write_baseline(path: Path, findings: Iterable[Finding], keep: frozenset[str]) -> int:
    """Write a baseline accepting ``findings`` plus the fingerprints in ``keep``.

    Returns the number of entries. The file is replaced atomically.
    """
    entries: dict[str, dict[str, str]] = {fp: {"fingerprint": fp} for fp in keep}
    for finding in findings:
        entries[finding.fingerprint] = {
            "fingerprint": finding.fingerprint,
            "kind": finding.kind.value,
            "path": finding.path,
        }
    document = {"schema": BASELINE_SCHEMA, "findings": [entries[fp] for fp in sorted(entries)]}
    text = redact(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    directory = path.resolve().parent
    handle, temp = tempfile.mkstemp(prefix=".keyops-baseline-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return len(entries)
