"""The emulator object that handlers reach through ``request.app.state.emulator``."""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request

from keyops.emulator.core.clock import Clock
from keyops.emulator.core.connections import Connections
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.faults import Faults
from keyops.emulator.core.rbac import Rbac, load_builtin_roles
from keyops.emulator.core.requestlog import LogEntry, RequestLog
from keyops.emulator.core.store import Store
from keyops.emulator.core.tokens import Caller, Signer, TokenError, TokenService, bearer_from

if TYPE_CHECKING:
    from keyops.emulator.world import World


class RequestObserver(Protocol):
    """Something told of every request: ``started`` before the handler, ``finished`` after."""

    def started(self, request: Request) -> None:
        """Before the handler runs."""

    def finished(self, request: Request, entry: LogEntry) -> None:
        """After it answered (``entry`` is its request-log entry)."""


@dataclass
class Settings:
    """Behaviour knobs (from the world file, changeable through the admin API)."""

    propagation_delay: float = 0.0
    #: Seconds before a PATCH of ``disableLocalAuth`` reaches the data plane (Azure: minutes).
    local_auth_delay: float = 300.0
    token_lifetime: int = 3599
    extra: dict[str, Any] = field(default_factory=dict)


class Emulator:
    """Everything one running emulator knows: world, state, clock, tokens, RBAC, faults, log."""

    def __init__(self, world: World, state_dir: Path | None, base_url: str) -> None:
        self.world = world
        self.state_dir = state_dir
        self.base_url = base_url.rstrip("/")
        self.store = Store(state_dir / "state.db" if state_dir else None)
        meta = self.store.section("meta")
        meta.setdefault("admin_token", pysecrets.token_urlsafe(24))
        meta.setdefault("clock_offset", 0.0)
        if "signing_key" not in meta:
            from keyops.emulator.core.tokens import new_private_key_pem

            meta["signing_key"] = new_private_key_pem()
        self.clock = Clock(float(meta["clock_offset"]))
        self.signer = Signer(meta["signing_key"])
        self.tokens = TokenService(self.signer, self.clock, self.base_url, world.tenant_id)
        self.settings = Settings(
            propagation_delay=world.settings.propagation_delay,
            local_auth_delay=world.settings.local_auth_delay,
        )
        self.faults = Faults(seed=world.seed)
        self.log = RequestLog(state_dir / "requests.jsonl" if state_dir else None)
        self.connections = Connections()
        authz = self.store.section("authorization")
        assignments = authz.setdefault("assignments", [])
        self.rbac = Rbac(
            load_builtin_roles(), assignments, world.management_groups, world.tenant_id
        )
        #: vault name -> the origin of its own port (set by the server once bound).
        self.vault_urls: dict[str, str] = {}
        #: Told of every request before and after it runs (the logs service writes its records).
        self.observers: list[RequestObserver] = []

    @property
    def admin_token(self) -> str:
        """The bearer token the admin API requires."""
        return str(self.store.section("meta")["admin_token"])

    @property
    def tenant_id(self) -> str:
        """The emulated tenant."""
        return self.world.tenant_id

    def commit(self, request: Request | None = None) -> None:
        """Save what changed (the ``@operation`` wrapper answers only once it is written) and mark
        the request as having changed state."""
        meta = self.store.section("meta")
        if meta.get("clock_offset") != self.clock.offset:
            meta["clock_offset"] = self.clock.offset
        self.store.commit()
        if request is not None:
            request.state.changed = True

    def caller(self, request: Request, audiences: list[str]) -> Caller:
        """Verify the request's bearer token for ``audiences``; TokenError if absent or bad."""
        token = bearer_from(request.headers.get("authorization"))
        if token is None:
            raise TokenError("missing bearer token")
        caller = self.tokens.verify(token, audiences)
        request.state.principal = caller.oid
        return caller

    def require(
        self,
        caller: Caller,
        action: str,
        scope: str,
        error: EmulatorHTTPError,
        *,
        data: bool = False,
    ) -> None:
        """Raise ``error`` unless RBAC lets ``caller`` do ``action`` at ``scope``."""
        if not self.rbac.allows(caller.oid, action, scope, data=data):
            raise error
