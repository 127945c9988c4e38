"""Step boundaries, where a test can kill the process to prove that a rerun converges.

``KEYOPS_TEST_CRASH_AT=after-regenerate`` (say) makes the process exit at once with status 137
— as if killed — when the rotation reaches that boundary. ``os._exit`` skips every ``finally``
and ``atexit``, so nothing is cleaned up: exactly what a crash leaves behind.
"""

from __future__ import annotations

import os

CRASH_ENV = "KEYOPS_TEST_CRASH_AT"
#: Every boundary, in protocol order.
BOUNDARIES = (
    "after-read",
    "after-lease",
    "after-regenerate",
    "after-test",
    "after-store",
    "after-confirm",
    "after-revoke",
)


def boundary(name: str) -> None:
    """Mark a step boundary; exit with 137 if the crash hook names it."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)
