"""Every exit status keyops uses, in one place (documented in the README)."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Process exit statuses shared by all commands."""

    OK = 0
    #: Some targets failed, or findings at or above ``--fail-on``; or an internal error.
    FAILED = 1
    #: Bad command-line usage (click's own status).
    USAGE = 2
    #: Bad configuration file, environment or world file, or a key whose text is not a key's.
    CONFIG = 3
    #: Authentication or authorization refused by Azure.
    AUTH = 4
    #: Azure unreachable, or a service error.
    SERVICE = 5
    #: Refused by a safety guard; nothing was done.
    REFUSED = 6
    #: keyops could not run the child command (``keyops run``).
    CHILD_NOT_RUN = 125
    #: The child command could not be executed.
    CHILD_NOT_EXECUTABLE = 126
    #: The child command was not found.
    CHILD_NOT_FOUND = 127
    #: Interrupted by the user (Ctrl-C).
    INTERRUPTED = 130
    #: stdout's reader went away (``keyops audit | head -1``): quiet, as for SIGPIPE.
    BROKEN_PIPE = 141
