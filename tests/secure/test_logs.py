"""Redaction in logs, tracebacks and uncaught exceptions (keyops.logs)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from keyops.logs import RedactingFilter, RedactingFormatter, redact
from tests.secure.support import REPO

ANNOTATED = "Ab3" * 17 + "x" + "JQQJ99BKAC" + "Zq9" * 5 + "AAABACOGab12"
LEGACY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "text",
    [
        f"'api-key': '{LEGACY}'",
        f"Authorization: Bearer {ANNOTATED}",
        f"client_secret={LEGACY}&scope=x",
        f"https://a.blob.core.windows.net/c?sv=2024&sig={LEGACY}",
        f"something went wrong near {ANNOTATED}.",
        f"Invalid ... in header value: '{LEGACY}\\n'",
        f'{{"key1": "{LEGACY}"}}',
    ],
)
def test_secrets_are_masked(text: str) -> None:
    out = redact(text)
    assert LEGACY not in out and ANNOTATED[:20] not in out and "REDACTED" in out


def test_key_vault_version_ids_stay_readable() -> None:
    text = f"GET /secrets/eus-api-key/{LEGACY}?api-version=2026-04-01 (version {LEGACY})"
    assert redact(text) == text


def test_formatter_redacts_tracebacks_too() -> None:
    record = None
    try:
        raise ValueError(f"header value: '{LEGACY}'")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    text = RedactingFormatter("%(message)s").format(record)
    assert "failed x" in text and "ValueError" in text and LEGACY not in text


def test_filter_masks_the_message_of_other_handlers() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "key: %s", (LEGACY,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "key: REDACTED"


def test_filter_leaves_a_record_whose_message_holds_no_secret_as_it_was() -> None:
    """azure-core's --debug header log, already masked by the SDK: redacting gives an equal but
    new string, and the record keeps its own format and arguments (a handler that reads
    ``record.args`` still finds them)."""
    headers = {"api-key": "REDACTED", "x-ms-client-request-id": "f3c1"}
    record = logging.LogRecord(
        "t", logging.DEBUG, __file__, 1, "Request headers: %s", (headers,), None
    )
    assert RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("Request headers: %s", headers)


def test_uncaught_exception_in_the_cli_is_printed_redacted() -> None:
    """An exception keyops does not expect (a library's) still leaves without the key."""
    code = (
        "from keyops.logs import configure_logging; configure_logging(False); "
        f"raise RuntimeError(\"header value: '{ANNOTATED}'\")"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and "RuntimeError" in proc.stderr
    assert ANNOTATED[:12] not in proc.stderr and "REDACTED" in proc.stderr
