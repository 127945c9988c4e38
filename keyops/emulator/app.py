"""Assemble the emulator's ASGI application from its services."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from keyops.emulator.core.armrouter import ArmDispatcher, ArmPathCase, ArmRoute
from keyops.emulator.core.clock import DateHeaderMiddleware
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.operation import DropConnectionMiddleware
from keyops.emulator.world import World


@dataclass(frozen=True)
class Service:
    """What a service plugs into the emulator.

    ``routes``: Starlette routes under its own prefix; ``arm_routes``: ARM paths, dispatched
    case-insensitively; ``seed``: fill the service's state from the world the first time;
    ``admin_routes``: its part of the admin API (under ``/_emulator/``).
    """

    name: str
    routes: Callable[[], list[BaseRoute]] = lambda: []
    arm_routes: Callable[[], list[ArmRoute]] = lambda: []
    admin_routes: Callable[[], list[BaseRoute]] = lambda: []
    seed: Callable[[Emulator], None] = lambda emu: None
    #: Called once per emulator, seeded or not (to register request observers).
    attach: Callable[[Emulator], None] = lambda emu: None
    order: int = 50
    tags: tuple[str, ...] = field(default=())


#: Service packages, in seeding order (entra's principals first, then ARM's keys, then vaults).
SERVICE_MODULES = (
    "keyops.emulator.services.admin",
    "keyops.emulator.services.cloudmeta",
    "keyops.emulator.services.entra",
    "keyops.emulator.services.authorization",
    "keyops.emulator.services.arm",
    "keyops.emulator.services.keyvault",
    "keyops.emulator.services.openai",
    "keyops.emulator.services.monitor",
    "keyops.emulator.services.logs",
)


def load_services() -> list[Service]:
    """Import every service package."""
    return [importlib.import_module(name).SERVICE for name in SERVICE_MODULES]


def build_app(world: World, state_dir: Path | None, base_url: str) -> tuple[Starlette, Emulator]:
    """The ASGI app and its :class:`Emulator`; seeds state when it is new."""
    emu = Emulator(world, state_dir, base_url)
    services = load_services()
    if not emu.store.data.get("meta", {}).get("seeded"):
        for service in services:
            service.seed(emu)
        emu.store.section("meta")["seeded"] = True
        emu.store.section("meta")["world"] = world.source
        emu.commit()
        emu.store.flush()
    for service in services:
        service.attach(emu)
    routes: list[BaseRoute] = []
    arm: list[ArmRoute] = []
    for service in services:
        routes.extend(service.admin_routes())
    # Entra's ``/{tenant}/...`` routes go last: they would otherwise catch other prefixes.
    last: list[BaseRoute] = []
    for service in services:
        (last if service.name == "entra" else routes).extend(service.routes())
        arm.extend(service.arm_routes())
    app_routes = routes + ArmDispatcher(arm).starlette_routes() + last
    app = Starlette(routes=app_routes)
    app.state.emulator = emu
    return app, emu


def asgi_app(app: Starlette) -> DropConnectionMiddleware:
    """Wrap the app in the outermost layer that can drop connections for faults, and in the
    shim that lets ARM's top-level segment match whatever its case."""
    emu: Emulator = app.state.emulator
    return DropConnectionMiddleware(DateHeaderMiddleware(ArmPathCase(app), emu.clock))
