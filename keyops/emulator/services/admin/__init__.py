"""The emulator's own admin API under ``/_emulator/`` (bearer ``admin_token``)."""

from keyops.emulator.app import Service
from keyops.emulator.services.admin.urls import admin_routes

SERVICE = Service(name="admin", admin_routes=admin_routes)
