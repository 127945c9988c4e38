"""HTTPS sessions for one-call probes: the CA bundle is loaded once per process, not per call.

requests re-reads the whole CA bundle (``verify=<path>``) for every new connection, ~100 ms on
a slow machine, which dominates a fleet of one-call probes. :func:`new_session` mounts an
adapter whose pool uses one shared :class:`ssl.SSLContext` per bundle instead. Verification is
never turned off.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from keyops.errors import ConfigError, RefusedError

if TYPE_CHECKING:
    import requests


@lru_cache(maxsize=8)
def trust_context(verify: str | bool) -> ssl.SSLContext:
    """An SSL context trusting ``verify`` (a CA bundle file or directory; True: requests'
    default bundle), loaded once per process.

    requests would otherwise re-read the whole CA bundle for every new connection (~100 ms on a
    slow machine), which dominates a fleet of one-call probes.
    """
    if verify is False:
        raise RefusedError("TLS verification cannot be turned off for a call that carries a key")
    if verify is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        verify = DEFAULT_CA_BUNDLE_PATH
    try:
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"CA bundle {verify!r} is unreadable: {exc}") from None


def new_session(verify: str | bool = True) -> requests.Session:
    """A requests session whose https connections trust ``verify`` via a shared SSL context."""
    import requests
    from requests.adapters import HTTPAdapter

    context = trust_context(verify)

    class _TrustAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
            # The context already holds the trust roots; a path here would be re-read.
            conn.ca_certs = conn.ca_cert_dir = None

    session = requests.Session()
    session.mount("https://", _TrustAdapter())
    return session
