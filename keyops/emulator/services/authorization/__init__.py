"""Microsoft.Authorization: role assignments (seeded from the world) and built-in role
definitions, read through ARM."""

from keyops.emulator.app import Service
from keyops.emulator.services.authorization.models import seed
from keyops.emulator.services.authorization.urls import arm_routes

SERVICE = Service(name="authorization", arm_routes=arm_routes, seed=seed)
