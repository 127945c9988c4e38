"""The evidence of who uses a key, for one target over one window (the interface issue 17 uses).

:func:`gather_evidence` reads the target's diagnostic settings, its workspace and two logs —
Key Vault ``AuditEvent`` (who read the secret, which version, from where) and Azure OpenAI
``RequestResponse`` (who called the data plane, by token or by key) — through a
:class:`~keyops.consumers.source.LogSource`, and says how complete that evidence is.

Log coverage: Key Vault logs arrive up to ~10 minutes late, so the window's end is held back by
the ingestion delay (:attr:`Coverage.end`); records later than that are still listed, marked
``settled=False`` (more of them may yet arrive). Where there is no evidence the coverage says why,
as findings with the fix (:mod:`keyops.consumers.coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from keyops.consumers.source import LogSource

#: How late Key Vault (and Azure OpenAI) records may arrive in Log Analytics.
INGESTION_DELAY = timedelta(minutes=10)
QUERY_MARGIN = timedelta(minutes=1)

Auth = Literal["token", "key"]


@dataclass(frozen=True)
class VaultReader:
    """One identity (at one caller IP) that read the target's secret."""

    object_id: str | None
    app_id: str | None
    ip: str | None
    #: A display hint where the logs carry one (the caller's UPN).
    display: str | None
    #: The secret version it read last (from the returned object's id).
    version: str | None
    last_read: datetime
    reads: int = 1
    #: Reads Key Vault refused (403/401) in the window.
    denied: int = 0
    #: False when its last read is later than the coverage end (inside the ingestion delay).
    settled: bool = True
    #: The identity keyops itself runs as (its own reads are not a consumer's).
    keyops: bool = False


@dataclass(frozen=True)
class DataCaller:
    """One caller of the account's data plane: a token caller by object id, a key caller by IP
    (the logs never say which key slot was used)."""

    auth: Auth
    object_id: str | None
    ip: str | None
    calls: int
    first_seen: datetime
    last_seen: datetime
    #: Calls refused with 401/403 (a key caller still holding a revoked key shows up here).
    rejected: int = 0
    settled: bool = True
    #: keyops itself: a token caller with keyops's own object id, or a key caller at an IP
    #: keyops's own identity read the vault from (its key tests; the logs name no key caller).
    keyops: bool = False


Source = Literal["vault", "account"]


@dataclass(frozen=True)
class CoverageFinding:
    """Why some evidence is missing, and the fix."""

    source: Source
    code: str  # category-not-enabled | no-workspace | retention-short | workspace-forbidden | ...
    message: str
    fix: str


@dataclass(frozen=True)
class Coverage:
    """What the evidence covers: ``[start, end]``, ``end`` held back by the ingestion delay."""

    start: datetime
    end: datetime
    complete: bool
    findings: tuple[CoverageFinding, ...]
    ingestion_delay: timedelta = INGESTION_DELAY
    #: Which log each source was read from ("AZKVAuditLogs", "AzureDiagnostics"), if any.
    tables: tuple[tuple[Source, str], ...] = ()


@dataclass(frozen=True)
class Evidence:
    """Readers of the secret, callers of the account, and how complete that is."""

    readers: tuple[VaultReader, ...]
    callers: tuple[DataCaller, ...]
    coverage: Coverage
    #: Secret reads Key Vault refused before any identity was presented: every Key Vault SDK
    #: client's first request is an unauthenticated 401 challenge, which Key Vault logs. Not
    #: consumers, so not in :attr:`readers`.
    unauthenticated: int = 0

    @property
    def key_callers(self) -> tuple[DataCaller, ...]:
        """Callers that authenticate with a key (slot unknown)."""
        return tuple(c for c in self.callers if c.auth == "key")

    @property
    def consumers(self) -> tuple[tuple[VaultReader, ...], tuple[DataCaller, ...]]:
        """The readers that got the secret and the callers the data plane served, keyops's own
        identity left out: who would break if the key went away."""
        readers = tuple(r for r in self.readers if r.reads > 0 and not r.keyops)
        callers = tuple(c for c in self.callers if c.calls > c.rejected and not c.keyops)
        return readers, callers


@dataclass(frozen=True)
class LogTarget:
    """What evidence is gathered for: an account and, if it has one, its vault secret."""

    name: str
    account_id: str
    vault_id: str | None = None
    secret_name: str | None = None
    #: Why the vault's ARM id could not be found (its reads are then unknown).
    vault_error: str | None = None


def gather_evidence(
    source: LogSource,
    target: LogTarget,
    window: timedelta,
    now: datetime,
    *,
    ingestion_delay: timedelta = INGESTION_DELAY,
    resource_centric: bool = False,
) -> Evidence:
    """Evidence for ``target`` over ``[now - window, now]``; coverage ends at
    ``now - ingestion_delay``. Missing logs are findings, never exceptions. Pass ``now`` from
    :meth:`~keyops.consumers.source.LogSource.service_now` (Azure's clock, not this machine's)."""
    from keyops.consumers.coverage import read_log
    from keyops.consumers.queries import (
        callers_from_rows,
        readers_from_rows,
        unauthenticated_reads,
    )

    start, end = now - window, now - ingestion_delay
    # The query reaches a little past now: ``now`` comes from a Date header (whole seconds) and
    # no record is stamped in the future, so the margin loses nothing and drops no fresh record.
    upto = now + QUERY_MARGIN
    findings: list[CoverageFinding] = []
    tables: list[tuple[Source, str]] = []
    readers: tuple[VaultReader, ...] = ()
    unauthenticated = 0
    own = source.own_identity()
    if target.vault_id is not None and target.secret_name is not None:
        got = read_log(source, "vault", target, start, upto, window, resource_centric)
        findings.extend(got.findings)
        if got.table is not None:
            tables.append(("vault", got.table))
            readers = readers_from_rows(got.rows, got.table, target.secret_name, end, own)
            unauthenticated = unauthenticated_reads(got.rows, target.secret_name)
    elif target.vault_error is not None:
        findings.append(
            CoverageFinding(
                "vault",
                "vault-not-found",
                f"{target.name}: its vault was not found ({target.vault_error}), so its secret's "
                "readers are unknown",
                "check vault_url, and grant the identity Reader on the vault's subscription",
            )
        )
    else:
        findings.append(
            CoverageFinding(
                "vault",
                "no-vault",
                f"{target.name}: no vault secret configured, so no Key Vault reads to show",
                "set vault_url (and the secret name) for the target",
            )
        )
    got = read_log(source, "account", target, start, upto, window, resource_centric)
    findings.extend(got.findings)
    callers: tuple[DataCaller, ...] = ()
    if got.table is not None:
        tables.append(("account", got.table))
        callers = _label_own_key_tests(callers_from_rows(got.rows, end, own), readers)
    coverage = Coverage(start, end, not findings, tuple(findings), ingestion_delay, tuple(tables))
    return Evidence(readers, callers, coverage, unauthenticated)


def _label_own_key_tests(
    callers: tuple[DataCaller, ...], readers: tuple[VaultReader, ...]
) -> tuple[DataCaller, ...]:
    # keyops tests keys with a data-plane call that the logs record only by IP; its own vault
    # reads (identified by object id) show which IP that is.
    mine = {r.ip for r in readers if r.keyops and r.ip}
    return tuple(
        replace(c, keyops=True) if c.auth == "key" and c.ip in mine else c for c in callers
    )
