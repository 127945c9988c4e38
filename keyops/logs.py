"""Logging set-up: diagnostics on stderr, never a key, never an HTTP body.

azure-core's HTTP logging policy logs headers and URLs at DEBUG (with its own redaction of
``Authorization`` and ``api-key``); body logging (``logging_enable``) is never turned on by keyops.
A final filter masks anything that still looks like a bearer token or an ``api-key`` header.
"""

from __future__ import annotations

import logging
import re

_REDACT = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+|api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+"
)


class RedactingFilter(logging.Filter):
    """Masks bearer tokens and api-key header values that reach a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _REDACT.sub(r"\1REDACTED", message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def configure_logging(debug: bool) -> None:
    """Send keyops (and, with ``--debug``, Azure SDK) logs to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("keyops: %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_keyops", False):
            root.removeHandler(old)
    handler._keyops = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    # azure-core logs every request at INFO; keep that for --debug only.
    logging.getLogger("azure").setLevel(logging.DEBUG if debug else logging.WARNING)
