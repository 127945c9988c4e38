"""A check run right before a write's bytes leave this machine, on every attempt azure-core makes.

Key Vault and ARM have no conditional write for what a rotation writes (a secret version, a
regenerated key), so keyops checks its preconditions just before each write. The check's answer
ages: a paused VM, a long garbage collection, or azure-core sleeping before a retry can hold the
request after the check while the world moves on. :func:`guarded` installs a check for the calls
made inside it; every keyops SDK client runs it on each attempt (azure-core's retries too), in
its transport, after every wait azure-core and keyops' pacing make and immediately before the
request is handed to the socket. A check that raises stops the attempt unsent (azure-core does
not retry a non-Azure error).

What remains is the time between this check and the bytes reaching Azure (the transport, the
network): no client-side check can close it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

_ATTRIBUTE = "_keyops_write_check"
_check: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "keyops_write_check", default=None
)
#: Seconds the guarded calls of this block spent in keyops' own pacing (its client-side share
#: of Azure's request budget): a wait keyops chose, not a stall (see :func:`paced`).
_paced: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "keyops_write_paced", default=None
)


@contextlib.contextmanager
def guarded(check: Callable[[], None]) -> Iterator[None]:
    """Run ``check`` before every attempt of every SDK request made in this block (this thread)."""
    token = _check.set(check)
    waited = _paced.set([0.0])
    try:
        yield
    finally:
        _paced.reset(waited)
        _check.reset(token)


def note_pacing(seconds: float) -> None:
    """Record a wait keyops' own pacing made before a request of a guarded block."""
    box = _paced.get()
    if box is not None and seconds > 0:
        box[0] += seconds


def paced() -> float:
    """Seconds the current guarded block has waited in keyops' own pacing (0 outside one)."""
    box = _paced.get()
    return box[0] if box is not None else 0.0


def write_guard_policy() -> Any:
    """The azure-core per-retry policy that hands the installed check to each attempt.

    The check itself runs in keyops' transport (:func:`check_before_send`), the last step before
    the socket: after the authentication, logging and tracing policies too.
    """
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class _WriteGuardPolicy(SansIOHTTPPolicy[Any, Any]):
        def on_request(self, request: Any) -> None:
            check = _check.get()
            if check is not None:
                # On this request only: a token request made on its way is not the write.
                setattr(request.http_request, _ATTRIBUTE, check)

    return _WriteGuardPolicy()


def check_before_send(http_request: Any) -> None:
    """Run the check a request carries, if any (raises to keep it unsent)."""
    check = getattr(http_request, _ATTRIBUTE, None)
    if check is not None:
        check()
