"""Where the tests find Azure's API specs: one setting, a copy in the repository by default.

``tests/data/azure-specs`` is a verbatim snapshot of the files the wire tests read (OpenAPI specs
and examples from Azure/azure-rest-api-specs, MIT License; role definitions from Microsoft
Learn, CC BY 4.0 — ``SOURCES.md`` there names each file's origin and commit), so the tests run
on any clone. ``KEYOPS_AZURE_SPECS`` points them at another snapshot (e.g. a newer one). A
missing snapshot is an error under CI (``CI`` set): the wire tests never skip silently there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPECS = Path(os.environ.get("KEYOPS_AZURE_SPECS") or REPO / "tests" / "data" / "azure-specs")


def in_ci() -> bool:
    """Whether the suite runs under CI (GitHub Actions, Azure Pipelines and ours set ``CI``)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def needs(path: Path) -> pytest.MarkDecorator:
    """Skip (with the path named) when ``path`` is missing; under CI the check fails instead."""
    if not path.exists() and in_ci():
        raise pytest.UsageError(
            f"azure-specs snapshot missing under CI: {path} (KEYOPS_AZURE_SPECS)"
        )
    return pytest.mark.skipif(not path.exists(), reason=f"azure-specs snapshot missing: {path}")
