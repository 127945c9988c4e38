"""Every HTTPS session keyops uses: trust and proxies read like the Azure SDKs, loaded once.

Trust: the CA bundle named by ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else
``SSL_CERT_FILE`` (the first one set wins, as requests and azure-core read them), else certifi's;
in emulator mode the emulator's bundle is trusted too. Proxies: ``HTTPS_PROXY``/``HTTP_PROXY``
and ``NO_PROXY`` (either case). Both are read when a session is built, and the SSL context for a
set of bundles is built once per process: requests would otherwise re-read the whole bundle for
every new connection (~100 ms on a slow machine), which dominates a fleet of one-call probes.

The one context serves direct connections *and* connections tunnelled through a proxy (requests'
proxy-manager path builds its pools apart from the direct pool manager). Verification is never
turned off: a False ``verify`` anywhere is refused.
"""

from __future__ import annotations

import collections
import ipaddress
import os
import queue
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keyops.errors import ConfigError, RefusedError

if TYPE_CHECKING:
    import requests
    import requests.adapters
    from azure.core.pipeline.transport import RequestsTransport

#: Where a CA bundle may be named, in the order requests and azure-core (then OpenSSL) read them.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")

#: Connections kept per host (requests' default); a fleet run may ask for more.
DEFAULT_POOL_SIZE = 10


@dataclass(frozen=True)
class NetworkSettings:
    """Trust and proxy settings for the sessions of one process.

    ``ca_bundle`` is the bundle the environment names (None: certifi's); ``proxies`` maps a URL
    scheme (``https``, ``http``, ``all``) to a proxy URL; ``no_proxy`` is the bypass list as
    written in ``NO_PROXY``.
    """

    ca_bundle: str | None = None
    proxies: tuple[tuple[str, str], ...] = ()
    no_proxy: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> NetworkSettings:
        """The settings ``environ`` (default: this process's environment) describes."""
        env = os.environ if environ is None else environ
        bundle = next((env[name] for name in CA_BUNDLE_VARIABLES if env.get(name)), None)
        found = _proxy_variables(env)
        no_proxy = found.pop("no", "")
        return cls(bundle, tuple(sorted(found.items())), no_proxy)

    def proxy_for(self, url: str) -> str | None:
        """The proxy a request to ``url`` goes through, or None (none set, or ``NO_PROXY``)."""
        parts = urlsplit(url)
        proxies = dict(self.proxies)
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if not proxy or _bypassed(parts.hostname or "", parts.port, self.no_proxy):
            return None
        return proxy


def _proxy_variables(env: Mapping[str, str]) -> dict[str, str]:
    """``<scheme>_proxy`` variables as urllib reads them (lower case wins over upper case)."""
    found: dict[str, str] = {}
    for name, value in env.items():
        low = name.lower()
        if value and low.endswith("_proxy") and (name == low or low not in env):
            found[low[: -len("_proxy")]] = value
    return found


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``, matched as curl and requests do.

    ``*`` exempts every host; a name exempts itself and its subdomains (a leading dot is
    optional); an entry with a port exempts only that port; an IP range (CIDR) its addresses.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    host = host.lower()
    for raw in no_proxy.lower().split(","):
        entry = raw.strip().lstrip(".")
        if entry == "*":
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and str(port) != entry_port:
            continue
        if name and (host == name.strip("[]") or host.endswith("." + name)):
            return True
    return False


def trust_paths(verify: str | bool, settings: NetworkSettings) -> tuple[str, ...]:
    """The CA bundles a session trusts: ``verify``'s (when a path) and the environment's.

    ``verify`` is ``AzureEnvironment.verify``: the emulator's bundle, or True for a real cloud,
    where the environment's bundle replaces certifi's, as requests does.
    """
    if verify is False:
        raise RefusedError("TLS verification cannot be turned off for a call that carries a key")
    paths = [verify] if isinstance(verify, str) else []
    if settings.ca_bundle and settings.ca_bundle not in paths:
        paths.append(settings.ca_bundle)
    if not paths:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        paths.append(DEFAULT_CA_BUNDLE_PATH)
    return tuple(paths)


