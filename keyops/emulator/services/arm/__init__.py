"""Azure Resource Manager: Microsoft.CognitiveServices accounts, keys and deployments, plus
subscriptions and tenants. Other services use the account API in :mod:`.models`."""

from keyops.emulator.app import Service
from keyops.emulator.services.arm.models import seed
from keyops.emulator.services.arm.urls import admin_routes, arm_routes

SERVICE = Service(name="arm", arm_routes=arm_routes, admin_routes=admin_routes, seed=seed)
