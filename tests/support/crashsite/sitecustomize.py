"""Test-only: on this directory's path, a keyops process obeys step-boundary faults.

``KEYOPS_TEST_CRASH_AT=<boundary>`` exits with 137 at once at that boundary (``os._exit`` skips
every ``finally``: what a kill leaves behind); ``KEYOPS_TEST_STOP_AT=<boundary>`` stops the
process with SIGSTOP there, for a harness that moves the clock and resumes it with SIGCONT.
The product itself reads neither variable: only processes started with this directory on
``PYTHONPATH`` install the hook.
"""

from __future__ import annotations

import os
import signal
import threading

_CRASH = os.environ.get("KEYOPS_TEST_CRASH_AT")
_STOP = os.environ.get("KEYOPS_TEST_STOP_AT")


def _hook(name: str) -> None:
    if name == _CRASH:
        os._exit(137)
    if name == _STOP:
        # Sent to this thread: the stop takes it before it returns to Python (a signal sent to
        # the process may be taken by another thread first, and a worker runs on a step or two).
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)


if _CRASH or _STOP:
    from keyops.rotate.hooks import install_hook

    install_hook(_hook)
