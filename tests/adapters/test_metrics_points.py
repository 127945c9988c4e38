"""A Monitor point's total read as a count (keyops.azure.metrics): none is 0, and so is a total
no count can be, before points of one hour are added up (a NaN would spoil the hour's other
series, a negative one would lower them)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from keyops.azure.metrics import _count


@pytest.mark.parametrize(
    ("total", "count"),
    [(None, 0.0), (0, 0.0), (0.0, 0.0), (12, 12.0), (3.5, 3.5), (1e12, 1e12)],
)
def test_a_points_total_is_its_count(total: float | None, count: float) -> None:
    assert _count(SimpleNamespace(total=total)) == count


@pytest.mark.parametrize("total", [-1.0, -0.001, math.nan, math.inf, -math.inf])
def test_a_total_no_count_can_be_counts_as_none(total: float) -> None:
    assert _count(SimpleNamespace(total=total)) == 0.0
