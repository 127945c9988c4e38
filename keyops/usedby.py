"""Who uses a key, as the decisions that act on it read it: the one interface between those
decisions (``rotate --revoke-previous when-moved``, its grace guard, ``keyless plan/apply``) and
the evidence ``keyops consumers`` gathers from Key Vault and Azure OpenAI logs.

The views below name only the fields the decisions read; :class:`keyops.consumers.evidence.
Evidence` satisfies them as it is, so the decisions stay plain logic testable without a server.
:class:`EvidenceReader` is where the evidence comes from (Azure Monitor Logs in a real run).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from keyops.errors import ConfigError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment
    from keyops.targets import Target


class ReaderView(Protocol):
    """One identity at one caller IP that read a secret, and the version it read last."""

    @property
    def object_id(self) -> str | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def display(self) -> str | None: ...
    @property
    def version(self) -> str | None: ...
    @property
    def last_read(self) -> datetime: ...
    @property
    def settled(self) -> bool: ...


class CallerView(Protocol):
    """One data-plane caller: by object id with a token, by IP with a key (slot unknown)."""

    @property
    def auth(self) -> str: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def calls(self) -> int: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def settled(self) -> bool: ...


class FindingView(Protocol):
    """Why some evidence is missing, and the fix."""

    @property
    def message(self) -> str: ...
    @property
    def fix(self) -> str: ...


class CoverageView(Protocol):
    """The window the logs cover: ``end`` is held back by the ingestion delay."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def complete(self) -> bool: ...
    @property
    def findings(self) -> Sequence[FindingView]: ...


class EvidenceView(Protocol):
    """Readers of a target's secret, callers of its account, and how complete that is."""

    @property
    def readers(self) -> Sequence[ReaderView]: ...
    @property
    def callers(self) -> Sequence[CallerView]: ...
    @property
    def coverage(self) -> CoverageView: ...


class EvidenceReader(abc.ABC):
    """Where the evidence of who uses a target's key comes from."""

    @abc.abstractmethod
    def evidence(self, target: Target, lookback: timedelta, now: datetime) -> EvidenceView:
        """The evidence for ``target`` over ``[now - lookback, now]`` (missing logs are
        coverage findings, never exceptions)."""


def who(reader: ReaderView | CallerView) -> str:
    """A reader or caller as one short phrase: display hint or object id, and the IP."""
    name = getattr(reader, "display", None) or reader.object_id or "an unknown identity"
    if getattr(reader, "auth", None) == "key":
        name = "a key caller"
    return f"{name} at {reader.ip}" if reader.ip else name


def key_callers(evidence: EvidenceView) -> list[CallerView]:
    """The callers that authenticate with a key."""
    return [c for c in evidence.callers if c.auth == "key"]


def coverage_gap(evidence: EvidenceView) -> str | None:
    """Why the evidence does not cover the whole window (one line), or None when it does."""
    cov = evidence.coverage
    if cov.complete:
        return None
    reasons = "; ".join(f"{f.message} (fix: {f.fix})" for f in cov.findings)
    return reasons or "the logs do not cover the whole window"


def ago(moment: datetime, now: datetime) -> str:
    """``3h ago`` / ``2d ago``: when something was last seen, for one-line reasons."""
    from keyops.durations import format_duration

    return f"{format_duration(max(timedelta(0), now - moment))} ago"


def live_reader(env: AzureEnvironment, credential: TokenCredential) -> EvidenceReader:
    """The evidence reader of a real run: Key Vault and Azure OpenAI logs in Azure Monitor."""
    raise ConfigError(
        "no evidence of who uses each key in this build (keyops consumers is not installed); "
        "use --revoke-previous now --confirm-revoke"
    )