@lru_cache(maxsize=8)
def trust_context(paths: tuple[str, ...]) -> ssl.SSLContext:
    """An SSL context trusting every CA bundle (file or directory) in ``paths``, built once."""
    # Only these roots: as with requests, a named bundle replaces the defaults, not adds to them.
    context: ssl.SSLContext | None = None
    for path in paths:
        cafile, capath = (None, path) if os.path.isdir(path) else (path, None)
        try:
            if context is None:
                context = ssl.create_default_context(cafile=cafile, capath=capath)
            else:
                context.load_verify_locations(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            names = ", ".join(CA_BUNDLE_VARIABLES)
            raise ConfigError(f"CA bundle {path!r} is unreadable: {exc} (check {names})") from None
    if context is None:
        raise ConfigError("no CA bundle to trust")
    return context


def new_session(
    verify: str | bool = True,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    settings: NetworkSettings | None = None,
) -> requests.Session:
    """A requests session trusting ``verify`` plus the environment's bundle, through its proxy.

    ``settings`` defaults to the environment as it is now; ``pool_size`` is the number of
    connections kept per host.
    """
    network = NetworkSettings.from_environ() if settings is None else settings
    context = trust_context(trust_paths(verify, network))
    session = _session(network)
    adapter = _adapter(context, pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _adapter(context: ssl.SSLContext, pool_size: int) -> requests.adapters.HTTPAdapter:
    """An adapter whose every pool, direct or tunnelled through a proxy, uses ``context``."""
    from requests.adapters import HTTPAdapter

    class _TrustAdapter(HTTPAdapter):
        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> Any:
            if verify is False:
                raise RefusedError("TLS verification cannot be turned off")
            # The context already holds the trust roots; a path here would be re-read per
            # connection. Pools made by the proxy manager get the same context through here.
            host, pool = super().build_connection_pool_key_attributes(request, True, cert)
            pool["ssl_context"] = context
            return host, pool

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            if verify is False:
                raise RefusedError("TLS verification cannot be turned off")
            super().cert_verify(conn, url, True, cert)  # type: ignore[no-untyped-call]
            # The context holds the trust roots; a path here would be loaded into it again for
            # every new connection (certifi's, by default, widening what is trusted).
            conn.ca_certs = conn.ca_cert_dir = None

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            _rotate_connections(self.poolmanager)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            proxy_kwargs.setdefault("proxy_ssl_context", context)
            return _rotate_connections(super().proxy_manager_for(proxy, **proxy_kwargs))

    return _TrustAdapter(pool_connections=pool_size, pool_maxsize=pool_size)


def _rotate_connections(manager: Any) -> Any:
    """Make ``manager``'s per-host pools hand out their idle connections in turn.

    urllib3's pools are LIFO: the connection put back last goes out next, so after a burst
    (every worker in the same step at once) the connections at the bottom sit idle until the
    server's keep-alive timeout closes them, and the next burst pays a new TLS handshake for
    each. Served oldest-idle first, every connection a fleet run opened carries traffic every
    few seconds and stays open: a host sees at most the pool size in connections per run.
    """
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Http(HTTPConnectionPool):
        QueueCls = _RotatingQueue

    class _Https(HTTPSConnectionPool):
        QueueCls = _RotatingQueue

    manager.pool_classes_by_scheme = {"http": _Http, "https": _Https}
    return manager


class _RotatingQueue(queue.LifoQueue[Any]):
    """A pool's queue: open connections oldest-idle first, then free slots (``None``).

    (A LifoQueue by type only, which is what urllib3 declares; every queue method is ours.)

    A plain FIFO would hand out the free slots before any open connection and so open the
    whole pool even for one worker; here a slot is used only when no open connection is idle.
    """

    def _init(self, maxsize: int) -> None:
        self._idle: collections.deque[Any] = collections.deque()
        self._slots = 0

    def _qsize(self) -> int:
        return len(self._idle) + self._slots

    def _put(self, item: Any) -> None:
        if item is None:
            self._slots += 1
        else:
            self._idle.append(item)

    def _get(self) -> Any:
        if self._idle:
            return self._idle.popleft()
        self._slots -= 1
        return None


def _session(network: NetworkSettings) -> requests.Session:
    """A session taking its proxies from ``network``, never from the environment per request."""
    import requests

    class _Session(requests.Session):
        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            # trust_env is off, so requests only merges the session's own settings here.
            chosen = dict(proxies or {})
            proxy = network.proxy_for(url)
            if proxy and not chosen:
                chosen[urlsplit(url).scheme] = proxy
            return super().merge_environment_settings(url, chosen, stream, verify, cert)

    session = _Session()
    session.trust_env = False
    return session


def sdk_transport(
    verify: str | bool,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    session: requests.Session | None = None,
) -> RequestsTransport:
    """An azure-core transport over :func:`new_session`, for every SDK client and credential.

    ``session``: one made by :func:`new_session` and shared by several clients (a fleet run's),
    which its owner closes, not the transport.
    """
    from azure.core.pipeline.transport import RequestsTransport

    from keyops.azure.writeguard import check_before_send

    shared = session is not None

    class _Transport(RequestsTransport):  # type: ignore[misc]  # azure-core is untyped here
        def send(self, request: Any, **kwargs: Any) -> Any:
            check_before_send(request)  # a guarded write's precondition, at the last moment
            return super().send(request, **kwargs)

        def close(self) -> None:
            # Not the base close, which drops the session and later opens a plain one.
            if self.session is not None and not shared:
                self.session.close()

    own = session if session is not None else new_session(verify, pool_size=pool_size)
    return _Transport(session=own, session_owner=False)
