"""keyops.logs set-up: levels per --debug, one keyops handler, others' handlers left alone."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from keyops.logs import RedactingFilter, configure_logging

NAMES = ("", "azure", "azure.identity")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the next test."""
    loggers = [logging.getLogger(name or None) for name in NAMES]
    levels = [lg.level for lg in loggers]
    handlers = list(logging.getLogger().handlers)
    hook = sys.excepthook
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)
    logging.getLogger().handlers[:] = handlers
    sys.excepthook = hook


def _levels() -> list[int]:
    return [logging.getLogger(name or None).level for name in NAMES]


def test_without_debug_keyops_warns_and_azure_identity_only_errs() -> None:
    configure_logging(debug=False)
    assert _levels() == [logging.WARNING, logging.WARNING, logging.ERROR]


def test_with_debug_every_logger_is_at_debug() -> None:
    configure_logging(debug=True)
    assert _levels() == [logging.DEBUG, logging.DEBUG, logging.DEBUG]


def _keyops_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_keyops", False)]


def test_configuring_twice_leaves_one_keyops_handler_and_keeps_foreign_ones() -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    configure_logging(debug=False)
    first = _keyops_handlers()
    configure_logging(debug=True)
    second = _keyops_handlers()
    assert len(first) == 1 and len(second) == 1 and first[0] is not second[0]
    assert foreign in logging.getLogger().handlers


def test_filter_leaves_a_record_without_a_secret_untouched() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%d accounts", (3,), None)
    assert RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("%d accounts", (3,))


def test_filter_masks_a_key_that_sorts_after_its_mask() -> None:
    """A key starting with a lower-case letter sorts after "REDACTED": the filter compares for
    a change, not an order."""
    key = "fedcba9876543210fedcba9876543210"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "key: %s", (key,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "key: REDACTED"


KEY = "0123456789abcdef0123456789abcdef"  # an account key, after its header name below


def test_a_handler_added_after_keyops_gets_the_message_masked() -> None:
    """A CI's or a library user's own handler, added after keyops' (which masks the record in
    place): it formats the record itself, and finds no key in it."""
    configure_logging(False)
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logging.getLogger().addHandler(Collect())
    logging.getLogger("keyops.test").warning("a header held api-key: %s", KEY)
    assert len(seen) == 1 and KEY not in seen[0]


def test_an_uncaught_exception_is_printed_masked() -> None:
    """The traceback of an error nobody caught (the process's last words) passes the redactor."""
    import subprocess

    code = (
        "from keyops.logs import configure_logging\n"
        "configure_logging(False)\n"
        f"raise RuntimeError('the server echoed api-key: {KEY}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "RuntimeError: the server echoed" in done.stderr and "Traceback" in done.stderr
    assert KEY not in done.stderr
