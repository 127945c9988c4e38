"""Emulated Microsoft Entra ID: discovery, signing keys, the app-only token endpoint, workload
identity federation with hosted CI issuers, and an App Service style managed identity endpoint.
"""

from keyops.emulator.app import Service
from keyops.emulator.services.entra.models import seed
from keyops.emulator.services.entra.urls import admin_routes, routes

SERVICE = Service(name="entra", routes=routes, admin_routes=admin_routes, seed=seed)
