"""The leak scanner: Azure OpenAI / AI Services keys in files and in git history.

Pure Python over dataclasses. ``scan_paths(paths, ScanOptions(...))`` returns a
:class:`ScanReport` of :class:`Finding` objects, none of which holds a key. Modules:

- :mod:`~keyops.scan.keyformat` — the two key formats (annotated 84-char, legacy 32-hex);
- :mod:`~keyops.scan.detectors` — the rules, over one file's bytes: keys written whole
  (:mod:`~keyops.scan.rules`) and in other forms (:mod:`~keyops.scan.forms`,
  :mod:`~keyops.scan.encoded`);
  :mod:`~keyops.scan.excerpt` masks what is shown;
- :mod:`~keyops.scan.walker` / :mod:`~keyops.scan.history` / :mod:`~keyops.scan.gitcmd` — what
  to read from the working tree and from git;
- :mod:`~keyops.scan.tasks` — batches and the worker pool; :mod:`~keyops.scan.engine` — the scan;
- :mod:`~keyops.scan.baseline`, :mod:`~keyops.scan.live`, :mod:`~keyops.scan.output`,
  :mod:`~keyops.scan.sarif` — accepted findings, live-key digests, rendering.

Corpora with planted keys and key generators are evaluation tools: ``keyops_bench/scan``.
"""

from keyops.scan.engine import ScanOptions, ScanReport, ScanStats, scan_paths
from keyops.scan.findings import Finding, FindingKind

__all__ = ["Finding", "FindingKind", "ScanOptions", "ScanReport", "ScanStats", "scan_paths"]
