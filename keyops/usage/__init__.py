"""Usage anomaly detection over Azure Monitor metrics (``keyops usage``).

Plain Python over frozen dataclasses: the metrics adapter builds :class:`UsageSeries`, Key Vault
secret versions give :class:`Rotation` records, the audit gives a :class:`KeyUsagePolicy`;
:func:`detect` returns :class:`Finding` records and ``keyops.usage.render`` /
``keyops.usage.html`` turn an :class:`UsageReport` into a table, JSON or a self-contained page.
Nothing here imports an Azure SDK or rich at import time.
"""

from __future__ import annotations

from keyops.usage.detect import UsageReport, analyze, detect
from keyops.usage.model import (
    FINDING_KINDS,
    Finding,
    KeyUsagePolicy,
    Rotation,
    UsageSeries,
    fails,
    worst_severity,
)
from keyops.usage.sensitivity import PRESETS, Sensitivity

__all__ = [
    "FINDING_KINDS",
    "PRESETS",
    "Finding",
    "KeyUsagePolicy",
    "Rotation",
    "Sensitivity",
    "UsageReport",
    "UsageSeries",
    "analyze",
    "detect",
    "fails",
    "worst_severity",
]
