"""Who uses a key, as the decisions that act on it read it: the one interface between those
decisions (``rotate --revoke-previous when-moved``, its grace guard, ``keyless plan/apply``) and
the evidence ``keyops consumers`` gathers from Key Vault and Azure OpenAI logs.

The views below name only the fields the decisions read; :class:`keyops.consumers.evidence.
Evidence` satisfies them as it is, so the decisions stay plain logic testable without a server.
:class:`EvidenceReader` is where the evidence comes from (Azure Monitor Logs in a real run).
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.azure.logs import AzureLogSource
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

    def close(self) -> None:  # noqa: B027 (a reader without connections has nothing to close)
        """Close whatever connections the reader holds."""


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


@dataclass(frozen=True)
class _Others:
    readers: tuple[ReaderView, ...]
    callers: tuple[CallerView, ...]
    coverage: CoverageView


#: How long after keyops last read the secret from an IP its own key tests from there may still
#: call (a rotation tests each new key within its propagation timeout, 2 minutes by default).
OWN_KEY_TESTS = timedelta(hours=1)


def without(evidence: EvidenceView, object_id: str) -> EvidenceView:
    """The evidence without keyops' own traces: its reads of the secret (a rotation reads the
    versions it compares) and its key tests (a rotation tests each new key on the data plane):
    those are no consumer, and would otherwise always lag. A key caller at an IP keyops read
    from is keyops' own only while its last call is within :data:`OWN_KEY_TESTS` of keyops'
    last read there: one still calling after that shares the IP (a NAT gateway, the same VM)
    and is a consumer like any other."""
    own = object_id.lower()
    read: dict[str | None, datetime] = {}
    for r in evidence.readers:
        if (r.object_id or "").lower() == own:
            read[r.ip] = max(read.get(r.ip, r.last_read), r.last_read)

    def mine(c: CallerView) -> bool:
        if (c.object_id or "").lower() == own:
            return True
        last = read.get(c.ip)
        return c.auth == "key" and last is not None and c.last_seen <= last + OWN_KEY_TESTS

    return _Others(
        tuple(r for r in evidence.readers if (r.object_id or "").lower() != own),
        tuple(c for c in evidence.callers if not mine(c)),
        evidence.coverage,
    )


class LogsEvidence(EvidenceReader):
    """The evidence of a real run: ``keyops consumers``' reading of Key Vault ``AuditEvent`` and
    Azure OpenAI ``RequestResponse`` logs in Azure Monitor, one log source per subscription,
    without keyops' own traces (:func:`without`)."""

    def __init__(
        self,
        env: AzureEnvironment,
        credential: TokenCredential,
        ingestion_delay: timedelta | None = None,
    ) -> None:
        from keyops.consumers.evidence import INGESTION_DELAY

        self._env, self._credential = env, credential
        self._delay = ingestion_delay or INGESTION_DELAY
        self._sources: dict[str, AzureLogSource] = {}
        self._lock = threading.Lock()
        self._self_id: str | None = None

    def _source(self, subscription_id: str) -> AzureLogSource:
        from keyops.azure.logs import AzureLogSource

        with self._lock:
            key = subscription_id.lower()
            if key not in self._sources:
                self._sources[key] = AzureLogSource(self._env, self._credential, subscription_id)
            return self._sources[key]

    def evidence(self, target: Target, lookback: timedelta, now: datetime) -> EvidenceView:
        from keyops.azure.authorization import current_principal_id
        from keyops.consumers.evidence import gather_evidence
        from keyops.consumers.run import log_target

        source = self._source(target.account.subscription_id)
        found = gather_evidence(
            source, log_target(target, source), lookback, now, ingestion_delay=self._delay
        )
        if self._self_id is None:
            self._self_id = current_principal_id(self._credential, self._env)
        return without(found, self._self_id)

    def close(self) -> None:
        with self._lock:
            for source in self._sources.values():
                source.close()
            self._sources.clear()


def live_reader(env: AzureEnvironment, credential: TokenCredential) -> EvidenceReader:
    """The evidence reader of a real run (Azure Monitor Logs)."""
    return LogsEvidence(env, credential)
