"""Who holds a lease: what a rival run, or an operator deciding on ``--break-lease``, reads."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime, timezone

#: When this process started (UTC): with the host and pid, tells a crashed run from a live one.
_STARTED = datetime.now(timezone.utc)


def default_holder() -> str:
    """``user@host pid N started T`` and the CI run, if any (at most 250 characters)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    run = os.environ.get("GITHUB_RUN_ID") or os.environ.get("BUILD_BUILDID")
    suffix = f" run {run}" if run else ""
    started = _STARTED.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{user}@{socket.gethostname()} pid {os.getpid()} started {started}{suffix}"[:250]
