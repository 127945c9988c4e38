"""Azure Monitor metrics for Cognitive Services accounts: served calls plus generated history."""

from keyops.emulator.app import Service
from keyops.emulator.services.monitor.models import seed
from keyops.emulator.services.monitor.urls import admin_routes, arm_routes

SERVICE = Service(name="monitor", arm_routes=arm_routes, admin_routes=admin_routes, seed=seed)
