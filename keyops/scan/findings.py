"""What the scanner reports: one frozen :class:`Finding` per leaked key location.

A finding never holds a key. It carries the key's short fingerprint (``sha256:`` + 8 hex, the
same as :attr:`keyops.secret.SecretValue.fingerprint`) and a masked excerpt that shows at most the
first 4 characters of the key, so that no 8 consecutive characters of a key reach any output.

``Finding.fingerprint`` is the stable id a baseline stores: a hash of the kind, the path and the
key's SHA-256, so it survives line moves and history rewrites, is shared by the working-tree and
the history copy of the same leak, and reveals nothing about the key.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from keyops.secret import fingerprint_of
from keyops.severity import Severity

#: Prefix of finding fingerprints; bump it if the recipe changes (old baselines stop matching).
FINGERPRINT_VERSION = "ks1"
MASK_SHOWN_CHARS = 4


class FindingKind(str, enum.Enum):
    """What was found. The value is the rule id used in JSON and SARIF output."""

    #: The exact value of a key that is live in Azure (matched by SHA-256).
    LIVE_KEY = "live-key"
    #: An 84-character annotated Azure AI key with a valid checksum.
    ANNOTATED_KEY = "annotated-key"
    #: A 32-hex legacy key next to a key-like name.
    LEGACY_KEY = "legacy-key"
    #: A key of either format written into a source-code file.
    HARDCODED_KEY = "hardcoded-key"
    #: A ``.env`` file that git tracks or does not ignore.
    ENV_FILE = "env-file"

    @property
    def default_severity(self) -> Severity:
        """The severity findings of this kind get."""
        return _SEVERITIES[self]

    @property
    def description(self) -> str:
        """A short human description (SARIF rule description)."""
        return _DESCRIPTIONS[self]


_SEVERITIES = {
    FindingKind.LIVE_KEY: Severity.CRITICAL,
    FindingKind.ANNOTATED_KEY: Severity.HIGH,
    FindingKind.LEGACY_KEY: Severity.HIGH,
    FindingKind.HARDCODED_KEY: Severity.HIGH,
    FindingKind.ENV_FILE: Severity.MEDIUM,
}
_DESCRIPTIONS = {
    FindingKind.LIVE_KEY: "Live Azure OpenAI / AI Services key",
    FindingKind.ANNOTATED_KEY: "Azure AI annotated key (84 characters)",
    FindingKind.LEGACY_KEY: "Legacy 32-hex key next to a key-like name",
    FindingKind.HARDCODED_KEY: "Key hard-coded in source code",
    FindingKind.ENV_FILE: ".env file not ignored by git",
}


@dataclass(frozen=True)
class Finding:
    """One place where a key (or a key file) leaks.

    ``commit`` is None for the working tree, else the first commit (in topological order)
    that introduced the content at ``path``. ``line`` is 1-based; None for file-level findings.
    """

    kind: FindingKind
    path: str
    line: int | None
    commit: str | None
    severity: Severity
    excerpt: str
    key_fingerprint: str | None
    fingerprint: str
    detail: str
    #: How the key was written (``plain``, ``base64``, ``concatenated``, ...); None for files.
    form: str | None = None

    @property
    def location(self) -> str:
        """``path:line`` plus ``@commit`` (12 hex) for history findings."""
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        return text if self.commit is None else f"{text}@{self.commit[:12]}"


def mask_key(key: str) -> str:
    """The only printable form of a key: its first 4 characters, an ellipsis, its fingerprint."""
    return f"{key[:MASK_SHOWN_CHARS]}…{fingerprint_of(key)}"


def finding_fingerprint(kind: FindingKind, path: str, key_digest: str | None) -> str:
    """The stable baseline id of a finding (contains no key material beyond a hash of it)."""
    material = f"{kind.value}\0{path}\0{key_digest or ''}"
    return f"{FINGERPRINT_VERSION}:{hashlib.sha256(material.encode('utf-8')).hexdigest()[:24]}"
