"""Logging set-up: diagnostics on stderr, never a key, never an HTTP body.

Keys live in :class:`~keyops.secret.SecretValue`, so keyops' own messages cannot carry one; this
module is the second line, for text keyops does not write itself. azure-core's HTTP logging
policy logs headers and URLs at DEBUG (with its own redaction of ``Authorization`` and
``api-key``); body logging (``logging_enable``) is never turned on by keyops. Every formatted
record — message, traceback and stack included — and every uncaught exception's traceback pass
through :func:`keyops.redact.redact` (the one redactor: known key values and anything shaped
like a secret).

A library that puts a key into its own exception text (``requests`` does, for a header value
with a stray newline) is therefore masked on the way out rather than printed.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from keyops.redact import redact


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message (for handlers keyops does not format itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output — message, traceback, stack — is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _print_redacted(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(redact(text))
    sys.stderr.flush()


def install_excepthook() -> None:
    """Print uncaught exceptions through :func:`redact` (worker threads' errors are collected
    by their futures and reported as keyops errors, so the main thread's hook is enough)."""
    sys.excepthook = _print_redacted


def configure_logging(debug: bool) -> None:
    """Send keyops (and, with ``--debug``, Azure SDK) logs to stderr, redacted; for every
    command, so that without ``--debug`` a failure is one line on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("keyops: %(levelname)s %(name)s: %(message)s"))
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
    # azure-identity logs each failed member of a credential chain at WARNING, then raises; the
    # error keyops reports already names the failure in its one line on stderr.
    logging.getLogger("azure.identity").setLevel(logging.DEBUG if debug else logging.ERROR)
    install_excepthook()
