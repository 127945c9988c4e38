"""Azure Monitor Logs: diagnostic settings, workspaces, Key Vault ``AuditEvent`` and Azure OpenAI
``RequestResponse`` records (from real requests and declared consumers), and the Logs query API
with a small KQL interpreter."""

from keyops.emulator.app import Service
from keyops.emulator.services.logs.models import seed
from keyops.emulator.services.logs.observer import attach
from keyops.emulator.services.logs.urls import admin_routes, arm_routes, routes

SERVICE = Service(
    name="logs",
    routes=routes,
    arm_routes=arm_routes,
    admin_routes=admin_routes,
    seed=seed,
    attach=attach,
)
